"""Knowledge-base articles: checked, versioned per language, and read back.

An article is written as data (YAML or JSON; ``cxm kb load FILE``, ``PUT /api/kb/articles/{id}``)::

    id: router-restart
    kind: guide                      # faq, qa, guide or video
    stage: use                       # the journey stage and touchpoint it serves (optional)
    touchpoint: help-pages
    department: it                   # who keeps it true (optional)
    versions:
      en: {title: How to restart your router, body: "Unplug the router …"}
      pl: {title: Jak zrestartować router, body: "Wyjmij wtyczkę …", video: https://…}

The body is Markdown without raw HTML (a tag is refused with its line, so nothing a writer
pastes can run in a customer's browser); links and videos must be http(s). Saving a language
whose title, body or video changed adds a version; an unchanged one adds nothing. Every
problem of an article is listed at once, with where it is, and a bad article in a file does
not stop the good ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from markdown_it import MarkdownIt
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.errors import ErrorDetail, InvalidInput, NotFound
from cxm.kb.tables import kb_articles, kb_versions
from cxm.store.metadata import utcnow

KINDS = ("faq", "qa", "guide", "video")
LANGUAGES = ("pl", "en", "ru")
ARTICLE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
MAX_TITLE = 200
MAX_BODY = 50_000
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
_LINK = re.compile(r"\]\(([^)\s]+)")
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})


@dataclass(frozen=True)
class Version:
    language: str
    version: int
    title: str
    body: str
    video: str | None
    actor: str
    created_at: datetime

    def html(self) -> str:
        """The body as HTML (raw HTML was refused on saving; markdown-it escapes any left)."""
        return _MARKDOWN.render(self.body)

    def plain(self) -> str:
        """The body as plain text, for search and snippets."""
        text = re.sub(r"[*_`#>\[\]]", "", self.body)
        text = re.sub(r"\(https?://[^)]*\)", "", text)
        return " ".join(text.split())


@dataclass(frozen=True)
class Article:
    id: str
    kind: str
    stage: str | None
    touchpoint: str | None
    department: str | None
    status: str
    updated_at: datetime
    versions: dict[str, Version] = field(default_factory=dict)  # current, by language

    @property
    def languages(self) -> list[str]:
        return [lang for lang in LANGUAGES if lang in self.versions]


@dataclass(frozen=True)
class SaveReport:
    article: str
    created: bool
    new_versions: list[str]  # languages that got a new version


def check_article(data: Any, where: str = "") -> tuple[dict[str, Any], list[ErrorDetail]]:
    """The article ``data`` cleaned, and every problem in it (empty when it may be saved)."""
    problems: list[ErrorDetail] = []

    def bad(loc: tuple[str, ...], message: str) -> None:
        problems.append(ErrorDetail((where, *loc) if where else loc, message))

    if not isinstance(data, dict):
        bad((), "an article is an object with id, kind and versions")
        return {}, problems
    unknown = sorted(set(data) - {"id", "kind", "stage", "touchpoint", "department",
                                  "versions", "questions"})  # fmt: skip
    if unknown:
        bad((), f"unknown fields {unknown}")
    article_id = data.get("id")
    if not isinstance(article_id, str) or not ARTICLE_ID.match(article_id):
        bad(("id",), "an id is 1 to 100 lower-case letters, digits or '-', e.g. router-restart")
    kind = data.get("kind", "faq")
    if kind not in KINDS:
        bad(("kind",), f"kind {kind!r} is not one of {', '.join(KINDS)}")
    clean: dict[str, Any] = {"id": article_id, "kind": kind}
    for key in ("stage", "touchpoint", "department"):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 100):
            bad((key,), f"{key} is a journey map id of 1 to 100 characters")
        clean[key] = value
    versions = data.get("versions")
    if not isinstance(versions, dict) or not versions:
        bad(("versions",), "give at least one language version: versions: {en: {title, body}}")
        versions = {}
    clean["versions"] = {}
    for lang, version in versions.items():
        loc = ("versions", str(lang))
        if lang not in LANGUAGES:
            bad(loc, f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
            continue
        if not isinstance(version, dict):
            bad(loc, "a version is an object with title and body (and video)")
            continue
        extra = sorted(set(version) - {"title", "body", "video"})
        if extra:
            bad(loc, f"unknown fields {extra}")
        title, body, video = version.get("title"), version.get("body"), version.get("video")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            bad((*loc, "title"), f"a title is 1 to {MAX_TITLE} characters")
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
            bad((*loc, "body"), f"a body is 1 to {MAX_BODY:,} characters of Markdown")
        else:
            for number, line in enumerate(body.splitlines(), start=1):
                tag = _HTML_TAG.search(line)
                if tag:
                    bad((*loc, "body"), f"line {number}: raw HTML {tag.group(0)[:40]!r} is not "
                        "allowed; write Markdown")  # fmt: skip
                for target in _LINK.findall(line):
                    if not target.startswith(("https://", "http://", "/", "#", "mailto:")):
                        bad((*loc, "body"), f"line {number}: link {target[:60]!r} must be "
                            "http(s), mailto: or a path on this site")  # fmt: skip
        if video is not None and (not isinstance(video, str) or not video.startswith("https://")
                                  or len(video) > 500):  # fmt: skip
            bad((*loc, "video"), "a video is an https:// address of at most 500 characters")
        if isinstance(title, str) and isinstance(body, str):
            clean["versions"][lang] = {"title": title.strip(), "body": body.strip(),
                                       "video": video}  # fmt: skip
    return clean, problems


def passage(title: str, body: str) -> str:
    """The text an article version is found by."""
    return f"{title}\n{body}"


def do_save_article(
    session: Session, *, data: Any, actor: str, now: datetime | None = None,
) -> SaveReport:  # fmt: skip
    """Check and save one article; raises InvalidInput listing every problem."""
    from cxm.kb.search import embed

    clean, problems = check_article(data)
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems[:5]), errors=problems)
    now = now or utcnow()
    article_id = clean["id"]
    existing = session.execute(select(kb_articles).where(kb_articles.c.id == article_id)).first()
    fields = {k: clean[k] for k in ("kind", "stage", "touchpoint", "department")}
    if existing is None:
        session.execute(
            insert(kb_articles).values(
                id=article_id, status="published", created_at=now, updated_at=now, **fields
            )
        )
    else:
        session.execute(update(kb_articles).where(kb_articles.c.id == article_id)
                        .values(updated_at=now, status="published", **fields))  # fmt: skip
    current = _current_versions(session, [article_id]).get(article_id, {})
    changed = {
        lang: v for lang, v in clean["versions"].items()
        if lang not in current or (current[lang].title, current[lang].body, current[lang].video)
        != (v["title"], v["body"], v["video"])
    }  # fmt: skip
    if changed:
        langs = list(changed)
        e5, use = embed([passage(changed[lang]["title"], changed[lang]["body"])
                         for lang in langs])  # fmt: skip
        for i, lang in enumerate(langs):
            v = changed[lang]
            number = current[lang].version + 1 if lang in current else 1
            session.execute(insert(kb_versions).values(
                article_id=article_id, language=lang, version=number, title=v["title"],
                body=v["body"], video=v["video"], actor=actor, created_at=now,
                encoder=ENCODER, vector=np.asarray(e5[i], dtype="<f4").tobytes(),
                use_vector=np.asarray(use[i], dtype="<f4").tobytes()))  # fmt: skip
    record_action(
        session,
        actor=actor,
        action="kb.article_saved",
        subject=f"kb:{article_id}",
        details={"new_versions": sorted(changed), "created": existing is None},
    )
    return SaveReport(article_id, existing is None, sorted(changed))


ENCODER = "e5-passage+use"


def do_retire_article(session: Session, *, article_id: str, actor: str) -> None:
    """Take an article out of the help centre and search (its versions stay, for the record)."""
    done = session.execute(update(kb_articles).where(kb_articles.c.id == article_id)
                           .values(status="retired", updated_at=utcnow()))  # fmt: skip
    if not done.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no article {article_id!r}")
    record_action(session, actor=actor, action="kb.article_retired", subject=f"kb:{article_id}")


def get_article(session: Session, article_id: str, *, include_retired: bool = False) -> Article:
    found = list_articles(session, ids=[article_id], include_retired=include_retired)
    if not found:
        raise NotFound(f"no article {article_id!r} in the knowledge base")
    return found[0]


def list_articles(
    session: Session, *, ids: list[str] | None = None, include_retired: bool = False
) -> list[Article]:
    stmt = select(kb_articles)
    if ids is not None:
        stmt = stmt.where(kb_articles.c.id.in_(ids))
    if not include_retired:
        stmt = stmt.where(kb_articles.c.status == "published")
    rows = session.execute(stmt.order_by(kb_articles.c.id)).all()
    versions = _current_versions(session, [r.id for r in rows])
    return [
        Article(
            id=r.id,
            kind=r.kind,
            stage=r.stage,
            touchpoint=r.touchpoint,
            department=r.department,
            status=r.status,
            updated_at=r.updated_at,
            versions=versions.get(r.id, {}),
        )  # fmt: skip
        for r in rows
    ]


def version_history(session: Session, article_id: str) -> list[Version]:
    v = kb_versions.c
    rows = session.execute(
        select(kb_versions).where(v.article_id == article_id).order_by(v.language, v.version)
    ).all()
    return [_version(r) for r in rows]


def _current_versions(session: Session, ids: list[str]) -> dict[str, dict[str, Version]]:
    if not ids:
        return {}
    v = kb_versions.c
    latest = (
        select(v.article_id, v.language, func.max(v.version).label("version"))
        .where(v.article_id.in_(ids))
        .group_by(v.article_id, v.language)
        .subquery()
    )
    rows = session.execute(
        select(kb_versions).join(
            latest,
            (latest.c.article_id == v.article_id) & (latest.c.language == v.language)
            & (latest.c.version == v.version),
        )
    ).all()  # fmt: skip
    out: dict[str, dict[str, Version]] = {}
    for r in rows:
        out.setdefault(r.article_id, {})[r.language] = _version(r)
    return out


def _version(r: Any) -> Version:
    return Version(language=r.language, version=int(r.version), title=r.title, body=r.body,
                   video=r.video, actor=r.actor, created_at=r.created_at)  # fmt: skip

"""The knowledge base over REST: articles (JSON or YAML, versioned per language), semantic
search across languages, content gaps and deflection (``cxm.kb``). The public help centre
is at ``/help`` (``cxm.web.help_centre``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from cxm.api.bodies import definition, definition_body, read_document
from cxm.api.deps import get_workspace, require, require_aggregates, write_session
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.errors import InvalidInput
from cxm.kb.articles import (
    Article,
    do_retire_article,
    do_save_article,
    get_article,
    list_articles,
    version_history,
)
from cxm.kb.insights import content_gaps, deflection
from cxm.kb.search import search_kb
from cxm.kb.service import do_load_kb
from cxm.store.metadata import utcnow
from cxm.workspace import Workspace

router = APIRouter(prefix="/api/kb", tags=["knowledge base"])
require_read = require("read")
require_write = require("write")
_definition = definition("article")
_ID = Path(min_length=1, max_length=100, description="The article's id")


def article_body(article: Article, *, history: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": article.id, "kind": article.kind, "stage": article.stage,
        "touchpoint": article.touchpoint, "department": article.department,
        "status": article.status, "updated_at": article.updated_at.isoformat(),
        "versions": {lang: {"version": v.version, "title": v.title, "body": v.body,
                            "video": v.video, "actor": v.actor,
                            "created_at": v.created_at.isoformat()}
                     for lang, v in article.versions.items()},
    }  # fmt: skip
    if history is not None:
        body["history"] = [{"language": v.language, "version": v.version, "title": v.title,
                            "actor": v.actor, "created_at": v.created_at.isoformat()}
                           for v in history]  # fmt: skip
    return body


@router.get("/articles", summary="Every published article with its current versions")
def articles(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_read)
) -> JsonResponse:
    with ws.session() as s:
        found = list_articles(s)
    return JsonResponse({"ok": True, "articles": [article_body(a) for a in found]})


@router.get("/articles/{article_id}", summary="One article, its versions and their history")
def article(
    article_id: str = _ID,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as s:
        found = get_article(s, article_id, include_retired=True)
        history = version_history(s, article_id)
    return JsonResponse({"ok": True, "article": article_body(found, history=history)})


@router.put(
    "/articles/{article_id}",
    summary="Create or update an article (a changed language gets a new version)",
    openapi_extra=definition_body("article"),
)
def save_article(
    article_id: str = _ID,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    data: Any = Depends(_definition),
) -> JsonResponse:
    if isinstance(data, dict) and data.setdefault("id", article_id) != article_id:
        raise InvalidInput(f"the body's id {data['id']!r} is not the address's {article_id!r}")
    report = do_save_article(session, data=data, actor=principal.actor)
    saved = get_article(session, article_id)
    session.commit()
    return JsonResponse({"ok": True, "created": report.created,
                         "new_versions": report.new_versions, "article": article_body(saved)},
                        status_code=201 if report.created else 200)  # fmt: skip


@router.delete("/articles/{article_id}", summary="Retire an article (its versions are kept)")
def retire_article(
    article_id: str = _ID,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    do_retire_article(session, article_id=article_id, actor=principal.actor)
    session.commit()
    return JsonResponse({"ok": True, "retired": article_id})


@router.post(
    "/load",
    summary="Save every article of a YAML or JSON document (bad ones listed, good ones kept)",
    openapi_extra=definition_body("knowledge base"),
)
def load(
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    text: str = Depends(read_document),
) -> JsonResponse:
    report = do_load_kb(session, text=text, actor=principal.actor)
    session.commit()
    return JsonResponse({"ok": not report.rejected, "saved": report.saved,
                         "new_versions": report.new_versions,
                         "rejected": [p.as_dict() for p in report.rejected]})  # fmt: skip


@router.get("/search", summary="Articles nearest in meaning to a question, in any language")
def search(
    q: str = Query(..., max_length=500, description="The question"),
    lang: str | None = Query(None, description="The asker's language (pl, en, ru)"),
    limit: int = Query(5, ge=1, le=50),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as s:
        hits = search_kb(s, q, language=lang or None, limit=limit)
    return JsonResponse({"ok": True, "hits": [asdict(h) for h in hits]})


def _period(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    from datetime import UTC

    last = datetime.combine(end, time(), tzinfo=UTC) if end else utcnow() + timedelta(days=1)
    first = datetime.combine(start, time(), tzinfo=UTC) if start else last - timedelta(days=90)
    if first >= last:
        raise InvalidInput("start must be before end")
    return first, last


@router.get("/gaps", summary="Unanswered help-centre searches by language, untranslated articles")
def gaps(
    start: date | None = Query(None, description="First UTC day (default: 90 days back)"),
    end: date | None = Query(None, description="First UTC day excluded (default: tomorrow)"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    first, last = _period(start, end)
    with ws.session() as s:
        report = content_gaps(s, start=first, end=last)
    return JsonResponse({"ok": True, **report})


@router.get("/deflection", summary="Contacts after self-service against after a search alone")
def deflection_report(
    days: int = Query(7, ge=1, le=60, description="Days after the help visit"),
    start: date | None = Query(None),
    end: date | None = Query(None),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    first, last = _period(start, end)
    with ws.session() as s:
        report = deflection(s, start=first, end=last, days=days)
    return JsonResponse({"ok": True, "deflection": report.to_dict()})

"""The knowledge base as one call each: load a file of articles, and record what the help
centre's visitors search and read (as events, through ingestion, like any channel's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from cxm.errors import ErrorDetail, InvalidInput
from cxm.kb.articles import do_save_article

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cxm.kb.search import KbHit
    from cxm.workspace import Workspace

HELP_SOURCE = "help-centre"
SEARCHED = "Help Searched"
VIEWED = "Article Viewed"
MAX_FILE_BYTES = 5_000_000


@dataclass
class LoadReport:
    saved: list[str] = field(default_factory=list)
    new_versions: int = 0
    rejected: list[ErrorDetail] = field(default_factory=list)


def do_load_kb(session: Session, *, text: str, actor: str) -> LoadReport:
    """Save every article of a YAML or JSON document (``articles: [...]``); a bad article is
    rejected with its problems and where they are, and the good ones are saved."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise InvalidInput(f"a knowledge-base file has at most {MAX_FILE_BYTES:,} bytes")
    try:
        data = yaml.safe_load(text)
    except ValueError:  # a date YAML reads itself, such as 2026-13-01
        raise InvalidInput(
            "the file holds a value YAML cannot read (a date such as 2026-13-01?); quote it"
        ) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise InvalidInput(f"the file is not valid YAML or JSON{line}") from None
    except RecursionError:
        raise InvalidInput("the file is nested too deeply") from None
    articles = data.get("articles") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise InvalidInput("the file holds no article list: write 'articles:' and a list")
    report = LoadReport()
    for index, article in enumerate(articles):
        try:
            with session.begin_nested():
                saved = do_save_article(session, data=article, actor=actor)
        except InvalidInput as exc:
            label = article.get("id") if isinstance(article, dict) else None
            where = f"articles[{index}]" + (f" ({label})" if isinstance(label, str) else "")
            for problem in exc.errors or [ErrorDetail((), exc.message)]:
                report.rejected.append(ErrorDetail((where, *problem.loc), problem.message))
            continue
        report.saved.append(saved.article)
        report.new_versions += len(saved.new_versions)
    return report


def record_help_event(
    ws: Workspace,
    *,
    visitor: str,
    event: str,
    properties: dict[str, Any],
    channel: str = "web",
) -> None:
    """Log a help-centre search or article view as an event of the ``help-centre`` source (an
    anonymous visitor id from the help centre's cookie; a site that knows the visitor links it
    with an identify call through the tracking API, as for any anonymous id)."""
    import secrets

    from cxm.ingest import do_ingest_events, source_named
    from cxm.store.metadata import utcnow

    with ws.session() as s:
        source = source_named(s, actor="system:help-centre", name=HELP_SOURCE, channel="web",
                              label="Help centre")  # fmt: skip
    payload = {
        "type": "track",
        "event": event,
        "anonymousId": visitor,
        "messageId": "help-" + secrets.token_hex(12),
        "timestamp": utcnow().isoformat(),
        "context": {"channel": channel},
        "properties": properties,
    }
    do_ingest_events(ws.engine, source=source, events=[(0, payload)],
                     never_store=ws.settings.never_store)  # fmt: skip


def search_properties(question: str, language: str | None, hits: list[KbHit]) -> dict[str, Any]:
    return {
        "query": question[:500],
        "language": language,
        "results": [h.article for h in hits],
        "top_similarity": hits[0].similarity if hits else None,
        "fallback": bool(hits and hits[0].fallback),
    }

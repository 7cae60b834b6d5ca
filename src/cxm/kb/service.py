"""The knowledge base as one call each: load a file of articles, and record what the help
centre's visitors search and read (as events, through ingestion, like any channel's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cxm.errors import ErrorDetail
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
    from cxm.documents import read_items, save_each

    items = read_items(text, "articles", max_bytes=MAX_FILE_BYTES)
    saved, rejected = save_each(
        session, items, "articles", lambda item: do_save_article(session, data=item, actor=actor)
    )
    return LoadReport(
        saved=[s.article for s in saved],
        new_versions=sum(len(s.new_versions) for s in saved),
        rejected=rejected,
    )


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

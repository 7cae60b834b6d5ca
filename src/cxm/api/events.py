"""The event log over REST: the newest events, for checking what a source sends."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from cxm.api.deps import get_session, require
from cxm.api.responses import JsonResponse
from cxm.ingest import log_head, recent_events
from cxm.ingest.queries import MAX_RECENT_EVENTS

router = APIRouter(prefix="/api", tags=["events"], dependencies=[Depends(require("read"))])


@router.get(
    "/events",
    summary="The newest events, newest first, with the customer each was placed on",
    description=(
        "For watching an integration: each event as stored (payload included) and its "
        "`profile_id`, which is null until identity resolution has placed it. Poll with "
        "`after` set to the previous answer's `last_seq` to get only newer events; when more "
        "than `limit` are newer, the newest `limit` are returned."
    ),
)
def read_events(
    source: str | None = Query(None, max_length=100, description="Only this source (its name)"),
    limit: int = Query(50, ge=1, le=MAX_RECENT_EVENTS),
    after: int | None = Query(None, ge=0, description="Only events with a seq above this"),
    session: Session = Depends(get_session),
) -> JsonResponse:
    head = log_head(session)  # read first: everything up to it is visible to the next query
    found = recent_events(session, limit=limit, source=source or None, after_seq=after)
    # What to pass as `after` next time. The log's head rather than the newest event returned,
    # so that a poll filtered to a quiet source skips the other sources' events for good.
    last_seq = max(head, after or 0, found[0].seq if found else 0)
    return JsonResponse({"ok": True, "events": [asdict(e) for e in found], "last_seq": last_seq})

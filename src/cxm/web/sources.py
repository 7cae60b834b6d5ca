"""The Sources page: each source's activity and a live view of the events arriving.

An engineer pointing a Segment or RudderStack SDK at cxm watches events appear here within
seconds, and sees each one link to its customer once identity resolution has placed it.

The live panel polls ``/sources/events`` (htmx, every few seconds) with the newest seq it
shows and the seqs still waiting for a customer. The answer prepends the new events, swaps
in the customer links of events placed since (out of band), and replaces the poller with one
that continues from there; with nothing to report it is ``204`` and nothing changes.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from cxm.errors import NotFound
from cxm.ingest import event_profiles, log_head, recent_events, source_activity
from cxm.web import pages
from cxm.web.i18n import translator
from cxm.web.rendering import render_template
from cxm.web.viewer import (
    SECURITY_HEADERS,
    SignedIn,
    error_page,
    is_partial,
    render_page,
    workspace_of,
)

router = APIRouter(include_in_schema=False)

MAX_SOURCE_CHARS = 100


@router.get("/sources", response_class=HTMLResponse)
def sources_page(request: Request, viewer: SignedIn, source: str = "") -> Response:
    name = source.strip()[:MAX_SOURCE_CHARS] or None
    partial = is_partial(request)
    with workspace_of(request).session() as db:
        head = log_head(db)
        try:
            shown = recent_events(db, limit=pages.LIVE_EVENTS_LIMIT, source=name)
        except NotFound:
            message = translator(viewer.lang)("sources.unknown", name=name)
            if partial:
                return _stopped(404, message)
            return error_page(request, 404, message, viewer, "sources")
        activity = [] if partial else source_activity(db)
    feed = pages.LiveFeed.start(name, shown, head)
    if partial:  # the source filter: only the live panel changes
        context = pages.live_feed_context(shown, feed)
        return render_page(request, "_live_feed.html", context, viewer=viewer)
    base_url = str(request.base_url)
    context = pages.sources_context(activity, shown, feed, base_url=base_url)
    return render_page(request, "sources.html", context, viewer=viewer, active="sources")


@router.get("/sources/events", response_class=HTMLResponse)
def live_events(
    request: Request,
    viewer: SignedIn,
    after: str = "",
    source: str = "",
    pending: list[str] = Query([]),
) -> Response:
    t = translator(viewer.lang)
    if not after.isdigit():
        return _stopped(400, t("error.bad_after", value=after))
    name = source.strip()[:MAX_SOURCE_CHARS] or None
    # Seqs come back from the page we rendered; anything else is dropped, not an error.
    waiting = [int(p) for p in pending[: pages.LIVE_EVENTS_LIMIT] if p.isdigit()]
    feed = pages.LiveFeed(source=name, after=int(after), pending=tuple(waiting))
    with workspace_of(request).session() as db:
        head = log_head(db)
        try:
            new = recent_events(
                db, limit=pages.LIVE_EVENTS_LIMIT, source=name, after_seq=feed.after
            )
        except NotFound:
            return _stopped(404, t("sources.unknown", name=name))
        placed = event_profiles(db, waiting)
    following = feed.advance(new, placed, head=head)
    if following == feed:
        return Response(status_code=204, headers=SECURITY_HEADERS)
    context = pages.live_update_context(new, placed, following)
    return render_page(request, "_live_update.html", context, viewer=viewer)


def _stopped(status_code: int, message: str) -> HTMLResponse:
    """Stop the polling with a message in its place (htmx swaps 4xx answers too)."""
    html = render_template("_live_stopped.html", {"message": message})
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)

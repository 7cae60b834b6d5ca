"""The Sources page: each source's activity and a live view of the events arriving.

An engineer pointing a Segment or RudderStack SDK at cxm watches events appear here within
seconds, and sees each one link to its customer once identity resolution has placed it.

The live panel polls ``/sources/events`` (htmx, every few seconds) with the newest seq it
shows and the seqs still waiting for a customer. The answer prepends the new events, swaps
in the customer links of events placed since (out of band), and replaces the poller with one
that continues from there; with nothing to report it is ``204`` and nothing changes.

``/sources/import`` is ``cxm import`` as a form: a file, the source it comes from, the column
mapping and how the file is written; the answer lists what was stored and every refused row
with its line and reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse

from cxm.errors import CxmError, InvalidInput, NotFound
from cxm.ingest import (
    ColumnMapping,
    do_import_upload,
    event_profiles,
    get_source,
    list_sources,
    log_head,
    recent_events,
    source_activity,
)
from cxm.web import pages
from cxm.web.i18n import translator
from cxm.web.rendering import render_template
from cxm.web.session import CSRF_FIELD
from cxm.web.viewer import (
    SECURITY_HEADERS,
    SignedIn,
    Viewer,
    error_page,
    is_partial,
    refuse_change,
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
    context = pages.sources_context(
        activity, shown, feed, base_url=base_url, can_write=viewer.principal.can("write")
    )
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


# --- importing a file ------------------------------------------------------------------------

IMPORT_ENCODINGS = ("utf-8", "cp1250", "cp1251", "iso-8859-2", "koi8-r", "utf-16")
IMPORT_DELIMITERS = ("", ",", ";", "tab", "|")  # "": read from the header line
MAX_REJECTIONS_SHOWN = 200
IMPORT_FIELDS = ("source", "columns", "constants", "delimiter", "encoding", "date_format",
                 "timezone")  # fmt: skip


@router.get("/sources/import", response_class=HTMLResponse)
def import_page(request: Request, viewer: SignedIn, source: str = "") -> Response:
    return _import_page(request, viewer, form={"source": source.strip()[:MAX_SOURCE_CHARS]})


@router.post("/sources/import", response_class=HTMLResponse)
def import_upload(
    request: Request,
    viewer: SignedIn,
    upload: Annotated[UploadFile | None, File()] = None,
    source: Annotated[str, Form(max_length=MAX_SOURCE_CHARS)] = "",
    columns: Annotated[str, Form(max_length=20_000)] = "",
    constants: Annotated[str, Form(max_length=20_000)] = "",
    delimiter: Annotated[str, Form(max_length=20)] = "",
    encoding: Annotated[str, Form(max_length=40)] = "utf-8",
    date_format: Annotated[str, Form(max_length=100)] = "",
    timezone: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    refused = refuse_change(request, viewer, csrf_token, active="sources",
                            need_write="sources.import.need_write")  # fmt: skip
    if refused is not None:
        return refused
    t = translator(viewer.lang)
    form = {"source": source, "columns": columns, "constants": constants,
            "delimiter": delimiter, "encoding": encoding, "date_format": date_format,
            "timezone": timezone}  # fmt: skip
    ws = workspace_of(request)
    try:
        if upload is None or not upload.filename:
            raise InvalidInput(t("sources.import.no_file"))
        mapping = ColumnMapping.from_pairs(
            _lines(columns, t("sources.import.columns")),
            _lines(constants, t("sources.import.constants")),
        ).written_as(
            delimiter=delimiter or None,
            encoding=encoding or None,
            date_format=date_format.strip() or None,
            timezone=timezone.strip() or None,
        )
        with ws.session() as db:
            found = get_source(db, source)
        report = do_import_upload(
            ws.engine,
            source=found,
            filename=upload.filename,
            data=upload.file,
            mapping=mapping,
            max_event_bytes=ws.settings.max_event_bytes,
            never_store=ws.settings.never_store,
            region=ws.settings.default_region,
        )
    except CxmError as exc:
        return _import_page(request, viewer, form=form, problem=exc.message)
    result = {
        "file": upload.filename,
        "source": found.name,
        "stored": report.stored,
        "duplicates": report.duplicates,
        "rejected": report.rejected[:MAX_REJECTIONS_SHOWN],
        "rejected_total": len(report.rejected),
    }
    return _import_page(request, viewer, form=form, result=result)


def _lines(text: str, field: str) -> list[str]:
    """``target = value`` lines of a form field (blank lines skipped), each checked."""
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        target, sep, value = line.partition("=")
        if not sep or not target.strip():
            raise InvalidInput(f"{field}, line {number}: write target = value, not {line!r}")
        pairs.append(f"{target.strip()}={value.strip()}")
    return pairs


def _import_page(
    request: Request,
    viewer: Viewer,
    *,
    form: dict[str, str],
    problem: str | None = None,
    result: dict[str, Any] | None = None,
) -> Response:
    with workspace_of(request).session() as db:
        names = [s.name for s in list_sources(db) if not s.disabled]
    context = {
        "sources": names,
        "form": {**dict.fromkeys(IMPORT_FIELDS, ""), "encoding": "utf-8", **form},
        "encodings": IMPORT_ENCODINGS,
        "delimiters": IMPORT_DELIMITERS,
        "problem": problem,
        "result": result,
        "can_write": viewer.principal.can("write"),
        "shown_limit": MAX_REJECTIONS_SHOWN,
    }
    response = render_page(request, "sources_import.html", context, viewer=viewer,
                           active="sources")  # fmt: skip
    response.status_code = 400 if problem else 200
    return response

"""Server-rendered pages: sign-in, overview, customer search and the customer 360.

The Sources page lives in :mod:`cxm.web.sources`; the sign-in dependency and rendering
helpers every page shares are in :mod:`cxm.web.viewer`.

Routes are thin: they read the session cookie, call the domain read functions inside one
store session, and render a template with :mod:`cxm.web.pages` contexts.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxm.api.errors import http_error_response
from cxm.audit import record_action
from cxm.auth import authenticate_token, get_token
from cxm.auth.reach import check_reach, served_customers
from cxm.cases import open_cases_of
from cxm.cases.masking import masked_case
from cxm.config import CHANNELS
from cxm.errors import Forbidden, NotFound
from cxm.insights.scoring import customer_outlook
from cxm.journeys.map import JourneyMap
from cxm.journeys.service import current_journey_map
from cxm.metrics.effort import customer_effort_ranking
from cxm.profiles import (
    TimelineItem,
    count_profiles,
    get_overview,
    get_profile,
    get_timeline,
    search_profiles,
    what_we_know,
)
from cxm.profiles.masking import masked_brief, masked_cards, masked_profile, masked_timeline
from cxm.store.engine import write_intent
from cxm.web import (
    automation,
    cases,
    consistency,
    departments,
    help_centre,
    identity,
    insights,
    journey,
    kb,
    metrics,
    pages,
    sources,
    survey_builder,
    survey_page,
    surveys,
    text,
)
from cxm.web.i18n import SUPPORTED, translator
from cxm.web.rendering import STATIC_DIR
from cxm.web.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    WebSession,
    clear_session,
    csrf_matches,
    load_session,
    safe_next,
    store_language,
    store_session,
)
from cxm.web.viewer import (
    WEB_SCOPE,
    LoginRequired,
    PageRefused,
    Serving,
    SignedIn,
    Viewer,
    current_viewer,
    error_page,
    fragment_error,
    home_of,
    is_partial,
    language_of,
    look_at,
    may_use_dashboard,
    on_login_required,
    on_page_refused,
    render_page,
    workspace_of,
)
from cxm.workspace import Workspace

MAX_QUERY_CHARS = 200
MAX_TOKEN_CHARS = 1024

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request) -> RedirectResponse:
    """The signed-in person's first page (the dashboard's overview, an agent's inbox, a
    department viewer's department)."""
    try:
        viewer = current_viewer(request)
    except LoginRequired:
        return RedirectResponse("/overview", status_code=303)
    return RedirectResponse(home_of(viewer.principal) or "/overview", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/overview") -> Response:
    workspace = workspace_of(request)
    session = load_session(request, workspace.secret_key)
    if session is not None and session.token_id is not None:
        with workspace.session() as db:
            principal = get_token(db, session.token_id)
            if principal is not None and principal.can(WEB_SCOPE):
                return RedirectResponse(safe_next(next), status_code=303)
    fresh = WebSession(csrf=session.csrf) if session else WebSession.anonymous()
    response = render_page(
        request,
        "login.html",
        {"error": None, "next": safe_next(next)},
        viewer=None,
        csrf_token=fresh.csrf,
    )
    store_session(response, request, workspace.secret_key, fresh)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=MAX_TOKEN_CHARS)] = "",
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next: Annotated[str, Form()] = "/overview",
) -> Response:
    workspace = workspace_of(request)
    lang = language_of(request)
    t = translator(lang)
    session = load_session(request, workspace.secret_key)
    target = safe_next(next)

    def again(message: str, status_code: int, form_session: WebSession) -> Response:
        response = render_page(
            request,
            "login.html",
            {"error": message, "next": target},
            viewer=None,
            status_code=status_code,
            lang=lang,
            csrf_token=form_session.csrf,
        )
        store_session(response, request, workspace.secret_key, form_session)
        return response

    if session is None or not csrf_matches(session, csrf_token):
        return again(t("login.error.expired"), 400, WebSession.anonymous())
    if username.strip():
        from cxm.auth.users import authenticate_user

        with workspace.session() as db:
            user = authenticate_user(db, username, password)
            if user is None:
                record_action(db, actor="web", action="user.login_failed",
                              subject=f"user:{username.strip().lower()[:100]}")  # fmt: skip
        if user is None:
            return again(t("login.error.password"), 401, WebSession(csrf=session.csrf))
        home = home_of(user.principal())
        if home is None:
            return again(t("login.error.role"), 403, WebSession(csrf=session.csrf))
        response = RedirectResponse(home if target == "/overview" else target, status_code=303)
        store_session(response, request, workspace.secret_key, session.signed_in_user(user.id))
        return response
    with workspace.session() as db:
        principal = authenticate_token(db, token.strip()) if token.strip() else None
    if principal is None:
        return again(t("login.error.invalid"), 401, WebSession(csrf=session.csrf))
    home = home_of(principal)
    if home is None:
        return again(t("login.error.scope"), 403, WebSession(csrf=session.csrf))
    response = RedirectResponse(home if target == "/overview" else target, status_code=303)
    store_session(response, request, workspace.secret_key, session.signed_in(principal.id))
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> Response:
    workspace = workspace_of(request)
    session = load_session(request, workspace.secret_key)
    submitted = csrf_token or request.headers.get(CSRF_HEADER)
    signed_in_before = session is not None and session.token_id is not None
    if signed_in_before and not csrf_matches(session, submitted):
        return error_page(request, 403, translator(language_of(request))("error.csrf"), None)
    response = RedirectResponse("/login", status_code=303)
    clear_session(response)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    if next is None:
        referer = urlsplit(request.headers.get("referer", ""))
        if referer.netloc == request.url.netloc:
            next = referer.path + (f"?{referer.query}" if referer.query else "")
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in SUPPORTED:
        store_language(response, request, code)
    return response


@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, viewer: SignedIn) -> Response:
    with workspace_of(request).session() as db:
        data = get_overview(db)
    context = pages.overview_context(data, translator(viewer.lang))
    return render_page(request, "overview.html", context, viewer=viewer, active="overview")


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request, viewer: Serving, q: str = "") -> Response:
    query = q.strip()[:MAX_QUERY_CHARS]
    among = served_customers(viewer.principal.held_to) if viewer.principal.held_to else None
    with workspace_of(request).session() as db:
        cards = search_profiles(db, query, limit=pages.CUSTOMER_LIST_LIMIT, among=among)
        total = count_profiles(db, query, among=among)
    cards = masked_cards(cards, can_see_pii=viewer.principal.can("pii"))
    context = pages.customers_context(cards, query, total)
    template = "_customer_rows.html" if is_partial(request) else "customers.html"
    return render_page(request, template, context, viewer=viewer, active="customers")


def _timeline_params(
    lang: str, channel: str | None, before: str | None
) -> tuple[str | None, int | None, str | None]:
    """``(channel, before_seq, problem)``: the validated filters, or a message saying why not."""
    t = translator(lang)
    channel = channel or None
    if channel is not None and channel not in CHANNELS:
        return None, None, t("error.bad_channel", channel=channel)
    if not before:
        return channel, None, None
    if not before.isdigit():
        return None, None, t("error.bad_before", value=before)
    return channel, int(before), None


@router.get("/customers/{profile_id}", response_class=HTMLResponse)
def customer(
    request: Request,
    viewer: Serving,
    profile_id: str,
    channel: str | None = None,
    before: str | None = None,
) -> Response:
    channel, before_seq, problem = _timeline_params(viewer.lang, channel, before)
    if problem:
        return error_page(request, 400, problem, viewer, "customers")
    with workspace_of(request).session() as db:
        try:
            profile = get_profile(db, profile_id)
        except NotFound:
            message = translator(viewer.lang)("customer.not_found", ref=profile_id)
            return error_page(request, 404, message, viewer, "customers")
        if profile.id != profile_id:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/customers/{quote(profile.id, safe='')}{query}")
    refused = look_at(request, viewer, profile.id, "customer page")
    if refused is not None:
        return refused
    pii = viewer.principal.can("pii")
    with workspace_of(request).session() as db:
        brief = masked_brief(what_we_know(db, profile.id), can_see_pii=pii)
        # Identity review is the dashboard's work: an agent sees the merges, not the queue.
        dashboard = may_use_dashboard(viewer.principal)
        pairs = identity.pairs_about(db, profile) if dashboard else []
        journey_map = current_journey_map(db)
        fetched = _timeline(db, profile.id, viewer, channel, before_seq)
        cases = [masked_case(c, can_see_pii=pii) for c in open_cases_of(db, profile.id)]
        outlook = customer_outlook(db, profile.id)
    profile = masked_profile(profile, can_see_pii=pii)
    page = pages.TimelinePage.from_fetch(fetched, pages.TIMELINE_PAGE_SIZE)
    effort = customer_effort_of(workspace_of(request), journey_map, profile.id)
    context = pages.customer_context(
        profile,
        brief,
        page,
        channel,
        translator(viewer.lang),
        pairs=pairs,
        journey=journey_map,
        effort=effort,
        cases=cases,
        outlook=outlook,
    )
    return render_page(request, "customer.html", context, viewer=viewer, active="customers")


def customer_effort_of(
    ws: Workspace, journey: JourneyMap | None, profile_id: str
) -> dict[str, Any] | None:
    """The customer's behavioural effort index over all time, with its decile (None: no map,
    no lake yet, or no matter of theirs)."""
    if journey is None or not ws.lake.manifest().files:
        return None
    ranking = customer_effort_ranking(ws.query_engine(), journey)
    mine = ranking[ranking["customer_id"] == profile_id]
    if mine.empty:
        return None
    return {**mine.iloc[0].to_dict(), "customers": len(ranking)}


@router.get("/customers/{profile_id}/timeline", response_class=HTMLResponse)
def customer_timeline(
    request: Request,
    viewer: Serving,
    profile_id: str,
    channel: str | None = None,
    before: str | None = None,
) -> Response:
    channel, before_seq, problem = _timeline_params(viewer.lang, channel, before)
    if problem:
        return fragment_error(400, problem)
    with workspace_of(request).session() as db:
        try:
            profile = get_profile(db, profile_id)
        except NotFound:
            message = translator(viewer.lang)("customer.not_found", ref=profile_id)
            return fragment_error(404, message)
        try:
            check_reach(db, viewer.principal, profile.id)
        except Forbidden as exc:
            return fragment_error(403, exc.message)
        fetched = _timeline(db, profile.id, viewer, channel, before_seq)
        journey_map = current_journey_map(db)
    page = pages.TimelinePage.from_fetch(fetched, pages.TIMELINE_PAGE_SIZE)
    context = pages.timeline_context(profile.id, page, channel, journey_map)
    return render_page(request, "_timeline_items.html", context, viewer=viewer)


def mount_web(app: FastAPI) -> None:
    """Serve the web UI from ``app``: static files under ``/static`` and the pages.

    The app must have ``app.state.workspace`` set before the first request.
    """
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
    app.include_router(sources.router)
    app.include_router(identity.router)
    app.include_router(journey.router)
    app.include_router(metrics.router)
    app.include_router(departments.router)
    app.include_router(help_centre.router)
    app.include_router(kb.router)
    app.include_router(consistency.router)
    app.include_router(survey_page.router)
    # The builder first: its /surveys/new must not be read as the survey called "new".
    app.include_router(survey_builder.router)
    app.include_router(surveys.router)
    app.include_router(text.router)
    app.include_router(cases.router)
    app.include_router(automation.router)
    app.include_router(insights.router)
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(PageRefused, on_page_refused)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_middleware(FormGuard)


class FormGuard:
    """ASGI middleware in front of every page's form post (not ``/api``, ``/v1``, static files).

    1. **CSRF, in one place.** A post from a signed-in browser must carry the session's CSRF
       value (form field ``csrf_token`` or header ``X-CSRF-Token``), whatever the handler does
       first; otherwise it is refused with 403 before any handler runs. The public survey
       page (``/s/…``, answered through its signed link, no session) and the login form
       (which checks its own pre-session value) are the exceptions. Handlers keep their own
       check too.
    2. **Write intent.** A form handler reads (the invitation, the case, the rule) and then
       writes. On SQLite a transaction that read before the worker committed cannot take the
       write lock later: it fails with "database is locked" at once, whatever the busy
       timeout. Beginning it with the write lock makes it wait its turn instead. The API is
       left alone: its ingestion hands rows to the group-commit writer and must hold no lock
       while it waits, and its handlers that write take a write session of their own
       (``cxm.api.deps.get_write_session``).
    """

    EXEMPT = ("/s/", "/login")
    MAX_BODY = 2 * 1024 * 1024
    # Forms that upload a file take more; a body over its path's limit is refused whole.
    MAX_UPLOAD = {"/sources/import": 50 * 1024 * 1024}

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or scope["path"].startswith(("/api/", "/v1/", "/static/"))
        ):
            await self.app(scope, receive, send)
            return
        if not scope["path"].startswith(self.EXEMPT):
            limit = self.MAX_UPLOAD.get(scope["path"], self.MAX_BODY)
            body, receive = await _buffered(receive, limit)
            request = Request(scope)
            if len(body) > limit:
                t = translator(language_of(request))
                message = t("error.too_large", megabytes=limit // (1024 * 1024))
                response = error_page(request, 413, message, None, None)
                await response(scope, receive, send)
                return
            session = load_session(request, request.app.state.workspace.secret_key)
            if session is not None and not csrf_matches(
                session, request.headers.get(CSRF_HEADER) or _form_field(request, body, CSRF_FIELD)
            ):
                response = error_page(request, 403, _csrf_refusal(request), None, None)
                await response(scope, receive, send)
                return
        with write_intent():  # handlers run in the thread pool with a copy of this context
            await self.app(scope, receive, send)


async def _buffered(receive: Receive, limit: int) -> tuple[bytes, Receive]:
    """Read the request body and a ``receive`` that hands it on again. Past ``limit`` the rest
    is read and dropped, and the body returned is ``limit + 1`` bytes long: to be refused, never
    handed on cut short."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        if size <= limit:
            chunks.append(chunk[: limit + 1 - size])
        size += len(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _form_field(request: Request, body: bytes, name: str) -> str | None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(name)
        return values[0] if values else None
    if kind == "multipart/form-data":
        found = re.search(rb'name="' + name.encode() + rb'"\r\n\r\n([^\r]*)\r\n', body)
        return found.group(1).decode("latin-1") if found else None
    return None


def _csrf_refusal(request: Request) -> str:
    return translator(language_of(request))("error.csrf")


async def _on_http_error(request: Request, exc: Exception) -> Response:
    # People get a page, programs (and every /api or /v1 path) get the JSON envelope.
    path = request.url.path
    wants_html = "text/html" in request.headers.get("accept", "")
    if wants_html and not path.startswith(("/api/", "/v1/")):
        assert isinstance(exc, StarletteHTTPException)
        return error_page(request, exc.status_code, None, viewer=None)
    return await http_error_response(request, exc)


def _timeline(
    db: Session, profile_id: str, viewer: Viewer, channel: str | None, before_seq: int | None
) -> list[TimelineItem]:
    """One page of the timeline (and one more item, to know if there is a next page), with
    personal data masked for a viewer without the pii scope."""
    items = get_timeline(
        db,
        profile_id,
        before_seq=before_seq,
        limit=pages.TIMELINE_PAGE_SIZE + 1,
        channels=[channel] if channel else None,
    )
    return masked_timeline(items, can_see_pii=viewer.principal.can("pii"))

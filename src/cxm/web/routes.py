"""Server-rendered pages: sign-in, overview, customer search and the customer 360.

Routes are thin: they read the session cookie, call the domain read functions inside one
store session, and render a template with :mod:`cxm.web.pages` contexts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cxm.api.errors import http_error_response
from cxm.auth import authenticate_token, get_token
from cxm.config import CHANNELS
from cxm.errors import NotFound
from cxm.profiles import get_overview, get_profile, get_timeline, search_profiles, what_we_know
from cxm.web import pages
from cxm.web.i18n import SUPPORTED, pick_language, translator
from cxm.web.rendering import STATIC_DIR, page_context, render_template
from cxm.web.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    LANG_COOKIE,
    WebSession,
    clear_session,
    csrf_matches,
    load_session,
    safe_next,
    store_language,
    store_session,
)

if TYPE_CHECKING:
    from cxm.auth import ApiPrincipal
    from cxm.workspace import Workspace

# Pages will grow to change state (automation, privacy), so the dashboard takes admin tokens.
WEB_SCOPE = "admin"
MAX_QUERY_CHARS = 200
MAX_TOKEN_CHARS = 1024

# Inline styles are allowed because ECharts and the bar widths set style attributes; scripts
# are same-origin only (no inline handlers: htmx runs without hx-on).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """Raised by :func:`signed_in`; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Viewer:
    """The signed-in person looking at a page."""

    principal: ApiPrincipal
    session: WebSession
    lang: str


def _workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


def _language(request: Request) -> str:
    return pick_language(
        request.headers.get("accept-language"),
        request.cookies.get(LANG_COOKIE),
        _workspace(request).settings.ui_language,
    )


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _is_partial(request: Request) -> bool:
    """An htmx request for a fragment (not a history restore, which needs the full page)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-history-restore-request") != "true"
        and headers.get("hx-request-type", "partial") != "full"
    )


def signed_in(request: Request) -> Viewer:
    """The dependency of every page: a valid session whose API token still exists."""
    workspace = _workspace(request)
    session = load_session(request, workspace.secret_key)
    principal = None
    if session is not None and session.token_id is not None:
        with workspace.session() as db:
            principal = get_token(db, session.token_id)
    if session is None or principal is None or not principal.can(WEB_SCOPE):
        raise LoginRequired(_here(request))
    return Viewer(principal=principal, session=session, lang=_language(request))


SignedIn = Annotated[Viewer, Depends(signed_in)]


def _render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    viewer: Viewer | None,
    active: str | None = None,
    status_code: int = 200,
    lang: str | None = None,
    csrf_token: str | None = None,
) -> HTMLResponse:
    base = page_context(
        lang=viewer.lang if viewer else (lang or _language(request)),
        principal=viewer.principal if viewer else None,
        csrf_token=viewer.session.csrf if viewer else csrf_token,
        active=active,
        here=_here(request),
    )
    html = render_template(template, {**base, **context})
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    response.headers["Vary"] = "HX-Request, Cookie"
    return response


def _error(
    request: Request,
    status_code: int,
    message: str | None,
    viewer: Viewer | None,
    active: str | None = None,
) -> HTMLResponse:
    return _render(
        request,
        "error.html",
        pages.error_context(status_code, message),
        viewer=viewer,
        active=active,
        status_code=status_code,
    )


def _fragment_error(status_code: int, message: str) -> HTMLResponse:
    html = render_template("_timeline_error.html", {"message": message})
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


async def _on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if request.headers.get("hx-request") != "true":
        target = "/login?next=" + quote(exc.next_path, safe="/")
        return RedirectResponse(target, status_code=303)
    # A fragment is no place to land after signing in: return to the page that asked for it.
    page = urlsplit(request.headers.get("hx-current-url", ""))
    back = page.path + (f"?{page.query}" if page.query else "")
    if page.netloc != request.url.netloc:
        back = "/overview"
    target = "/login?next=" + quote(safe_next(back), safe="/")
    return Response(status_code=401, headers={"HX-Redirect": target})


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/overview", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/overview") -> Response:
    workspace = _workspace(request)
    session = load_session(request, workspace.secret_key)
    if session is not None and session.token_id is not None:
        with workspace.session() as db:
            principal = get_token(db, session.token_id)
            if principal is not None and principal.can(WEB_SCOPE):
                return RedirectResponse(safe_next(next), status_code=303)
    fresh = WebSession(csrf=session.csrf) if session else WebSession.anonymous()
    response = _render(
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
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next: Annotated[str, Form()] = "/overview",
) -> Response:
    workspace = _workspace(request)
    lang = _language(request)
    t = translator(lang)
    session = load_session(request, workspace.secret_key)
    target = safe_next(next)

    def again(message: str, status_code: int, form_session: WebSession) -> Response:
        response = _render(
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
    with workspace.session() as db:
        principal = authenticate_token(db, token.strip()) if token.strip() else None
    if principal is None:
        return again(t("login.error.invalid"), 401, WebSession(csrf=session.csrf))
    if not principal.can(WEB_SCOPE):
        return again(t("login.error.scope"), 403, WebSession(csrf=session.csrf))
    response = RedirectResponse(target, status_code=303)
    store_session(response, request, workspace.secret_key, session.signed_in(principal.id))
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> Response:
    workspace = _workspace(request)
    session = load_session(request, workspace.secret_key)
    submitted = csrf_token or request.headers.get(CSRF_HEADER)
    signed_in_before = session is not None and session.token_id is not None
    if signed_in_before and not csrf_matches(session, submitted):
        return _error(request, 403, translator(_language(request))("error.csrf"), None)
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
    with _workspace(request).session() as db:
        data = get_overview(db)
    context = pages.overview_context(data, translator(viewer.lang))
    return _render(request, "overview.html", context, viewer=viewer, active="overview")


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request, viewer: SignedIn, q: str = "") -> Response:
    query = q.strip()[:MAX_QUERY_CHARS]
    with _workspace(request).session() as db:
        cards = search_profiles(db, query, limit=pages.CUSTOMER_LIST_LIMIT)
    context = pages.customers_context(cards, query)
    template = "_customer_rows.html" if _is_partial(request) else "customers.html"
    return _render(request, template, context, viewer=viewer, active="customers")


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
    viewer: SignedIn,
    profile_id: str,
    channel: str | None = None,
    before: str | None = None,
) -> Response:
    channel, before_seq, problem = _timeline_params(viewer.lang, channel, before)
    if problem:
        return _error(request, 400, problem, viewer, "customers")
    with _workspace(request).session() as db:
        try:
            profile = get_profile(db, profile_id)
        except NotFound:
            message = translator(viewer.lang)("customer.not_found", ref=profile_id)
            return _error(request, 404, message, viewer, "customers")
        if profile.id != profile_id:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/customers/{quote(profile.id, safe='')}{query}")
        brief = what_we_know(db, profile.id)
        fetched = get_timeline(
            db,
            profile.id,
            before_seq=before_seq,
            limit=pages.TIMELINE_PAGE_SIZE + 1,
            channels=[channel] if channel else None,
        )
    page = pages.TimelinePage.from_fetch(fetched, pages.TIMELINE_PAGE_SIZE)
    context = pages.customer_context(profile, brief, page, channel, translator(viewer.lang))
    return _render(request, "customer.html", context, viewer=viewer, active="customers")


@router.get("/customers/{profile_id}/timeline", response_class=HTMLResponse)
def customer_timeline(
    request: Request,
    viewer: SignedIn,
    profile_id: str,
    channel: str | None = None,
    before: str | None = None,
) -> Response:
    channel, before_seq, problem = _timeline_params(viewer.lang, channel, before)
    if problem:
        return _fragment_error(400, problem)
    with _workspace(request).session() as db:
        try:
            profile = get_profile(db, profile_id)
        except NotFound:
            message = translator(viewer.lang)("customer.not_found", ref=profile_id)
            return _fragment_error(404, message)
        fetched = get_timeline(
            db,
            profile.id,
            before_seq=before_seq,
            limit=pages.TIMELINE_PAGE_SIZE + 1,
            channels=[channel] if channel else None,
        )
    page = pages.TimelinePage.from_fetch(fetched, pages.TIMELINE_PAGE_SIZE)
    context = pages.timeline_context(profile.id, page, channel)
    return _render(request, "_timeline_items.html", context, viewer=viewer)


def mount_web(app: FastAPI) -> None:
    """Serve the web UI from ``app``: static files under ``/static`` and the pages.

    The app must have ``app.state.workspace`` set before the first request.
    """
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
    app.add_exception_handler(LoginRequired, _on_login_required)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    # People get a page, programs (and every /api or /v1 path) get the JSON envelope.
    path = request.url.path
    wants_html = "text/html" in request.headers.get("accept", "")
    if wants_html and not path.startswith(("/api/", "/v1/")):
        assert isinstance(exc, StarletteHTTPException)
        return _error(request, exc.status_code, None, viewer=None)
    return await http_error_response(request, exc)

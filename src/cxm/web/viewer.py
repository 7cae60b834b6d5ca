"""Who is looking at a page, and how pages answer: the sign-in dependency and rendering.

Every page module (:mod:`cxm.web.routes`, :mod:`cxm.web.sources`) takes a :data:`SignedIn`
viewer and answers with :func:`render_page`, which adds the security headers.

Example::

    @router.get("/things", response_class=HTMLResponse)
    def things(request: Request, viewer: SignedIn) -> Response:
        return render_page(request, "things.html", {...}, viewer=viewer, active="things")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cxm.auth import get_token
from cxm.web import pages
from cxm.web.i18n import pick_language
from cxm.web.rendering import page_context, render_template
from cxm.web.session import LANG_COOKIE, WebSession, load_session, safe_next

if TYPE_CHECKING:
    from cxm.auth import ApiPrincipal
    from cxm.workspace import Workspace

WEB_SCOPE = "admin"

# Which pages a signed-in person opens, by what their role may do (one place for every page):
# - "dashboard": everything (admins, and analysts who may read and change everything);
# - "serving": the customers and their cases (agents: read; changes to cases need ``cases``);
#   an agent held to a department reaches only the customers it serves (cxm.auth.reach);
# - "aggregates": company-wide figures (metrics, journeys, departments), for viewers held to
#   no department;
# - "department": one department's page, for anyone who may read aggregates (a viewer held
#   to a department opens only its own).
LEVELS = ("dashboard", "serving", "aggregates", "department")


def may_use_dashboard(principal: ApiPrincipal) -> bool:
    return principal.can(WEB_SCOPE) or (principal.can("read") and principal.can("write"))


def may_open(principal: ApiPrincipal, level: str) -> bool:
    if level == "dashboard":
        return may_use_dashboard(principal)
    if level == "serving":
        return principal.can("read")
    reads_figures = principal.can("read") or principal.can("aggregates")
    if level == "aggregates":
        return reads_figures and principal.held_to is None
    if level == "department":
        return reads_figures
    raise ValueError(f"unknown page level {level!r}")


def home_of(principal: ApiPrincipal) -> str | None:
    """The first page a signed-in person lands on; None: their role opens no page."""
    if may_use_dashboard(principal):
        return "/overview"
    if may_open(principal, "serving"):
        return "/cases"
    if principal.held_to is not None and may_open(principal, "department"):
        return f"/departments/{quote(principal.held_to, safe='')}"
    if may_open(principal, "aggregates"):
        return "/departments"
    return None


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


class PageRefused(Exception):
    """Raised when a signed-in person opens a page their role does not; answered with a 403
    page that links to the pages they may open."""

    def __init__(self, viewer: Viewer) -> None:
        super().__init__(viewer.principal.name)
        self.viewer = viewer


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


def workspace_of(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


def language_of(request: Request) -> str:
    return pick_language(
        request.headers.get("accept-language"),
        request.cookies.get(LANG_COOKIE),
        workspace_of(request).settings.ui_language,
    )


def current_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def is_partial(request: Request) -> bool:
    """An htmx request for a fragment (not a history restore, which needs the full page)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-history-restore-request") != "true"
        and headers.get("hx-request-type", "partial") != "full"
    )


def current_viewer(request: Request) -> Viewer:
    """The person behind a valid session whose token or user still exists, else LoginRequired
    (also when their role opens no page at all)."""
    workspace = workspace_of(request)
    session = load_session(request, workspace.secret_key)
    principal = None
    if session is not None and session.token_id is not None:
        with workspace.session() as db:
            principal = get_token(db, session.token_id)
    elif session is not None and session.user_id is not None:
        from cxm.auth.users import active_user

        with workspace.session() as db:
            user = active_user(db, session.user_id)
        principal = user.principal() if user is not None else None
    if session is None or principal is None or home_of(principal) is None:
        raise LoginRequired(current_path(request))
    return Viewer(principal=principal, session=session, lang=language_of(request))


def _page_for(level: str):  # type: ignore[no-untyped-def]
    def dependency(request: Request) -> Viewer:
        viewer = current_viewer(request)
        if not may_open(viewer.principal, level):
            raise PageRefused(viewer)
        return viewer

    dependency.page_level = level  # type: ignore[attr-defined]
    return dependency


signed_in = _page_for("dashboard")
# The dependencies pages take, by who may open them (see LEVELS).
SignedIn = Annotated[Viewer, Depends(signed_in)]
Serving = Annotated[Viewer, Depends(_page_for("serving"))]
Aggregates = Annotated[Viewer, Depends(_page_for("aggregates"))]
DepartmentPage = Annotated[Viewer, Depends(_page_for("department"))]


def render_page(
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
    """``template`` (a page or a fragment) with the shared context and the security headers."""
    base = page_context(
        lang=viewer.lang if viewer else (lang or language_of(request)),
        principal=viewer.principal if viewer else None,
        csrf_token=viewer.session.csrf if viewer else csrf_token,
        active=active,
        here=current_path(request),
    )
    html = render_template(template, {**base, **context})
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    response.headers["Vary"] = "HX-Request, Cookie"
    return response


def error_page(
    request: Request,
    status_code: int,
    message: str | None,
    viewer: Viewer | None,
    active: str | None = None,
) -> HTMLResponse:
    return render_page(
        request,
        "error.html",
        pages.error_context(status_code, message),
        viewer=viewer,
        active=active,
        status_code=status_code,
    )


def fragment_error(status_code: int, message: str) -> HTMLResponse:
    html = render_template("_timeline_error.html", {"message": message})
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


async def on_page_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageRefused)
    from cxm.web.i18n import translator

    viewer = exc.viewer
    t = translator(viewer.lang)
    message = t("error.role_page", home=home_of(viewer.principal) or "/login")
    if request.headers.get("hx-request") == "true":
        return fragment_error(403, message)
    return error_page(request, 403, message, viewer)


def look_at(request: Request, viewer: Viewer, profile_id: str, what: str) -> Response | None:
    """Let ``viewer`` see this customer's ``what`` only if they may reach the customer
    (cxm.auth.reach), and log the look; the error page when they may not."""
    from cxm.audit.access import log_access
    from cxm.auth.reach import check_reach
    from cxm.errors import Forbidden

    ws = workspace_of(request)
    try:
        with ws.session() as db:
            check_reach(db, viewer.principal, profile_id)
    except Forbidden as exc:
        return error_page(request, 403, exc.message, viewer)
    log_access(ws.session, actor=viewer.principal.actor, profile_id=profile_id, what=what,
               purpose=None)  # fmt: skip
    return None


async def on_login_required(request: Request, exc: Exception) -> Response:
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


def refuse_change(
    request: Request,
    viewer: Viewer,
    token: str,
    *,
    active: str,
    need_write: str,
    scope: str | None = None,
) -> Response | None:
    """The error page for a form that changes something, when its CSRF token does not match
    the session's or the signed-in person lacks the write scope (or ``scope``, a narrower one
    that also allows this change; ``need_write``: the message's catalogue key); None when the
    change may go ahead."""
    from cxm.web.i18n import translator
    from cxm.web.session import CSRF_HEADER, csrf_matches

    t = translator(viewer.lang)
    if not csrf_matches(viewer.session, token or request.headers.get(CSRF_HEADER)):
        return error_page(request, 403, t("error.csrf"), viewer, active)
    allowed = viewer.principal.can("write") or (scope is not None and viewer.principal.can(scope))
    if not allowed:
        return error_page(request, 403, t(need_write), viewer, active)
    return None

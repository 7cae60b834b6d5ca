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

# The dashboard's pages read customers and change state (cases, rules, reviews): it takes an
# admin, or someone who may read and write everything (the analyst role). Agents' and
# department viewers' pages are not built yet; they use the API.
WEB_SCOPE = "admin"


def may_use_dashboard(principal: ApiPrincipal) -> bool:
    return principal.can(WEB_SCOPE) or (principal.can("read") and principal.can("write"))


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


def signed_in(request: Request) -> Viewer:
    """The dependency of every page: a valid session whose API token still exists."""
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
    if session is None or principal is None or not may_use_dashboard(principal):
        raise LoginRequired(current_path(request))
    return Viewer(principal=principal, session=session, lang=language_of(request))


SignedIn = Annotated[Viewer, Depends(signed_in)]


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
    request: Request, viewer: Viewer, token: str, *, active: str, need_write: str
) -> Response | None:
    """The error page for a form that changes something, when its CSRF token does not match
    the session's or the signed-in token lacks the write scope (``need_write``: the message's
    catalogue key); None when the change may go ahead."""
    from cxm.web.i18n import translator
    from cxm.web.session import CSRF_HEADER, csrf_matches

    t = translator(viewer.lang)
    if not csrf_matches(viewer.session, token or request.headers.get(CSRF_HEADER)):
        return error_page(request, 403, t("error.csrf"), viewer, active)
    if not viewer.principal.can("write"):
        return error_page(request, 403, t(need_write), viewer, active)
    return None

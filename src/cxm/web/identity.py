"""The Review page and the identity decisions taken from the dashboard.

``/review`` lists pairs of profiles that may be one person, side by side with the evidence;
"Same person" and "Different people" post the answer (htmx swaps the item for its decided
state, without htmx the page reloads). The customer page's "Undo this merge" form posts to
``/merges/{id}/unmerge`` and returns to the customer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from cxm.errors import CxmError, NotFound
from cxm.identity import (
    ReviewItem,
    count_pairs,
    do_decide_pair,
    do_unmerge,
    get_pair,
    list_pairs,
    pairs_of,
)
from cxm.profiles import Profile
from cxm.web.i18n import translator
from cxm.web.rendering import render_template
from cxm.web.session import CSRF_FIELD, CSRF_HEADER, csrf_matches
from cxm.web.viewer import (
    SECURITY_HEADERS,
    SignedIn,
    Viewer,
    error_page,
    is_partial,
    render_page,
    workspace_of,
)

router = APIRouter(include_in_schema=False)

REVIEW_PAGE_SIZE = 50
MAX_NOTE_CHARS = 2000
TABS = ("review", "merged", "separate")


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, viewer: SignedIn, status: str = "review") -> Response:
    if status not in TABS:
        status = "review"
    with workspace_of(request).session() as db:
        items = list_pairs(db, status=status, limit=REVIEW_PAGE_SIZE)
        counts = {tab: count_pairs(db, status=tab) for tab in TABS}
    context = review_context(items, status, counts)
    return render_page(request, "review.html", context, viewer=viewer, active="review")


@router.post("/review/{pair_id}", response_class=HTMLResponse)
def decide(
    request: Request,
    viewer: SignedIn,
    pair_id: int,
    decision: Annotated[Literal["merge", "separate"], Form()],
    note: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    t = translator(viewer.lang)
    partial = is_partial(request)
    problem: tuple[int, str] | None = None
    with workspace_of(request).session() as db:
        if not _csrf_ok(request, viewer, csrf_token):
            problem = (403, t("error.csrf"))
        else:
            try:
                do_decide_pair(
                    db,
                    actor=viewer.principal.actor,
                    pair_id=pair_id,
                    decision=decision,
                    note=note.strip() or None,
                )
                db.commit()
            except CxmError as exc:
                db.rollback()
                problem = (exc.http_status, exc.message)
        try:
            item = get_pair(db, pair_id)
        except NotFound:
            item = None
    if not partial:
        if problem:
            return error_page(request, problem[0], problem[1], viewer, "review")
        return RedirectResponse("/review", status_code=303)
    if item is None:
        assert problem is not None
        html = render_template("_review_error.html", {"message": problem[1]})
        return HTMLResponse(html, status_code=problem[0], headers=SECURITY_HEADERS)
    # htmx swaps the item for its new state, or for itself with the problem above it.
    context = {"item": item, "error": problem[1] if problem else None}
    status_code = problem[0] if problem else 200
    return render_page(
        request, "_review_item.html", context, viewer=viewer, status_code=status_code
    )


@router.post("/merges/{merge_id}/unmerge", response_class=HTMLResponse)
def unmerge(
    request: Request,
    viewer: SignedIn,
    merge_id: int,
    reason: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
    back: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    t = translator(viewer.lang)
    if not _csrf_ok(request, viewer, csrf_token):
        return error_page(request, 403, t("error.csrf"), viewer, "customers")
    ws = workspace_of(request)
    with ws.session() as db:
        try:
            done = do_unmerge(
                db,
                actor=viewer.principal.actor,
                merge_id=merge_id,
                reason=reason,
                policy=ws.settings.identity_policy,
                region=ws.settings.default_region,
            )
        except CxmError as exc:
            db.rollback()
            return error_page(request, exc.http_status, exc.message, viewer, "customers")
    # Back to the customer the form was on; it is one of the profiles the split left.
    target = back if back in done.profiles else (done.profiles[0] if done.profiles else "")
    location = f"/customers/{quote(target, safe='')}#identity" if target else "/customers"
    return RedirectResponse(location, status_code=303)


def review_context(items: list[ReviewItem], status: str, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "items": items,
        "status": status,
        "counts": counts,
        "tabs": TABS,
        "error": None,
    }


def pairs_about(db: Session, profile: Profile) -> list[ReviewItem]:
    """Open and decided pairs about ``profile`` or any profile merged into it."""
    # Every profile merged into this one lost a merge in its chain.
    members = sorted({profile.id, *(m.loser_id for m in profile.merges)})
    return pairs_of(db, members)


def _csrf_ok(request: Request, viewer: Viewer, submitted: str) -> bool:
    return csrf_matches(viewer.session, submitted or request.headers.get(CSRF_HEADER))

"""The Surveys pages: the list, a survey's results, and inviting customers from the results.

``/surveys`` lists every survey (newest version) with its invitations, response rate and
headline score, each with its interval or "insufficient data". ``/surveys/{id}`` is the
results page (see :mod:`cxm.web.survey_views`); its invitation form posts to
``/surveys/{id}/invitations`` and the page comes back with one outcome per customer: sent with
its link ``/s/{token}``, suppressed by the fatigue rule, or rejected, each with its reason.
The builder is in :mod:`cxm.web.survey_builder`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from cxm.errors import CxmError, NotFound
from cxm.journeys.map import JourneyMap, Touchpoint
from cxm.journeys.service import current_journey_map
from cxm.metrics import MIN_SAMPLE
from cxm.store.metadata import utcnow
from cxm.surveys import InviteOutcome, do_invite_batch, get_survey, list_surveys
from cxm.web.i18n import translator
from cxm.web.session import CSRF_FIELD, CSRF_HEADER, csrf_matches
from cxm.web.survey_views import results_context, summarise
from cxm.web.viewer import SignedIn, Viewer, error_page, render_page, workspace_of

router = APIRouter(include_in_schema=False)

WRITE_SCOPE = "write"
MAX_INVITES = 1000
MAX_INVITE_CHARS = 200_000


@router.get("/surveys", response_class=HTMLResponse)
def surveys_page(request: Request, viewer: SignedIn) -> Response:
    t = translator(viewer.lang)
    with workspace_of(request).session() as db:
        rows = [summarise(db, stored, t, viewer.lang) for stored in list_surveys(db)]
        journey = current_journey_map(db)
    context = {
        "rows": rows,
        "min_sample": MIN_SAMPLE,
        "touchpoint_names": {tp.id: tp.name for tp in journey.touchpoints} if journey else {},
    }
    return render_page(request, "surveys.html", context, viewer=viewer, active="surveys")


@router.get("/surveys/{survey_id}", response_class=HTMLResponse)
def results_page(request: Request, viewer: SignedIn, survey_id: str) -> Response:
    saved = request.query_params.get("saved")
    return _results(request, viewer, survey_id, saved=saved if (saved or "").isdigit() else None)


def can_write(viewer: Viewer) -> bool:
    return viewer.principal.can(WRITE_SCOPE)


def csrf_ok(request: Request, viewer: Viewer, submitted: str | None) -> bool:
    return csrf_matches(viewer.session, submitted or request.headers.get(CSRF_HEADER))


def not_found(request: Request, viewer: Viewer, survey_id: str) -> HTMLResponse:
    message = translator(viewer.lang)("surveys.not_found", id=survey_id[:100])
    return error_page(request, 404, message, viewer, "surveys")


def _results(
    request: Request,
    viewer: Viewer,
    survey_id: str,
    *,
    invite: dict[str, Any] | None = None,
    saved: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    t = translator(viewer.lang)
    with workspace_of(request).session() as db:
        try:
            stored = get_survey(db, survey_id)
        except NotFound:
            return not_found(request, viewer, survey_id)
        journey = current_journey_map(db)
        context = results_context(db, stored, journey, t, viewer.lang)
    definition = stored.definition
    context["saved"] = saved
    context["can_write"] = can_write(viewer)
    context["touchpoint_choices"] = touchpoint_choices(journey)
    context["invite"] = invite or {
        "refs": "",
        "language": definition.languages[0],
        "touchpoint": "",
        "case_ref": "",
        "error": None,
        "outcomes": None,
        "tally": None,
    }
    return render_page(
        request,
        "survey_results.html",
        context,
        viewer=viewer,
        active="surveys",
        status_code=status_code,
    )


def touchpoint_choices(journey: JourneyMap | None) -> list[tuple[str, list[Touchpoint]]]:
    """The journey map's touchpoints grouped by stage, in journey order, for a select."""
    if journey is None:
        return []
    return [
        (stage.name, [tp for tp in journey.touchpoints if tp.stage == stage.id])
        for stage in journey.stages
    ]


def invitation_refs(text: str) -> list[str]:
    """The references typed one per line (commas and semicolons separate too), each once.

    >>> invitation_refs(" ania@example.pl\\n\\n+48 601 234 567; CUST-7\\nania@example.pl")
    ['ania@example.pl', '+48 601 234 567', 'CUST-7']
    """
    refs: list[str] = []
    for line in text.replace(";", "\n").replace(",", "\n").splitlines():
        ref = line.strip()
        if ref and ref not in refs:
            refs.append(ref)
    return refs


def department_refs(text: str) -> tuple[list[str], str | None]:
    """Departments to invite, one per line, each repeated for as many links as it asks for.

    An employee survey takes one answer per invitation, so a department of 25 needs 25 links:
    ``billing: 25``. Returns the list and the first line that could not be read, if any.

    >>> department_refs("billing: 3\n\nhr")
    (['billing', 'billing', 'billing', 'hr'], None)
    >>> department_refs("billing: many")
    ([], 'billing: many')
    """
    refs: list[str] = []
    for line in text.splitlines():
        name, colon, count = (part.strip() for part in line.strip().partition(":"))
        if not name:
            continue
        if colon and not (count.isdigit() and 0 < int(count) <= MAX_INVITES):
            return [], line.strip()
        refs.extend([name] * (int(count) if colon else 1))
        if len(refs) > MAX_INVITES:
            break
    return refs, None


@router.post("/surveys/{survey_id}/invitations", response_class=HTMLResponse)
def invite(
    request: Request,
    viewer: SignedIn,
    survey_id: str,
    refs: Annotated[str, Form(max_length=MAX_INVITE_CHARS)] = "",
    language: Annotated[str, Form(max_length=16)] = "",
    touchpoint: Annotated[str, Form(max_length=100)] = "",
    case_ref: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    t = translator(viewer.lang)
    workspace = workspace_of(request)
    state: dict[str, Any] = {
        "refs": refs,
        "language": language,
        "touchpoint": touchpoint,
        "case_ref": case_ref,
        "error": None,
        "outcomes": None,
        "tally": None,
    }

    def again(message: str, status_code: int) -> HTMLResponse:
        state["error"] = message
        return _results(request, viewer, survey_id, invite=state, status_code=status_code)

    with workspace.session() as db:
        try:
            stored = get_survey(db, survey_id)
        except NotFound:
            return not_found(request, viewer, survey_id)
    if not csrf_ok(request, viewer, csrf_token):
        return again(t("error.csrf"), 403)
    if not can_write(viewer):
        return again(t("surveys.error.write_scope"), 403)
    employee = stored.definition.audience == "employee"
    if employee:
        targets, unreadable = department_refs(refs)
        if unreadable is not None:
            return again(t("surveys.invite.error.count", line=unreadable[:100]), 400)
    else:
        targets = invitation_refs(refs)
    if not targets:
        return again(t("surveys.invite.error.none" + (".employee" if employee else "")), 400)
    if len(targets) > MAX_INVITES:
        return again(t("surveys.invite.error.many", max=MAX_INVITES), 400)
    # A session of its own that reads nothing before the invitations take the write lock
    # (on SQLite a transaction that has read cannot wait for that lock; see do_invite).
    with workspace.session() as db:
        try:
            outcomes = do_invite_batch(
                session=db,
                actor=viewer.principal.actor,
                survey=survey_id,
                profile_ids=[] if employee else targets,
                departments=targets if employee else [],
                touchpoint=touchpoint.strip() or None,
                case_ref=case_ref.strip() or None,
                language=language.strip() or None,
                now=utcnow(),
                fatigue_days=workspace.settings.survey_fatigue_days,
            )
            db.commit()
        except CxmError as exc:
            db.rollback()
            return again(exc.message, exc.http_status)
    state["outcomes"] = [
        _outcome_view(request, ref, o) for ref, o in zip(targets, outcomes, strict=True)
    ]
    state["tally"] = {
        s: sum(o.status == s for o in outcomes) for s in ("sent", "suppressed", "rejected")
    }
    return _results(request, viewer, survey_id, invite=state)


def _outcome_view(request: Request, ref: str, outcome: InviteOutcome) -> dict[str, Any]:
    link = None
    if outcome.token:
        link = str(request.base_url).rstrip("/") + f"/s/{outcome.token}"
    return {
        "ref": ref,
        "status": outcome.status,
        "profile_id": outcome.profile_id,
        "department": outcome.department,
        "link": link,
        "path": f"/s/{outcome.token}" if outcome.token else None,
        "expires_at": outcome.expires_at,
        "reason": outcome.reason,
    }

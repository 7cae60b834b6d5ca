"""The Cases pages: the inbox (filters by status, department, channel, late ones; the counts;
where customers are asked again), and a page per case with its whole story across channels,
where an agent with the write scope changes its status, priority or department, or adds a note.

Titles and notes are masked (e-mails, phones, account and identity numbers) unless the
signed-in token has the ``pii`` scope.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cxm.cases import (
    PRIORITIES,
    STATUSES,
    CaseFilter,
    asked_again_report,
    case_overview,
    do_update_case,
    get_case,
    list_cases,
)
from cxm.cases.masking import masked_case
from cxm.cases.queries import case_served
from cxm.config import CHANNELS
from cxm.errors import CxmError
from cxm.journeys.service import current_journey_map
from cxm.store.metadata import utcnow
from cxm.web.i18n import translator
from cxm.web.session import CSRF_FIELD
from cxm.web.viewer import (
    Serving,
    error_page,
    look_at,
    refuse_change,
    render_page,
    workspace_of,
)

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/cases", response_class=HTMLResponse)
def inbox(
    request: Request,
    viewer: Serving,
    status: str = "active",
    department: str = "",
    channel: str = "",
    late: bool = False,
    q: str = "",
    page: int = 1,
) -> Response:
    t = translator(viewer.lang)
    statuses = {"active": ["open", "pending"], "all": list(STATUSES)}.get(status, [status])
    if any(s not in STATUSES for s in statuses):
        return error_page(request, 400, t("cases.bad_status", status=status), viewer, "cases")
    if channel and channel not in CHANNELS:
        return error_page(request, 400, t("error.bad_channel", channel=channel), viewer, "cases")
    page = max(1, min(page, 10_000))
    ws = workspace_of(request)
    pii = viewer.principal.can("pii")
    now = utcnow()
    try:
        query = CaseFilter(status=statuses, department=department or None,
                           channel=channel or None, breached=late, q=q or None, limit=PAGE,
                           offset=(page - 1) * PAGE,
                           served_by=viewer.principal.held_to)  # fmt: skip
    except (CxmError, ValueError) as exc:
        return error_page(request, 400, str(exc), viewer, "cases")
    with ws.session() as s:
        found = list_cases(s, query, now=now)
        overview = case_overview(s, now=now)
        asked = asked_again_report(s, by="touchpoint")[:8]
        journey = current_journey_map(s)
    departments = [(d.id, d.name) for d in journey.departments] if journey else []
    names = dict(departments)
    touchpoints = {tp.id: tp.name for tp in journey.touchpoints} if journey else {}
    filters = {"status": status, "department": department, "channel": channel,
               "late": "true" if late else "", "q": q}  # fmt: skip

    def link(**changes: Any) -> str:
        merged = {k: v for k, v in {**filters, **changes}.items() if v not in ("", None)}
        return "/cases?" + urlencode(merged)

    context = {
        "cases": [
            {"c": masked_case(c, can_see_pii=pii), "late": c.breaches(now)} for c in found.cases
        ],
        "total": found.total,
        "counts": found.counts,
        "overview": overview,
        "asked": asked,
        "departments": departments,
        "department_names": names,
        "touchpoint_names": touchpoints,
        "channels": CHANNELS,
        "filters": filters,
        "page": page,
        "pages": max(1, -(-found.total // PAGE)),
        "link": link,
        "pii": pii,
    }
    return render_page(request, "cases.html", context, viewer=viewer, active="cases")


@router.get("/cases/{ref}", response_class=HTMLResponse)
def case_page(request: Request, viewer: Serving, ref: str) -> Response:
    ws = workspace_of(request)
    now = utcnow()
    try:
        with ws.session() as s:
            case = get_case(s, ref)
            journey = current_journey_map(s)
    except CxmError as exc:
        return error_page(request, exc.http_status, exc.message, viewer, "cases")
    refused = look_at(request, viewer, case.profile_id, f"case page {case.ref}")
    if refused is not None:
        return refused
    departments = [(d.id, d.name) for d in journey.departments] if journey else []
    context = {
        "c": masked_case(case, can_see_pii=viewer.principal.can("pii")),
        "late": case.breaches(now),
        "departments": departments,
        "department_names": dict(departments),
        "touchpoint_names": {tp.id: tp.name for tp in journey.touchpoints} if journey else {},
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "can_write": viewer.principal.can("write") or viewer.principal.can("cases"),
        "pii": viewer.principal.can("pii"),
    }
    return render_page(request, "case.html", context, viewer=viewer, active="cases")


@router.post("/cases/{ref}/change", response_class=HTMLResponse)
def change_case(
    request: Request,
    viewer: Serving,
    ref: str,
    status: Annotated[str, Form(max_length=16)] = "",
    priority: Annotated[str, Form(max_length=16)] = "",
    department: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str, Form(max_length=10_000)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    refused = refuse_change(request, viewer, csrf_token, active="cases",
                             need_write="cases.need_write", scope="cases")  # fmt: skip
    if refused is not None:
        return refused
    ws = workspace_of(request)
    held = viewer.principal.held_to
    try:
        with ws.session() as s:
            if held is not None and not case_served(s, ref, held):
                t = translator(viewer.lang)
                return error_page(request, 403, t("cases.not_served", department=held),
                                  viewer, "cases")  # fmt: skip
            case = do_update_case(
                session=s,
                actor=viewer.principal.actor,
                policy=ws.case_policy,
                ref=ref,
                status=status or None,
                priority=priority or None,
                department=department or None,
                note=note.strip() or None,
            )
    except CxmError as exc:
        return error_page(request, exc.http_status, exc.message, viewer, "cases")
    return RedirectResponse(f"/cases/{case.ref}", status_code=303)

"""Cases over REST: the inbox, one case with its activity, opening and updating cases by hand,
helpdesk imports, and how often customers are asked again for what the company knew.

``read`` scope to look (titles and notes masked without ``pii``), ``write`` to change.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from cxm.api.bodies import export
from cxm.api.deps import (
    get_workspace,
    require,
    require_aggregates,
    require_cases,
    viewed,
    write_session,
)
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.cases import (
    PRIORITIES,
    STATUSES,
    Case,
    CaseFilter,
    asked_again_report,
    case_overview,
    do_open_case,
    do_update_case,
    get_case,
    list_cases,
)
from cxm.cases.helpdesk import PRESETS, do_import_helpdesk
from cxm.cases.masking import masked_case
from cxm.cases.queries import case_served
from cxm.errors import Forbidden, InvalidInput
from cxm.profiles import resolve_profile_id
from cxm.store.metadata import utcnow
from cxm.workspace import Workspace

router = APIRouter(prefix="/api", tags=["cases"])
require_read = require("read")
require_write = require("write")
_export = export("cxm cases import")


class NewCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str = Field(
        min_length=1, max_length=320, description="Profile id, user id, e-mail or phone"
    )
    title: str = Field(min_length=1, max_length=300)
    priority: str = Field("normal", description=f"One of {', '.join(PRIORITIES)}")
    department: str | None = Field(None, max_length=100)
    channel: str | None = Field(None, max_length=32, description="Where the customer raised it")
    ref: str | None = Field(None, max_length=120, description="Your reference (default: cxm's)")
    note: str | None = Field(None, max_length=10_000)


class CaseChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(None, description=f"One of {', '.join(STATUSES)}")
    priority: str | None = Field(None, description=f"One of {', '.join(PRIORITIES)}")
    department: str | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=300)
    note: str | None = Field(None, max_length=10_000)


def case_body(case: Case, principal: ApiPrincipal) -> dict[str, Any]:
    return masked_case(case, can_see_pii=principal.can("pii")).to_dict(now=utcnow())


@router.get("/cases", summary="The inbox: cases by status, department, channel, priority")
def inbox(
    status: list[str] = Query([], description="Statuses (default: open and pending)"),
    department: str | None = Query(None, max_length=100),
    channel: str | None = Query(None, max_length=32),
    priority: str | None = Query(None),
    customer: str | None = Query(None, max_length=320, description="Profile, e-mail, phone …"),
    breached: bool = Query(False, description="Only cases past a service-level due time"),
    q: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as session:
        profile_id = resolve_profile_id(session, customer) if customer else None
        filters: dict[str, Any] = {"status": status} if status else {}
        query = CaseFilter(**filters, department=department, channel=channel, priority=priority,
                           profile_id=profile_id, breached=breached, q=q, limit=limit,
                           offset=offset, served_by=principal.held_to)  # fmt: skip
        page = list_cases(session, query)
    return JsonResponse(
        {
            "ok": True,
            "total": page.total,
            "counts": page.counts,
            "cases": [case_body(c, principal) for c in page.cases],
        }
    )


@router.get("/cases/overview", summary="Cases per status, open ones per department, breaches")
def overview(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_aggregates)
) -> JsonResponse:
    with ws.session() as session:
        return JsonResponse({"ok": True, **case_overview(session)})


@router.get(
    "/cases/asked-again",
    summary="How often customers are asked for data the company held, per touchpoint",
)
def asked_again(
    by: str = Query("touchpoint", description="touchpoint, department or channel"),
    start: date | None = Query(None, description="First UTC day included"),
    end: date | None = Query(None, description="First UTC day excluded"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    def day(d: date | None) -> datetime | None:
        return datetime.combine(d, time(), tzinfo=utcnow().tzinfo) if d else None

    with ws.session() as session:
        rows = asked_again_report(session, by=by, start=day(start), end=day(end))
    return JsonResponse({"ok": True, "by": by, "rows": [asdict(r) for r in rows]})


@router.post("/cases/build", summary="Place events that arrived since the last run into cases")
def build(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_write)
) -> JsonResponse:
    ws.catch_up()
    report = ws.build_cases(max_batches=20)
    return JsonResponse({"ok": True, **asdict(report)})


@router.post(
    "/cases/import",
    summary="Import a helpdesk's CSV export (Zendesk, Freshdesk or generic columns)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def import_helpdesk(
    helpdesk: str = Query("generic", description=f"One of {', '.join(PRESETS)}"),
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_write),
    body: bytes = Depends(_export),
) -> JsonResponse:
    if helpdesk not in PRESETS:
        raise InvalidInput(f"unknown helpdesk {helpdesk!r}; choose from {', '.join(PRESETS)}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(body)
        report, _ = do_import_helpdesk(
            ws.engine,
            session=ws.session,
            actor=principal.actor,
            path=path,
            preset=helpdesk,
            report_path=Path(folder) / "rejected.jsonl",
            max_event_bytes=ws.settings.max_event_bytes,
            never_store=ws.settings.never_store,
            region=ws.settings.default_region,
        )
    ws.catch_up()
    built = ws.build_cases()
    rejected = [{"where": r["where"], "message": r["message"]} for r in report.rejected]
    return JsonResponse(
        {
            "ok": True,
            "stored": report.stored,
            "duplicates": report.duplicates,
            "rejected": rejected,
            "cases_opened": built.opened,
        }
    )


@router.get("/cases/{ref}", summary="One case with its activity across every channel")
def read_case(
    request: Request,
    ref: str,
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as session:
        case = get_case(session, ref)
    viewed(request, principal, case.profile_id, f"case {case.ref}")
    return JsonResponse({"ok": True, "case": case_body(case, principal)})


@router.post("/cases", summary="Open a case for a customer (an agent's or an integration's)")
def open_case(
    body: NewCase,
    ws: Workspace = Depends(get_workspace),
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_cases),
) -> JsonResponse:
    held = principal.held_to
    if held is not None and body.department not in (None, held):
        raise Forbidden(f"'{principal.name}' is held to the department '{held}': open cases there")
    profile_id = resolve_profile_id(session, body.customer)
    case = do_open_case(
        session=session,
        actor=principal.actor,
        policy=ws.case_policy,
        profile_id=profile_id,
        title=body.title,
        priority=body.priority,
        department=body.department or held,
        channel=body.channel,
        ref=body.ref,
        note=body.note,
    )
    session.commit()
    return JsonResponse({"ok": True, "case": case_body(case, principal)}, status_code=201)


@router.patch("/cases/{ref}", summary="Change a case's status, priority, department or title")
def change_case(
    ref: str,
    body: CaseChange,
    ws: Workspace = Depends(get_workspace),
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_cases),
) -> JsonResponse:
    if not body.model_fields_set:
        raise InvalidInput("give at least one of status, priority, department, title, note")
    if principal.held_to is not None and not case_served(session, ref, principal.held_to):
        raise Forbidden(
            f"'{principal.name}' is held to the department '{principal.held_to}', "
            "which has not handled this case"
        )
    case = do_update_case(
        session=session,
        actor=principal.actor,
        policy=ws.case_policy,
        ref=ref,
        status=body.status,
        priority=body.priority,
        department=body.department,
        title=body.title,
        note=body.note,
    )
    session.commit()
    return JsonResponse({"ok": True, "case": case_body(case, principal)})


@router.get("/profiles/{ref}/cases", summary="A customer's open cases, for every channel's view")
def customer_cases(
    request: Request,
    ref: str,
    all_statuses: bool = Query(False, alias="all", description="Resolved and closed ones too"),
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as session:
        profile_id = resolve_profile_id(session, ref)
        statuses = list(STATUSES) if all_statuses else ["open", "pending"]
        page = list_cases(session, CaseFilter(profile_id=profile_id, status=statuses, limit=100))
    viewed(request, principal, profile_id, "cases")
    return JsonResponse(
        {
            "ok": True,
            "profile_id": profile_id,
            "cases": [case_body(c, principal) for c in page.cases],
        }
    )

"""Automation over REST: rules (JSON or YAML), their dry run and simulation, firings, the
action jobs and the dead letters, and the in-app messages a customer's app shows.

``read`` scope to look, ``write`` to change rules or retry jobs.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from cxm.api.bodies import definition, definition_body
from cxm.api.deps import get_workspace, require, viewed, write_session
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.automation import do_retry_job, do_save_rule, do_set_rule_enabled, get_rule, list_rules
from cxm.automation.campaigns import event_campaign_uplift, rule_uplift
from cxm.automation.queries import (
    dry_run,
    list_firings,
    list_jobs,
    messages_for,
    rule_stats,
    simulate_rule,
)
from cxm.automation.rules import Goal
from cxm.errors import InvalidInput
from cxm.journeys.service import current_journey_map
from cxm.profiles import resolve_profile_id
from cxm.store.metadata import utcnow
from cxm.workspace import Workspace

router = APIRouter(prefix="/api", tags=["automation"])
require_read = require("read")
require_write = require("write")
_definition = definition("rule")
_NAME = Path(min_length=1, max_length=100, description="The rule's name")
_BODY = definition_body("rule")
JOB_STATUSES = ("pending", "running", "done", "failed", "dead", "cancelled")


class DryRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str = Field(min_length=1, max_length=320, description="Profile id, e-mail, phone…")
    event: dict[str, Any] | None = Field(None, description="The trigger to try: {name, properties}")


def _day(d: date) -> datetime:
    return datetime.combine(d, time(), tzinfo=utcnow().tzinfo)


@router.get("/automation/rules", summary="Every rule with its firings in the last 30 days")
def rules(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_read)
) -> JsonResponse:
    since = utcnow() - timedelta(days=30)
    with ws.session() as s:
        body = [r.to_dict() | {"last_30_days": rule_stats(s, r.rule.name, since=since)}
                for r in list_rules(s)]  # fmt: skip
    return JsonResponse({"ok": True, "rules": body})


@router.post("/automation/rules", summary="Create a rule (every problem listed)",
             openapi_extra=_BODY)  # fmt: skip
def create_rule(
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    data: Any = Depends(_definition),
) -> JsonResponse:
    stored = do_save_rule(session=session, actor=principal.actor, data=data)
    session.commit()
    return JsonResponse({"ok": True, "rule": stored.to_dict()}, status_code=201)


@router.put("/automation/rules/{name}", summary="Create or replace the rule of this name",
            openapi_extra=_BODY)  # fmt: skip
def replace_rule(
    name: str = _NAME,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    data: Any = Depends(_definition),
) -> JsonResponse:
    stored = do_save_rule(
        session=session, actor=principal.actor, data=data, replace=True, name=name
    )
    session.commit()
    return JsonResponse({"ok": True, "rule": stored.to_dict()})


@router.get("/automation/rules/{name}", summary="One rule, its recent firings and jobs")
def read_rule(
    name: str = _NAME,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as s:
        stored = get_rule(s, name)
        since = utcnow() - timedelta(days=30)
        body = stored.to_dict() | {
            "last_30_days": rule_stats(s, name, since=since),
            "firings": list_firings(s, rule=name, limit=50),
        }
    return JsonResponse({"ok": True, "rule": body})


@router.post("/automation/rules/{name}/enable", summary="Enable a rule")
def enable(
    name: str = _NAME,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    stored = do_set_rule_enabled(session=session, actor=principal.actor, name=name, enabled=True)
    session.commit()
    return JsonResponse({"ok": True, "rule": stored.to_dict()})


@router.post("/automation/rules/{name}/disable", summary="Disable a rule")
def disable(
    name: str = _NAME,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    stored = do_set_rule_enabled(session=session, actor=principal.actor, name=name, enabled=False)
    session.commit()
    return JsonResponse({"ok": True, "rule": stored.to_dict()})


@router.get(
    "/automation/rules/{name}/simulate",
    summary="How many customers the rule would have hit between start and end",
)
def simulate(
    name: str = _NAME,
    start: date = Query(..., description="First UTC day included"),
    end: date = Query(..., description="First UTC day excluded"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    if (end - start).days > 366:
        raise InvalidInput("simulate at most a year at a time")
    with ws.session() as s:
        sim = simulate_rule(s, get_rule(s, name).rule, start=_day(start), end=_day(end),
                            now=utcnow())  # fmt: skip
    return JsonResponse({"ok": True, "simulation": sim.to_dict()})


@router.post("/automation/rules/{name}/dry-run", summary="What the rule would do for a customer")
def try_rule(
    body: DryRun,
    name: str = _NAME,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as s:
        profile_id = resolve_profile_id(s, body.customer)
        result = dry_run(s, get_rule(s, name).rule, profile_id=profile_id, now=utcnow(),
                         event=body.event)  # fmt: skip
    return JsonResponse({"ok": True, "dry_run": result})


@router.get(
    "/automation/rules/{name}/uplift",
    summary="A campaign rule against its holdout: conversion, churn, NPS",
)
def rule_uplift_report(
    name: str = _NAME,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as s:
        report = rule_uplift(s, get_rule(s, name).rule, journey=current_journey_map(s),
                             now=utcnow())  # fmt: skip
    return JsonResponse({"ok": True, "uplift": report.to_dict()})


@router.get(
    "/automation/campaigns/{campaign}/uplift",
    summary="A campaign run elsewhere (Campaign Assigned events) against its holdout",
)
def campaign_uplift_report(
    campaign: str = Path(min_length=1, max_length=200),
    goal_event: str = Query(..., min_length=1, max_length=200, description="Success event"),
    where: list[str] = Query([], description="property:value the goal event must have"),
    days: int = Query(30, ge=1, le=365, description="Window after the assignment"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    conditions = {}
    for item in where:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise InvalidInput(f"where takes property:value, got {item!r}")
        conditions[key] = value
    goal = Goal(goal_event, conditions, days)
    with ws.session() as s:
        report = event_campaign_uplift(s, campaign, goal, journey=current_journey_map(s),
                                       now=utcnow())  # fmt: skip
    return JsonResponse({"ok": True, "uplift": report.to_dict()})


@router.get("/automation/firings", summary="Firings and suppressions, newest first")
def firings(
    rule: str | None = Query(None, max_length=100),
    customer: str | None = Query(None, max_length=320),
    limit: int = Query(100, ge=1, le=1000),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as s:
        profile_id = resolve_profile_id(s, customer) if customer else None
        rows = list_firings(s, rule=rule, profile_id=profile_id, limit=limit)
    return JsonResponse({"ok": True, "firings": rows})


@router.get("/automation/jobs", summary="Action jobs; status=dead lists the dead letters")
def jobs(
    status: str | None = Query(None, description=f"One of {', '.join(JOB_STATUSES)}"),
    rule: str | None = Query(None, max_length=100),
    limit: int = Query(100, ge=1, le=1000),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    if status is not None and status not in JOB_STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(JOB_STATUSES)}")
    with ws.session() as s:
        rows = list_jobs(s, status=status, rule=rule, limit=limit)
    return JsonResponse({"ok": True, "jobs": rows})


@router.post("/automation/jobs/{job_id}/retry", summary="Send a dead letter again")
def retry(
    job_id: int,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    do_retry_job(session=session, actor=principal.actor, job_id=job_id)
    session.commit()
    return JsonResponse({"ok": True, "id": job_id})


@router.get("/profiles/{ref}/consent", summary="Every consent given or withdrawn, with its source")
def customer_consent(
    request: Request,
    ref: str,
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    from cxm.automation.audience import consent_ledger

    with ws.session() as s:
        profile_id = resolve_profile_id(s, ref)
        ledger = consent_ledger(s, profile_id)
    viewed(request, principal, profile_id, "consent")
    return JsonResponse({"ok": True, "profile_id": profile_id, "consent": ledger})


@router.get("/profiles/{ref}/messages", summary="In-app messages automation left for a customer")
def customer_messages(
    request: Request,
    ref: str,
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    with ws.session() as s:
        profile_id = resolve_profile_id(s, ref)
        rows = messages_for(s, profile_id)
    viewed(request, principal, profile_id, "messages")
    return JsonResponse({"ok": True, "profile_id": profile_id, "messages": rows})

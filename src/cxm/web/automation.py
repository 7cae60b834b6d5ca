"""The Automation page: the rules with what they did lately, the campaigns against their
holdouts, the dead letters (retried from here); a page per rule with its definition, firings
and jobs, a simulation over past events, and enable/disable. The Insights page: problems
customers report and what they buy after, ready to act on with a campaign rule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cxm.automation import (
    do_retry_job,
    do_save_rule,
    do_set_rule_enabled,
    get_rule,
    list_rules,
)
from cxm.automation.campaigns import rule_uplift
from cxm.automation.queries import list_firings, list_jobs, rule_stats, simulate_rule
from cxm.errors import CxmError
from cxm.journeys.service import current_journey_map
from cxm.store.metadata import utcnow
from cxm.web.i18n import translator
from cxm.web.session import CSRF_FIELD
from cxm.web.viewer import (
    SignedIn,
    Viewer,
    error_page,
    refuse_change,
    render_page,
    workspace_of,
)

router = APIRouter(include_in_schema=False)


@router.get("/automation", response_class=HTMLResponse)
def automation_page(request: Request, viewer: SignedIn) -> Response:
    return _automation(request, viewer)


@router.post("/automation/rules", response_class=HTMLResponse)
def save_rule(
    request: Request,
    viewer: SignedIn,
    definition: Annotated[str, Form(max_length=100_000)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Save a rule written in YAML on the page (a rule of the same name is replaced)."""
    refused = refuse_change(request, viewer, csrf_token, active="automation",
                             need_write="automation.need_write")  # fmt: skip
    if refused is not None:
        return refused
    try:
        data = yaml.safe_load(definition)
        with workspace_of(request).session() as s:
            stored = do_save_rule(session=s, actor=viewer.principal.actor, data=data,
                                  replace=True)  # fmt: skip
    except yaml.YAMLError as exc:
        return _automation(request, viewer, draft=definition, problems=[f"YAML: {exc}"])
    except CxmError as exc:
        problems = [e.message for e in exc.errors] or [exc.message]
        return _automation(request, viewer, draft=definition, problems=problems)
    return RedirectResponse(f"/automation/rules/{stored.rule.name}", status_code=303)


def _automation(
    request: Request, viewer: Viewer, *, draft: str = "", problems: list[str] | None = None
) -> Response:
    ws = workspace_of(request)
    now = utcnow()
    since = now - timedelta(days=30)
    rows: list[dict[str, Any]] = []
    campaigns: list[dict[str, Any]] = []
    with ws.session() as s:
        journey = current_journey_map(s)
        for stored in list_rules(s):
            rows.append({"r": stored, "stats": rule_stats(s, stored.rule.name, since=since)})
            if stored.rule.campaign is not None:
                report = rule_uplift(s, stored.rule, journey=journey, now=now)
                campaigns.append(report.to_dict())
        dead = list_jobs(s, status="dead", limit=50)
    totals = {"fired": 0, "suppressed": 0, "held_out": 0}
    for row in rows:
        for key in totals:
            totals[key] += int(row["stats"]["firings"].get(key, 0))
    context = {
        "rows": rows,
        "campaigns": campaigns,
        "dead": dead,
        "totals": totals,
        "enabled": sum(1 for r in rows if r["r"].enabled),
        "can_write": viewer.principal.can("write"),
        "draft": draft or EXAMPLE_RULE,
        "problems": problems or [],
    }
    status = 400 if problems else 200
    response = render_page(request, "automation.html", context, viewer=viewer,
                           active="automation")  # fmt: skip
    response.status_code = status
    return response


EXAMPLE_RULE = """name: complaint-follow-up
trigger: {event: Complaint Submitted}
conditions: {traits: {plan: fibre}}
actions:
  - case: {title: "Call back {{ first_name }}", department: customer-success, priority: high}
  - nudge: {message: {pl: "Oddzwonimy dziś", en: "We will call you today"}}
limits:
  per_customer: {count: 1, days: 7}
  quiet_hours: {start: "21:00", end: "08:00", timezone: Europe/Warsaw}
"""


@router.get("/automation/rules/{name}", response_class=HTMLResponse)
def rule_page(
    request: Request, viewer: SignedIn, name: str, start: str = "", end: str = ""
) -> Response:
    ws = workspace_of(request)
    t = translator(viewer.lang)
    now = utcnow()
    simulation = problem = None
    try:
        with ws.session() as s:
            stored = get_rule(s, name)
            stats = rule_stats(s, name, since=now - timedelta(days=30))
            firings = list_firings(s, rule=name, limit=50)
            jobs = list_jobs(s, rule=name, limit=50)
            if start and end:
                try:
                    first = datetime.combine(date.fromisoformat(start), time(), tzinfo=UTC)
                    last = datetime.combine(date.fromisoformat(end), time(), tzinfo=UTC)
                    simulation = simulate_rule(s, stored.rule, start=first, end=last, now=now)
                except ValueError:
                    problem = t("automation.bad_dates", start=start, end=end)
                except CxmError as exc:
                    problem = exc.message
    except CxmError as exc:
        return error_page(request, exc.http_status, exc.message, viewer, "automation")
    context = {
        "r": stored,
        "yaml": yaml.safe_dump(stored.rule.source, allow_unicode=True, sort_keys=False),
        "stats": stats,
        "firings": firings,
        "jobs": jobs,
        "simulation": simulation,
        "problem": problem,
        "start": start or (now - timedelta(days=30)).date().isoformat(),
        "end": end or (now + timedelta(days=1)).date().isoformat(),
        "can_write": viewer.principal.can("write"),
    }
    return render_page(request, "automation_rule.html", context, viewer=viewer,
                       active="automation")  # fmt: skip


@router.post("/automation/rules/{name}/switch", response_class=HTMLResponse)
def switch_rule(
    request: Request,
    viewer: SignedIn,
    name: str,
    enabled: Annotated[str, Form(max_length=8)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    refused = refuse_change(request, viewer, csrf_token, active="automation",
                             need_write="automation.need_write")  # fmt: skip
    if refused is not None:
        return refused
    try:
        with workspace_of(request).session() as s:
            do_set_rule_enabled(session=s, actor=viewer.principal.actor, name=name,
                                enabled=enabled == "true")  # fmt: skip
    except CxmError as exc:
        return error_page(request, exc.http_status, exc.message, viewer, "automation")
    return RedirectResponse(f"/automation/rules/{name}", status_code=303)


@router.post("/automation/jobs/{job_id}/retry", response_class=HTMLResponse)
def retry_job(
    request: Request,
    viewer: SignedIn,
    job_id: int,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    refused = refuse_change(request, viewer, csrf_token, active="automation",
                             need_write="automation.need_write")  # fmt: skip
    if refused is not None:
        return refused
    try:
        with workspace_of(request).session() as s:
            do_retry_job(session=s, actor=viewer.principal.actor, job_id=job_id)
    except CxmError as exc:
        return error_page(request, exc.http_status, exc.message, viewer, "automation")
    return RedirectResponse("/automation", status_code=303)

"""Automation over the real API on both stores: rules in YAML or JSON with every problem
listed, a dry run that fills in each action without sending, a simulation over last month's
events that matches a count by hand, firings, dead letters retried, in-app messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from cxm.auth.service import do_create_token
from cxm.store.metadata import utcnow
from cxm.workspace import Workspace
from helpers import bearer, journeys_for

pytestmark = pytest.mark.anyio
YAML = {"content-type": "application/yaml"}

RULE = """
name: detractor-callback
description: Call back detractors on fibre
trigger: {score: {kind: nps, below: 7}}
conditions: {traits: {plan: fibre}}
actions:
  - case: {title: "Call back {{ first_name }} (NPS {{ event.properties.score }})",
           department: customer-success, priority: high}
  - nudge: {message: {pl: "Dziękujemy, {{ first_name }}", en: "Thank you, {{ first_name }}"}}
limits: {per_customer: {count: 1, days: 30}}
"""

BROKEN = """
name: Bad Name
trigger: {event: X, score: {kind: nps, below: 7}}
actions:
  - email: {subject: "Hi {{ name ", body: {de: Hallo}}
  - sms: {text: hi}
  - nudge: {message: "Hi {{ frist_name }}"}
  - webhook: {url: "http://127.0.0.1:8000/v1/batch"}
limits: {quiet_hours: {start: "25:00", end: "08:00", timezone: Mars/Base}}
"""


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def answers() -> dict[str, list[dict[str, Any]]]:
    """Six weeks of NPS answers: by hand, three detractors on fibre in the last 30 days, one
    of them twice (the cap of one in 30 days holds the second back)."""
    now = utcnow()

    def day(n: float) -> str:
        return (now - timedelta(days=n)).isoformat()

    def nps(n: float, score: int) -> dict[str, Any]:
        return {"event": "Survey Answered", "channel": "survey", "at": day(n),
                "properties": {"kind": "nps", "score": score}}  # fmt: skip

    fibre = {"type": "identify", "at": day(60), "traits": {"plan": "fibre", "language": "pl",
                                                            "firstName": "Ania"}}  # fmt: skip
    return {
        "ania": [fibre, nps(20, 3), nps(10, 2)],
        "bob": [{**fibre, "traits": {"plan": "fibre", "language": "en", "firstName": "Bob"}},
                nps(5, 6)],
        "cyryl": [fibre, nps(3, 0)],
        "dora": [fibre, nps(40, 1)],  # before the month
        "ewa": [fibre, nps(7, 9)],  # a promoter
        "filip": [{**fibre, "traits": {"plan": "mobile"}}, nps(8, 2)],  # not on fibre
    }  # fmt: skip


async def test_rules_dry_run_simulation_and_firings(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace
) -> None:
    auth = bearer(admin_token)
    bad = await api.post("/api/automation/rules", content=BROKEN.encode(), headers={**auth, **YAML})
    assert bad.status_code == 400
    problems = [e["message"] for e in bad.json()["errors"]]
    for needle in ("name", "exactly one of", "template error", "unknown language", "sms",
                   "HH:MM", "Mars/Base", "unknown variable(s) frist_name"):  # fmt: skip
        assert any(needle in p for p in problems), (needle, problems)
    # A webhook into a tracking API from an event rule would feed the rule its own trigger.
    loop = {"name": "echo", "trigger": {"event": "Order Placed"},
            "actions": [{"webhook": {"url": "https://cxm.example/v1/track"}}]}  # fmt: skip
    looped = await api.post("/api/automation/rules", json=loop, headers=auth)
    assert looped.status_code == 400 and "loop" in looped.json()["message"]
    made = await ok(
        await api.post("/api/automation/rules", content=RULE.encode(), headers={**auth, **YAML}),
        201,
    )
    assert made["rule"]["enabled"] and made["rule"]["version"] == 1
    again = await api.post("/api/automation/rules", content=RULE.encode(), headers={**auth, **YAML})
    assert again.status_code == 409

    ids = journeys_for(workspace, answers())
    today = utcnow().date()
    month = f"start={today - timedelta(days=30)}&end={today + timedelta(days=1)}"
    sim = (await ok(await api.get(f"/api/automation/rules/detractor-callback/simulate?{month}",
                                  headers=auth)))["simulation"]  # fmt: skip
    # Detractor answers in the window: ania ×2, bob, cyryl, filip (ewa is a promoter).
    assert sim["triggers"] == 5 and sim["skipped"] == 1
    assert sim["would_fire"] == 3 and sim["customers_hit"] == 3
    assert sim["suppressed"] == {"frequency cap": 1}

    dry = (await ok(await api.post(
        "/api/automation/rules/detractor-callback/dry-run",
        json={"customer": "bob", "event": {"name": "Survey Answered",
                                           "properties": {"kind": "nps", "score": 6}}},
        headers=auth)))["dry_run"]  # fmt: skip
    assert dry["decision"] == "fire" and dry["trigger_matches"] is True
    assert dry["actions"][0]["title"] == "Call back Bob (NPS 6)"
    assert dry["actions"][1]["message"] == "Thank you, Bob"

    # Live: only the recent answers fire (older than a day when first seen: history).
    report = workspace.automation.run_once()
    assert report["fired"] == 0 and report["too_old"] == 6
    journeys_for(workspace, {"bob": [{"event": "Survey Answered", "channel": "survey",
                                      "at": utcnow().isoformat(),
                                      "properties": {"kind": "nps", "score": 4}}]},
                 source="live")  # fmt: skip
    report = workspace.automation.run_once()
    assert report["fired"] == 1 and report["done"] == 2
    firings = await ok(await api.get("/api/automation/firings?customer=bob", headers=auth))
    assert [f["profile_id"] for f in firings["firings"]] == [ids["bob"]]
    messages = await ok(await api.get("/api/profiles/bob/messages", headers=auth))
    assert [m["message"] for m in messages["messages"]] == ["Thank you, Bob"]
    cases = await ok(await api.get("/api/cases?customer=bob", headers=auth))
    assert cases["cases"][0]["title"] == "Call back Bob (NPS 4)"
    listed = await ok(await api.get("/api/automation/rules", headers=auth))
    assert listed["rules"][0]["last_30_days"]["firings"] == {"fired": 1}

    # A reader can look and try, not change.
    with workspace.session() as s:
        _, reader = do_create_token(s, actor="test", name="analyst", scopes=("read",))
    denied = await api.post("/api/automation/rules/detractor-callback/disable",
                            headers=bearer(reader))  # fmt: skip
    assert denied.status_code == 403
    off = await ok(await api.post("/api/automation/rules/detractor-callback/disable", headers=auth))
    assert off["rule"]["enabled"] is False


async def test_dead_letters_are_listed_and_retried(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace
) -> None:
    auth = bearer(admin_token)
    rule = {"name": "mail-them", "trigger": {"event": "Complaint Submitted"},
            "actions": [{"email": {"subject": "Hi", "body": "Hello"}}]}  # fmt: skip
    await ok(await api.post("/api/automation/rules", json=rule, headers=auth), 201)
    # No e-mail address on the profile: the action cannot succeed, it is dead at once.
    journeys_for(workspace, {"zoe": [{"event": "Complaint Submitted", "channel": "web",
                                      "at": utcnow().isoformat()}]})  # fmt: skip
    workspace.automation.run_once()
    dead = await ok(await api.get("/api/automation/jobs?status=dead", headers=auth))
    (job,) = dead["jobs"]
    assert "no e-mail address" in job["last_error"]
    retried = await ok(await api.post(f"/api/automation/jobs/{job['id']}/retry", headers=auth))
    assert retried["id"] == job["id"]
    pending = await ok(await api.get("/api/automation/jobs?status=pending", headers=auth))
    assert [j["id"] for j in pending["jobs"]] == [job["id"]]
    twice = await api.post(f"/api/automation/jobs/{job['id']}/retry", headers=auth)
    assert twice.status_code == 409
    bad = await api.get("/api/automation/jobs?status=lost", headers=auth)
    assert bad.status_code == 400 and "lost" in bad.json()["message"]

"""Departments, on both stores: an agent held to a department reaches only the customers it
serves (profiles, timelines, cases, changes), a viewer held to one reads only its own
department's view, roles that see everything cannot be held; the department view puts the
employees' eNPS beside the CX of the touchpoints the department owns, month by month, and
finds a planted link with an honest interval (and none where there is no link)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cxm.auth import do_create_token
from cxm.cases import do_open_case
from cxm.errors import InvalidInput
from cxm.journeys.map import telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.metrics.departments import MIN_MONTHS, department_view
from cxm.surveys import do_answer, do_invite_batch, do_save_survey
from cxm.workspace import Workspace
from helpers import bearer, journeys_for

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 6, 15, tzinfo=UTC)


def with_map(workspace: Workspace) -> None:
    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test")


def token(workspace: Workspace, role: str, department: str | None = None) -> str:
    from cxm.auth import ROLES

    with workspace.session() as s:
        _, plain = do_create_token(s, actor="test", name=f"{role}-{department}",
                                   scopes=ROLES[role], department=department)  # fmt: skip
    return plain


async def test_a_held_agent_reaches_only_the_customers_its_department_serves(
    workspace: Workspace, api: httpx.AsyncClient, admin_token: str
) -> None:
    with_map(workspace)
    ids = journeys_for(workspace, {
        "ania": [{"type": "identify", "at": NOW.isoformat(),
                  "traits": {"email": "ania@example.pl", "phone": "+48601234567"}}],
        "bartek": [{"type": "identify", "at": NOW.isoformat(),
                    "traits": {"email": "bartek@example.pl"}}],
    })  # fmt: skip
    with workspace.session() as s:
        mine = do_open_case(session=s, actor="test", policy=workspace.case_policy,
                            profile_id=ids["ania"], title="Brak internetu",
                            department="network")  # fmt: skip
        theirs = do_open_case(session=s, actor="test", policy=workspace.case_policy,
                              profile_id=ids["bartek"], title="Faktura",
                              department="billing")  # fmt: skip
    agent = bearer(token(workspace, "agent", "network"))

    assert (await api.get(f"/api/profiles/{ids['ania']}", headers=agent)).status_code == 200
    refused = await api.get(f"/api/profiles/{ids['bartek']}", headers=agent)
    assert refused.status_code == 403 and "network" in refused.json()["message"]
    for path in (f"/api/profiles/{ids['bartek']}/timeline", f"/api/cases/{theirs.ref}",
                 "/api/profiles/bartek@example.pl/cases"):  # fmt: skip
        assert (await api.get(path, headers=agent)).status_code == 403, path
    inbox = await api.get("/api/cases", headers=agent)
    assert [c["ref"] for c in inbox.json()["cases"]] == [mine.ref]
    everyone = await api.get("/api/cases", headers=bearer(admin_token))
    assert everyone.json()["total"] == 2
    # Changing: its own case, even handing it over; not another department's.
    moved = await api.patch(f"/api/cases/{mine.ref}", headers=agent,
                            json={"department": "field-service", "note": "technik"})  # fmt: skip
    assert moved.status_code == 200
    assert (await api.get(f"/api/cases/{mine.ref}", headers=agent)).status_code == 200
    other = await api.patch(f"/api/cases/{theirs.ref}", headers=agent, json={"note": "x"})
    assert other.status_code == 403
    opened = await api.post("/api/cases", headers=agent,
                            json={"customer": "bartek@example.pl", "title": "Awaria"})  # fmt: skip
    assert opened.status_code == 201 and opened.json()["case"]["department"] == "network"
    assert (await api.get(f"/api/profiles/{ids['bartek']}", headers=agent)).status_code == 200
    elsewhere = await api.post("/api/cases", headers=agent, json={
        "customer": "bartek@example.pl", "title": "Inna", "department": "billing"})  # fmt: skip
    assert elsewhere.status_code == 403
    # An agent held to no department reaches everyone, as before.
    free = bearer(token(workspace, "agent"))
    assert (await api.get(f"/api/profiles/{ids['bartek']}", headers=free)).status_code == 200


async def test_a_held_viewer_reads_only_its_own_department(
    workspace: Workspace, api: httpx.AsyncClient
) -> None:
    with_map(workspace)
    journeys_for(workspace, {"ania": [{"event": "Plan Viewed", "at": NOW.isoformat()}]})
    viewer = bearer(token(workspace, "viewer", "network"))
    own = await api.get("/api/departments/network", headers=viewer)
    assert own.status_code == 200, own.text
    body = own.json()["department"]
    assert body["id"] == "network" and body["touchpoints"]
    assert {t["weight"] for t in body["touchpoints"]} <= {1.0} | {
        float(w) for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)}  # fmt: skip
    for path in ("/api/departments/billing", "/api/departments", "/api/metrics/catalogue",
                 "/api/metrics/nps", "/api/insights/drivers"):  # fmt: skip
        answer = await api.get(path, headers=viewer)
        assert answer.status_code in (403, 404), (path, answer.status_code)
        if answer.status_code == 403:
            assert "held to the department 'network'" in answer.json()["message"]
    assert (await api.get("/api/departments/billing", headers=viewer)).status_code == 403
    anyone = bearer(token(workspace, "viewer"))
    listed = await api.get("/api/departments", headers=anyone)
    assert listed.status_code == 200
    assert {d["id"] for d in listed.json()["departments"]} >= {"network", "billing"}
    unknown = await api.get("/api/departments/nowhere", headers=anyone)
    assert unknown.status_code == 404 and "its departments are" in unknown.json()["message"]


def test_roles_that_see_everything_cannot_be_held(workspace: Workspace) -> None:
    with_map(workspace)
    with workspace.session() as s:
        with pytest.raises(InvalidInput, match="admins and analysts see every department"):
            do_create_token(s, actor="test", name="a", scopes=("read", "write", "pii"),
                            department="network")  # fmt: skip
        with pytest.raises(InvalidInput, match="no department 'nowhere'"):
            do_create_token(s, actor="test", name="b", scopes=("aggregates",),
                            department="nowhere")  # fmt: skip


def _month(i: int) -> datetime:
    return datetime(2025, 11 + i, 5, tzinfo=UTC) if i < 2 else datetime(2026, i - 1, 5, tzinfo=UTC)


def _plant(workspace: Workspace, months: int, linked: bool) -> None:
    """``months`` months of CSAT answers about the call centre's calls and of its staff's
    eNPS; with ``linked`` the staff's mood follows the month's CSAT."""
    rng = random.Random(3)
    with_map(workspace)
    people: dict[str, list[dict[str, Any]]] = {}
    moods = []
    for i in range(months):
        level = rng.choice([2, 3, 4, 5])
        moods.append(level if linked else rng.choice([2, 3, 4, 5]))
        for j in range(8):
            people.setdefault(f"c{j}", []).append({
                "event": "Survey Answered", "at": (_month(i) + timedelta(hours=j)).isoformat(),
                "properties": {"kind": "csat", "score": max(1, min(5, level + rng.choice(
                    [-1, 0, 0, 1]))), "touchpoint": "calls"}})  # fmt: skip
    journeys_for(workspace, people)
    with workspace.session() as s:
        do_save_survey(session=s, actor="test", data={
            "id": "pulse", "name": "Pulse", "kind": "nps", "audience": "employee",
            "anonymous": True, "languages": ["pl"]})  # fmt: skip
        for i, mood in enumerate(moods):
            sent = _month(i)
            outcomes = do_invite_batch(session=s, actor="test", survey="pulse",
                                       departments=["call-centre"] * 6, now=sent)  # fmt: skip
            for k, outcome in enumerate(outcomes):
                assert outcome.token is not None
                score = max(0, min(10, mood * 2 + rng.choice([-1, 0, 1])))
                do_answer(session=s, token=outcome.token, answers={"score": score},
                          now=sent + timedelta(hours=k + 1))  # fmt: skip


@pytest.mark.parametrize("linked", [True, False])
def test_the_view_sets_ex_beside_cx_month_by_month(workspace: Workspace, linked: bool) -> None:
    _plant(workspace, months=8, linked=linked)
    with workspace.session() as s:
        view = department_view(workspace.query_engine(), workspace.journey_map(), s,
                               "call-centre", months=8, min_sample=5)  # fmt: skip
    assert [m.month for m in view.monthly][:2] == ["2025-11", "2025-12"]
    assert all(m.cx.n == 8 and m.ex.n == 6 for m in view.monthly)
    link = view.link
    assert link.cx_metric == "csat" and link.months == 8
    assert link.r is not None and link.low is not None and link.high is not None
    assert link.low <= link.r <= link.high
    if linked:
        assert link.r > 0.7 and link.low > 0 and link.p_value is not None
        assert link.p_value < 0.05
    else:
        assert link.low < 0.3  # no planted link: the interval does not claim a strong one
    calls = next(t for t in view.touchpoints if t.id == "calls")
    assert calls.weight == 1.0 and calls.readings["csat"].n == 64
    assert view.ex.n == 48 and view.ex.estimate is not None


def test_too_few_months_give_no_coefficient(workspace: Workspace) -> None:
    _plant(workspace, months=MIN_MONTHS - 1, linked=True)
    with workspace.session() as s:
        view = department_view(workspace.query_engine(), workspace.journey_map(), s,
                               "call-centre", months=MIN_MONTHS - 1, min_sample=5)  # fmt: skip
        small = department_view(workspace.query_engine(), workspace.journey_map(), s,
                                "call-centre", months=MIN_MONTHS - 1)  # fmt: skip
    assert view.link.r is None and f"at least {MIN_MONTHS}" in (view.link.reason or "")
    # With the default minimum sample (30 answers), 6 staff answers a month are never shown.
    assert all(m.ex.estimate is None for m in small.monthly)
    assert small.ex.estimate is None or small.ex.n >= 30


def test_the_cli_prints_the_departments(workspace: Workspace) -> None:
    import subprocess
    import sys

    _plant(workspace, months=8, linked=True)
    env = {"CXM_WORKSPACE": str(workspace.path), "PATH": "/usr/bin:/bin"}
    if workspace.settings.database_url:
        env["CXM_DATABASE_URL"] = workspace.settings.database_url
    listed = subprocess.run([sys.executable, "-m", "cxm", "metrics", "departments"], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "call-centre" in listed.stdout and "billing" in listed.stdout
    one = subprocess.run([sys.executable, "-m", "cxm", "metrics", "departments", "call-centre",
                          "--months", "8", "--cx-metric", "csat"], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert "csat beside eNPS" in one.stdout
    unknown = subprocess.run([sys.executable, "-m", "cxm", "metrics", "departments", "nowhere"],
                             env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    said = " ".join((unknown.stdout + unknown.stderr).split())
    assert unknown.returncode != 0 and "its departments are" in said

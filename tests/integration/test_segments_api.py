"""Segments through the API, and sending a survey to one: members by traits and activity,
every problem of a bad filter listed, counts of sent / suppressed / rejected, nothing lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cxm.audit import list_actions
from cxm.segments.tables import segments
from cxm.store.metadata import utcnow
from cxm.surveys.tables import survey_invitations
from cxm.workspace import Workspace
from helpers import basic, bearer

pytestmark = pytest.mark.anyio

YAML = {"Content-Type": "application/yaml"}

FIBRE = {"name": "fibre-krakow", "traits": {"plan": "fibre", "city": {"one_of": ["Kraków"]}}}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def people(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> dict[str, str]:
    """Four customers: three on fibre (one in Gdańsk, one not seen for a year), one on mobile."""
    now = utcnow()
    customers = {
        "ania": ({"plan": "fibre", "city": "Kraków", "email": "ania@example.pl"}, now),
        "bartek": ({"plan": "fibre", "city": "Kraków"}, now - timedelta(days=400)),
        "celina": ({"plan": "fibre", "city": "Gdańsk", "email": "celina@example.pl"}, now),
        "darek": ({"plan": "mobile", "city": "Kraków"}, now),
    }
    batch = [
        {"type": "identify", "userId": f"u-{name}", "traits": traits, "timestamp": at.isoformat()}
        for name, (traits, at) in customers.items()
    ]
    response = await api.post(
        "/v1/batch", json={"batch": batch}, headers=basic(write_keys["website"])
    )
    assert response.status_code == 200 and not response.json()["rejected"], response.text
    workspace.catch_up()
    return {name: workspace.profile(f"u-{name}").id for name in customers}


def count(workspace: Workspace, table: Any) -> int:
    with workspace.session() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


async def test_segments_are_checked_saved_and_counted(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, people: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    assert (await api.post("/api/segments", json=FIBRE)).status_code == 401
    created = await ok(await api.post("/api/segments", json=FIBRE, headers=auth), 201)
    assert created["segment"] == {
        "name": "fibre-krakow",
        "traits": {"plan": {"equals": "fibre"}, "city": {"one_of": ["Kraków"]}},
        "active_days": None,
    }
    one = await ok(await api.get("/api/segments/fibre-krakow", headers=auth))
    assert one["members"] == 2
    members = await ok(await api.get("/api/segments/fibre-krakow/members", headers=auth))
    assert sorted(members["profiles"]) == sorted([people["ania"], people["bartek"]])

    taken = await ok(await api.post("/api/segments", json=FIBRE, headers=auth), 409)
    assert "exists already" in taken["message"]

    active = "traits:\n  plan: fibre\n  email: {exists: true}\nactive_days: 30\n"
    replaced = await ok(
        await api.put(
            "/api/segments/fibre-krakow", content=active.encode(), headers={**auth, **YAML}
        )
    )
    assert replaced["segment"]["active_days"] == 30
    members = await ok(await api.get("/api/segments/fibre-krakow/members", headers=auth))
    assert sorted(members["profiles"]) == sorted([people["ania"], people["celina"]])
    missing = {"name": "no-email", "traits": {"email": {"exists": False}}}
    await ok(await api.post("/api/segments", json=missing, headers=auth), 201)
    members = await ok(await api.get("/api/segments/no-email/members", headers=auth))
    assert sorted(members["profiles"]) == sorted([people["bartek"], people["darek"]])

    listed = await ok(await api.get("/api/segments", headers=auth))
    assert [s["segment"]["name"] for s in listed["segments"]] == ["fibre-krakow", "no-email"]
    gone = await ok(await api.get("/api/segments/nope", headers=auth), 404)
    assert "no segment 'nope'" in gone["message"]
    with workspace.session() as session:
        saved = [(a.action, a.subject) for a in list_actions(session, action="segment.")]
    assert saved == [
        ("segment.created", "no-email"),
        ("segment.replaced", "fibre-krakow"),
        ("segment.created", "fibre-krakow"),
    ]


async def test_bad_filters_are_refused_with_every_problem_and_nothing_saved(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, people: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    bad = {
        "name": "Fibre Customers",
        "traits": {
            "plan": ["fibre", "tv"],
            "city": {"one_of": []},
            "email": {"exists": "yes"},
            "age": {"greater_than": 30},
            "vip": None,
        },
        "active_days": 0,
        "colour": "red",
    }
    refused = await ok(await api.post("/api/segments", json=bad, headers=auth), 400)
    assert refused["code"] == "invalid_segment"
    assert {tuple(e["loc"]) for e in refused["errors"]} == {
        ("colour",),
        ("name",),
        ("traits", "plan"),
        ("traits", "city", "one_of"),
        ("traits", "email", "exists"),
        ("traits", "age"),
        ("traits", "vip"),
        ("active_days",),
    }
    messages = " | ".join(e["message"] for e in refused["errors"])
    assert "write {one_of: [...]}" in messages and "{exists: false}" in messages
    everyone = await ok(await api.post("/api/segments", json={"name": "all"}, headers=auth), 400)
    assert "every customer" in everyone["message"]
    renamed = await ok(await api.put("/api/segments/other", json=FIBRE, headers=auth), 400)
    assert "saved as 'other'" in renamed["message"]
    for body in (b"", b"[]", b"{", b"\xff", b'"text"'):
        response = await api.post(
            "/api/segments", content=body, headers={**auth, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, (body, response.text)
    assert count(workspace, segments) == 0


async def test_a_survey_goes_to_its_segment_with_the_fatigue_rule(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, people: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    survey = {
        "id": "csat-fibre",
        "kind": "csat",
        "languages": ["en"],
        "trigger": {"segment": "fibre"},
    }
    early = await ok(await api.post("/api/surveys", json=survey, headers=auth), 400)
    assert early["errors"][0]["loc"] == ["trigger", "segment"]
    assert "no segment 'fibre'" in early["message"] and "create it first" in early["message"]

    await ok(
        await api.post(
            "/api/segments", json={"name": "fibre", "traits": {"plan": "fibre"}}, headers=auth
        ),
        201,
    )
    await ok(await api.post("/api/surveys", json=survey, headers=auth))
    await ok(
        await api.post(
            "/api/surveys", json={"id": "nps-all", "kind": "nps", "languages": ["en"]}, headers=auth
        )
    )
    before = await ok(
        await api.post(
            "/api/surveys/nps-all/invitations", json={"profiles": ["u-celina"]}, headers=auth
        )
    )
    assert before["sent"] == 1

    sent = await ok(await api.post("/api/surveys/csat-fibre/send", headers=auth))
    assert (sent["segment"], sent["members"]) == ("fibre", 3)
    assert (sent["sent"], sent["suppressed"], sent["rejected"]) == (2, 1, 0)
    by_profile = {o["profile_id"]: o for o in sent["outcomes"]}
    assert by_profile[people["celina"]]["status"] == "suppressed"
    assert by_profile[people["ania"]]["token"]
    again = await ok(await api.post("/api/surveys/csat-fibre/send", headers=auth))
    assert (again["sent"], again["suppressed"]) == (0, 3)
    counts = await ok(await api.get("/api/surveys/csat-fibre", headers=auth))
    assert counts["invitations"]["sent"] == 2 and counts["invitations"]["suppressed"] == 4
    with workspace.session() as session:
        (action,) = list_actions(session, action="survey.sent_to_segment", limit=1)
    assert action.details["members"] == 3


async def test_sending_refuses_clearly_and_invites_nobody(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, people: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    await ok(await api.post("/api/segments", json=FIBRE, headers=auth), 201)
    missing = await ok(await api.post("/api/surveys/nope/send", headers=auth), 404)
    assert "no survey 'nope'" in missing["message"]
    await ok(
        await api.post(
            "/api/surveys", json={"id": "manual", "kind": "nps", "languages": ["en"]}, headers=auth
        )
    )
    manual = await ok(await api.post("/api/surveys/manual/send", headers=auth), 400)
    assert "not sent to a segment" in manual["message"]
    employees = {
        "id": "enps",
        "kind": "nps",
        "audience": "employee",
        "languages": ["en"],
        "trigger": {"segment": "fibre-krakow"},
    }
    refused = await ok(await api.post("/api/surveys", json=employees, headers=auth), 400)
    assert refused["errors"][0]["loc"] == ["trigger"] and "employee survey" in refused["message"]
    assert count(workspace, survey_invitations) == 0

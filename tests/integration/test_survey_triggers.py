"""Touchpoint triggers through the real API and store: a survey with
``trigger: {after_touchpoint: repair}`` invites once per repair event, across reruns and after a
crash, with the fatigue rule across surveys, and never for a Survey Answered event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from cxm.audit import list_actions
from cxm.cli.surveys import run_survey_jobs
from cxm.journeys import telecom_yaml
from cxm.store.metadata import utcnow
from cxm.store.tables import cursors
from cxm.surveys import run_survey_triggers, trigger_mark
from cxm.surveys import triggers as trigger_module
from cxm.surveys.tables import survey_invitations
from cxm.workspace import Workspace
from helpers import basic, bearer

pytestmark = pytest.mark.anyio

YAML = {"Content-Type": "application/yaml"}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def repair_survey(survey_id: str = "nps-after-repair", **changes: Any) -> dict[str, Any]:
    return {
        "id": survey_id,
        "kind": "nps",
        "languages": ["en", "pl"],
        "trigger": {"after_touchpoint": "repair"},
        "reminder_days": 3,
    } | changes


def repair(user: str, *, case: Any = None, at: datetime | None = None, **extra: Any) -> dict:
    event: dict[str, Any] = {
        "type": "track",
        "userId": user,
        "event": "Repair Completed",
        "timestamp": (at or utcnow()).isoformat(),
        "context": {"channel": "field_service"},
        "properties": {} if case is None else {"case_ref": case},
    }
    return event | extra


async def send(api: httpx.AsyncClient, key: str, *events: dict[str, Any]) -> None:
    response = await api.post("/v1/batch", json={"batch": list(events)}, headers=basic(key))
    assert response.status_code == 200 and not response.json()["rejected"], response.text


@pytest.fixture
async def setup(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> dict[str, str]:
    """The telecom journey map and three customers (Ania speaks Polish, Bartek Russian)."""
    await ok(
        await api.put(
            "/api/journey", content=telecom_yaml().encode(), headers={**bearer(admin_token), **YAML}
        )
    )
    people = [
        {"userId": "u-ania", "traits": {"email": "ania@example.pl", "language": "pl"}},
        {"userId": "u-bartek", "traits": {"locale": "ru-RU"}},
        {"userId": "u-celina", "traits": {"locale": "pl_PL"}},
    ]
    at = (utcnow() - timedelta(days=1)).isoformat()
    await send(
        api, write_keys["website"], *({"type": "identify", "timestamp": at} | p for p in people)
    )
    workspace.catch_up()
    return {p["userId"]: workspace.profile(p["userId"]).id for p in people}


async def save(api: httpx.AsyncClient, token: str, data: dict[str, Any]) -> dict[str, Any]:
    return await ok(await api.post("/api/surveys", json=data, headers=bearer(token)))


def run(workspace: Workspace, *, fatigue_days: int = 30, **options: Any) -> Any:
    workspace.catch_up()
    return run_survey_triggers(
        workspace.session, fatigue_days=fatigue_days, max_age_days=7, **options
    )


def invitations(workspace: Workspace) -> list[dict[str, Any]]:
    with workspace.session() as session:
        rows = session.execute(
            select(survey_invitations).order_by(
                survey_invitations.c.event_seq, survey_invitations.c.survey_id
            )
        )
        return [dict(r._mapping) for r in rows]


async def test_each_repair_invites_once_linked_to_touchpoint_case_and_language(
    api: httpx.AsyncClient,
    workspace: Workspace,
    admin_token: str,
    write_keys: dict[str, str],
    setup: dict[str, str],
) -> None:
    await save(api, admin_token, repair_survey())
    await send(
        api,
        write_keys["call-centre"],
        repair("u-ania", case="C-17"),
        repair("u-bartek", case=4711),
        repair("u-celina"),
        repair("u-ania", event="Technician Visit"),  # another touchpoint: no survey waits
    )
    first = run(workspace, fatigue_days=0)
    assert (first.events, first.sent, first.suppressed, first.rejected) == (3, 3, 0, 0)
    stored = invitations(workspace)
    assert [(i["profile_id"], i["case_ref"], i["language"]) for i in stored] == [
        (setup["u-ania"], "C-17", "pl"),  # trait language
        (setup["u-bartek"], "4711", "en"),  # ru-RU: the survey has no Russian, so its first
        (setup["u-celina"], None, "pl"),  # locale pl_PL
    ]
    assert {i["touchpoint"] for i in stored} == {"repair"}
    assert {i["status"] for i in stored} == {"sent"} and len({i["event_seq"] for i in stored}) == 3
    assert {i["actor"] for i in stored} == {"system:survey-triggers"}

    again = run(workspace, fatigue_days=0)
    assert (again.events, again.sent) == (0, 0)
    assert len(invitations(workspace)) == 3

    # A later repair of Ania's is a new event: a new invitation (fatigue off here).
    await send(api, write_keys["call-centre"], repair("u-ania", case="C-18"))
    later = run(workspace, fatigue_days=0)
    assert later.sent == 1
    assert [i["case_ref"] for i in invitations(workspace)] == ["C-17", "4711", None, "C-18"]
    with workspace.session() as session:
        assert trigger_mark(session) == later.position > 0

    # The invitation is answerable like any other: the API lists it with its trigger event.
    listed = await ok(
        await api.get("/api/surveys/nps-after-repair/invitations", headers=bearer(admin_token))
    )
    assert len(listed["invitations"]) == 4
    assert all(i["event_seq"] is not None for i in listed["invitations"])


async def test_a_crash_mid_run_and_a_rerun_invite_each_event_once(
    api: httpx.AsyncClient,
    workspace: Workspace,
    admin_token: str,
    write_keys: dict[str, str],
    setup: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await save(api, admin_token, repair_survey())
    await send(
        api,
        write_keys["call-centre"],
        *(repair(user, case=f"C-{i}") for i, user in enumerate(["u-ania", "u-bartek"] * 3)),
    )
    real_invite = trigger_module.do_invite
    calls = 0

    def crashing_invite(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 4:  # in the second batch of two
            raise RuntimeError("the power went out")
        return real_invite(**kwargs)

    monkeypatch.setattr(trigger_module, "do_invite", crashing_invite)
    with pytest.raises(RuntimeError, match="power"):
        run(workspace, fatigue_days=0, batch=2)
    survived = invitations(workspace)
    assert [i["case_ref"] for i in survived] == ["C-0", "C-1"]  # the first batch only
    with workspace.session() as session:
        assert trigger_mark(session) == survived[-1]["event_seq"]

    monkeypatch.setattr(trigger_module, "do_invite", real_invite)
    rerun = run(workspace, fatigue_days=0, batch=2)
    assert rerun.sent == 4
    stored = invitations(workspace)
    assert [i["case_ref"] for i in stored] == [f"C-{i}" for i in range(6)]

    # Even with the mark moved back by hand, no event invites twice.
    with workspace.session() as session:
        session.execute(
            update(cursors).where(cursors.c.name == "survey-triggers").values(position=0)
        )
    replay = run(workspace, fatigue_days=0, batch=2)
    assert (replay.events, replay.already, replay.sent, replay.suppressed) == (6, 6, 0, 0)
    assert len(invitations(workspace)) == 6


async def test_fatigue_holds_across_surveys_and_a_refusal_is_recorded_now(
    api: httpx.AsyncClient,
    workspace: Workspace,
    admin_token: str,
    write_keys: dict[str, str],
    setup: dict[str, str],
) -> None:
    await save(api, admin_token, repair_survey())
    await save(api, admin_token, {"id": "csat-calls", "kind": "csat", "languages": ["en"]})
    manual = await ok(
        await api.post(
            "/api/surveys/csat-calls/invitations",
            json={"profiles": ["u-ania"]},
            headers=bearer(admin_token),
        )
    )
    assert manual["sent"] == 1
    before = utcnow()
    await send(
        api, write_keys["call-centre"], repair("u-ania"), repair("u-bartek"), repair("u-bartek")
    )
    report = run(workspace, fatigue_days=30)
    assert (report.sent, report.suppressed) == (1, 2)
    triggered = [i for i in invitations(workspace) if i["survey_id"] == "nps-after-repair"]
    assert [(i["profile_id"], i["status"]) for i in triggered] == [
        (setup["u-ania"], "suppressed"),
        (setup["u-bartek"], "sent"),
        (setup["u-bartek"], "suppressed"),  # the second repair, right after the first
    ]
    assert "'csat-calls'" in triggered[0]["reason"] and "fatigue" in triggered[0]["reason"]
    assert "'nps-after-repair'" in triggered[2]["reason"]
    assert all(i["created_at"] >= before for i in triggered)
    counts = await ok(await api.get("/api/surveys/nps-after-repair", headers=bearer(admin_token)))
    assert counts["invitations"]["sent"] == 1 and counts["invitations"]["suppressed"] == 2


async def test_survey_answered_events_never_trigger_a_survey(
    api: httpx.AsyncClient,
    workspace: Workspace,
    admin_token: str,
    write_keys: dict[str, str],
    setup: dict[str, str],
) -> None:
    # A map whose one touchpoint takes every track event, Survey Answered included.
    catch_all = (
        "journey: Catch-all\n"
        "departments:\n  cx: {name: CX, lead: Anna Zając}\n"
        "stages:\n  - {id: all, name: All}\n"
        "touchpoints:\n"
        "  - {id: anything, name: Anything, stage: all, match: {type: track}, owner: cx,\n"
        "     influence: {cx: 1}}\n"
    )
    await ok(
        await api.put(
            "/api/journey", content=catch_all.encode(), headers={**bearer(admin_token), **YAML}
        )
    )
    await save(
        api, admin_token, repair_survey("after-anything", trigger={"after_touchpoint": "anything"})
    )
    await save(api, admin_token, {"id": "manual-nps", "kind": "nps", "languages": ["en"]})
    outcome = await ok(
        await api.post(
            "/api/surveys/manual-nps/invitations",
            json={"profiles": ["u-ania"]},
            headers=bearer(admin_token),
        )
    )
    token = outcome["outcomes"][0]["token"]
    await ok(await api.post(f"/api/public/surveys/{token}", json={"answers": {"score": 9}}), 201)
    await send(api, write_keys["website"], repair("u-celina", event="Plan Viewed"))
    report = run(workspace, fatigue_days=0)
    assert any(t.event == "Survey Answered" for t in workspace.timeline("u-ania"))
    assert (report.events, report.sent) == (1, 1)
    (triggered,) = [i for i in invitations(workspace) if i["survey_id"] == "after-anything"]
    assert triggered["profile_id"] == setup["u-celina"]


async def test_old_events_and_events_before_the_trigger_invite_nobody(
    api: httpx.AsyncClient,
    workspace: Workspace,
    admin_token: str,
    write_keys: dict[str, str],
    setup: dict[str, str],
) -> None:
    await send(api, write_keys["call-centre"], repair("u-ania"))  # before the survey exists
    await save(api, admin_token, repair_survey())
    await send(
        api,
        write_keys["call-centre"],
        repair("u-bartek", at=utcnow() - timedelta(days=30)),  # history, imported now
        repair("u-celina"),
    )
    report = run(workspace, fatigue_days=0)
    assert report.sent == 1
    assert [i["profile_id"] for i in invitations(workspace)] == [setup["u-celina"]]

    # A new version that only changes the wording keeps the trigger's start ...
    await save(api, admin_token, repair_survey(expires_days=20))
    await send(api, write_keys["call-centre"], repair("u-bartek"))
    assert run(workspace, fatigue_days=0).sent == 1
    # ... and a survey whose touchpoint left the journey map waits, reported.
    await save(
        api, admin_token, repair_survey("nps-other", trigger={"after_touchpoint": "case-resolved"})
    )
    trimmed = telecom_yaml().replace("  - id: case-resolved\n", "  - id: case-closed\n")
    await ok(
        await api.put(
            "/api/journey", content=trimmed.encode(), headers={**bearer(admin_token), **YAML}
        )
    )
    assert run(workspace, fatigue_days=0).missing_touchpoints == ["case-resolved"]


async def test_the_worker_job_invites_and_records_reminders(
    api: httpx.AsyncClient,
    workspace: Workspace,
    admin_token: str,
    write_keys: dict[str, str],
    setup: dict[str, str],
) -> None:
    await save(api, admin_token, repair_survey())
    await send(api, write_keys["call-centre"], repair("u-ania", case="C-1"))
    workspace.catch_up()
    run_survey_jobs(workspace)
    (invited,) = invitations(workspace)
    assert invited["status"] == "sent" and invited["reminded_at"] is None
    with workspace.session() as session:
        assert [a.subject for a in list_actions(session, action="survey.invited")] == [
            "nps-after-repair"
        ]
        # Three days on, the reminder is due: the next pass records it.
        session.execute(
            update(survey_invitations).values(remind_at=utcnow() - timedelta(minutes=1))
        )
    run_survey_jobs(workspace)
    (reminded,) = invitations(workspace)
    assert reminded["reminded_at"] is not None and reminded["reminder_delivery"] == "pending"

"""Reminders: a due invitation is reminded once, recorded as Survey Reminder Sent (a domain
event, ``reminded_at`` and a pending delivery on the invitation) for the e-mail action to come."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from cxm.audit import list_actions
from cxm.domain_events import DomainEvent, subscribe
from cxm.errors import Conflict, NotFound
from cxm.store.metadata import utcnow
from cxm.surveys import SurveyReminderSent, do_mark_reminded, run_survey_reminders
from cxm.workspace import Workspace
from helpers import basic, bearer

pytestmark = pytest.mark.anyio

SURVEY = {
    "id": "nps-after-repair",
    "kind": "nps",
    "languages": ["en", "pl"],
    "expires_days": 14,
    "reminder_days": 3,
}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_due_reminders_are_recorded_once_with_a_domain_event(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    batch = [{"type": "identify", "userId": f"u-{n}"} for n in ("ania", "bartek", "celina")]
    response = await api.post(
        "/v1/batch", json={"batch": batch}, headers=basic(write_keys["website"])
    )
    assert response.status_code == 200
    workspace.catch_up()
    await ok(await api.post("/api/surveys", json=SURVEY, headers=auth))
    await ok(
        await api.post(
            "/api/surveys",
            json={"id": "no-reminder", "kind": "csat", "languages": ["en"]},
            headers=auth,
        )
    )
    invited = await ok(
        await api.post(
            "/api/surveys/nps-after-repair/invitations",
            json={"profiles": ["u-ania", "u-bartek"], "language": "pl"},
            headers=auth,
        )
    )
    ania, bartek = invited["outcomes"]
    await ok(
        await api.post(
            "/api/surveys/no-reminder/invitations", json={"profiles": ["u-celina"]}, headers=auth
        )
    )
    await ok(
        await api.post(f"/api/public/surveys/{bartek['token']}", json={"answers": {"score": 4}}),
        201,
    )

    heard: list[DomainEvent] = []
    unsubscribe = subscribe(SurveyReminderSent, heard.append)
    try:
        now = utcnow()
        assert run_survey_reminders(workspace.session, now=now + timedelta(days=2)).reminded == []
        report = run_survey_reminders(workspace.session, now=now + timedelta(days=4))
        assert [i.id for i in report.reminded] == [ania["invitation_id"]]
        assert run_survey_reminders(workspace.session, now=now + timedelta(days=5)).reminded == []
    finally:
        unsubscribe()
    assert heard == [
        SurveyReminderSent(
            survey="nps-after-repair",
            invitation=ania["invitation_id"],
            profile_id=ania["profile_id"],
            department=None,
            language="pl",
            expires_at=report.reminded[0].expires_at,
        )
    ]

    listed = await ok(await api.get("/api/surveys/nps-after-repair/invitations", headers=auth))
    shown = {i["id"]: i for i in listed["invitations"]}
    assert shown[ania["invitation_id"]]["status"] == "sent"
    assert shown[ania["invitation_id"]]["reminder_delivery"] == "pending"
    assert shown[ania["invitation_id"]]["reminded_at"] is not None
    assert shown[bartek["invitation_id"]]["status"] == "answered"
    assert shown[bartek["invitation_id"]]["reminded_at"] is None
    assert all("token" not in i for i in listed["invitations"])

    with workspace.session() as session:
        (action,) = list_actions(session, action="survey.reminded")
        assert action.subject == ania["invitation_id"]
        assert action.details["delivery"] == "pending"
        with pytest.raises(Conflict, match="reminded at"):
            do_mark_reminded(
                session=session, actor="test", invitation_id=ania["invitation_id"], now=now
            )
        with pytest.raises(Conflict, match="is answered"):
            do_mark_reminded(
                session=session, actor="test", invitation_id=bartek["invitation_id"], now=now
            )
        with pytest.raises(NotFound):
            do_mark_reminded(session=session, actor="test", invitation_id="inv_nope", now=now)

    # The reminded invitation can still be answered.
    await ok(
        await api.post(f"/api/public/surveys/{ania['token']}", json={"answers": {"score": 9}}),
        201,
    )


async def test_an_expired_invitation_is_never_reminded(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    response = await api.post(
        "/v1/batch",
        json={"batch": [{"type": "identify", "userId": "u-ania"}]},
        headers=basic(write_keys["website"]),
    )
    assert response.status_code == 200
    workspace.catch_up()
    await ok(await api.post("/api/surveys", json=SURVEY, headers=auth))
    invited = await ok(
        await api.post(
            "/api/surveys/nps-after-repair/invitations", json={"profiles": ["u-ania"]}, headers=auth
        )
    )
    later = utcnow() + timedelta(days=15)
    assert run_survey_reminders(workspace.session, now=later).reminded == []
    with workspace.session() as session, pytest.raises(Conflict, match="is expired"):
        do_mark_reminded(
            session=session,
            actor="test",
            invitation_id=invited["outcomes"][0]["invitation_id"],
            now=later,
        )

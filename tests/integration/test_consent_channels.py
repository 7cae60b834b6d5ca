"""Consent per purpose and channel end to end, on both stores: the ledger lists each consent
with its channel, wording version and source; a rule whose customer withdrew marketing by
e-mail leaves an in-app message and sends no e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from cxm.automation import do_save_rule
from cxm.automation.tables import automation_jobs
from cxm.workspace import Workspace
from helpers import bearer, journeys_for
from receivers import SmtpSink

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def at(minutes: float) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


async def test_consent_by_channel_is_kept_and_held_to(
    workspace: Workspace, api: httpx.AsyncClient, admin_token: str, smtp: SmtpSink
) -> None:
    workspace.settings.smtp_host = "127.0.0.1"
    workspace.settings.smtp_port = smtp.port
    with workspace.session() as s:
        do_save_rule(session=s, actor="test", data={
            "name": "offer", "trigger": {"event": "Plan Viewed"}, "consent": "marketing",
            "actions": [{"email": {"subject": "Oferta", "body": "Dzień dobry"}},
                        {"nudge": {"message": "Oferta w aplikacji"}}],
        })  # fmt: skip
    journeys_for(workspace, {"ania": [
        {"type": "identify", "at": at(-600), "traits": {"email": "ania@example.pl"}},
        {"event": "Consent Given", "at": at(-500),
         "properties": {"purpose": "marketing", "version": "2026-01 v3"}},
        {"event": "Consent Withdrawn", "at": at(-100),
         "properties": {"purpose": "marketing", "channel": "email", "version": "2026-01 v3"}},
        {"event": "Plan Viewed", "at": at(-1)},
    ]})  # fmt: skip
    ledger = await api.get("/api/profiles/ania/consent", headers=bearer(admin_token))
    assert ledger.status_code == 200
    rows = ledger.json()["consent"]
    assert [(r["event"], r["purpose"], r["channel"], r["version"], r["source"]) for r in rows] == [
        ("Consent Given", "marketing", None, "2026-01 v3", "journeys"),
        ("Consent Withdrawn", "marketing", "email", "2026-01 v3", "journeys"),
    ]
    report = workspace.automation.run_once(now=NOW)
    assert report["fired"] == 1, report
    assert not smtp.messages
    with workspace.session() as s:
        statuses = {j.kind: (j.status, j.last_error) for j in s.execute(select(automation_jobs))}
    assert statuses["nudge"][0] == "done"
    assert statuses["email"] == (
        "cancelled",
        "the customer withdrew consent for marketing by email",
    )


async def test_segments_consent_preferences_decide_marketing(
    workspace: Workspace, api: httpx.AsyncClient, admin_token: str
) -> None:
    with workspace.session() as s:
        do_save_rule(session=s, actor="test", data={
            "name": "offer", "trigger": {"event": "Plan Viewed"}, "consent": "marketing",
            "actions": [{"nudge": {"message": "Oferta w aplikacji"}}],
        })  # fmt: skip

    def preferences(advertising: bool) -> dict[str, object]:
        return {"categoryPreferences": {"Advertising": advertising, "Analytics": True}}

    journeys_for(workspace, {
        "ola": [
            {"type": "identify", "at": at(-600), "traits": {"email": "ola@example.pl"}},
            {"event": "Segment Consent Preference Updated", "at": at(-500),
             "context": {"consent": preferences(True)}},
            {"event": "Plan Viewed", "at": at(-1)},
        ],
        "ewa": [
            {"type": "identify", "at": at(-600), "traits": {"email": "ewa@example.pl"}},
            {"event": "Segment Consent Preference Updated", "at": at(-500),
             "context": {"consent": preferences(True)}},
            {"event": "Segment Consent Preference Updated", "at": at(-300),
             "context": {"consent": preferences(False)}},
            {"event": "Plan Viewed", "at": at(-1)},
        ],
    })  # fmt: skip
    ledger = await api.get("/api/profiles/ewa/consent", headers=bearer(admin_token))
    rows = [(r["purpose"], r["given"]) for r in ledger.json()["consent"]]
    assert rows == [("marketing", True), ("analytics", True),
                    ("marketing", False), ("analytics", True)]  # fmt: skip
    report = workspace.automation.run_once(now=NOW)
    assert report["fired"] == 1, report  # ola only: ewa turned advertising off
    with workspace.session() as s:
        fired = [j.profile_id for j in s.execute(select(automation_jobs))]
    assert len(fired) == 1


async def test_an_audience_export_withholds_those_without_consent(
    workspace: Workspace, api: httpx.AsyncClient, admin_token: str
) -> None:
    from cxm.segments import do_save_segment

    journeys_for(workspace, {
        "ola": [{"type": "identify", "at": at(-60), "traits": {"plan": "fibre"}},
                {"event": "Consent Given", "at": at(-50), "properties": {"purpose": "marketing"}}],
        "ewa": [{"type": "identify", "at": at(-60), "traits": {"plan": "fibre"}},
                {"event": "Consent Given", "at": at(-50), "properties": {"purpose": "marketing"}},
                {"event": "Consent Withdrawn", "at": at(-40),
                 "properties": {"purpose": "marketing", "channel": "email"}}],
        "iza": [{"type": "identify", "at": at(-60), "traits": {"plan": "fibre"}}],
    })  # fmt: skip
    with workspace.session() as s:
        do_save_segment(session=s, actor="test",
                        data={"name": "fibre", "traits": {"plan": "fibre"}})  # fmt: skip
    auth = bearer(admin_token)
    everyone = await api.get("/api/segments/fibre/members", headers=auth)
    assert everyone.json()["count"] == 3
    mail = await api.get("/api/segments/fibre/members", headers=auth,
                         params={"purpose": "marketing", "channel": "email"})  # fmt: skip
    body = mail.json()
    assert body["count"] == 1
    assert body["withheld"] == {"the customer withdrew consent for marketing by email": 1,
                                "no consent for marketing (it needs a yes)": 1}  # fmt: skip
    app = await api.get("/api/segments/fibre/members", headers=auth,
                        params={"purpose": "marketing", "channel": "app"})  # fmt: skip
    assert app.json()["count"] == 2
    bad = await api.get("/api/segments/fibre/members", headers=auth, params={"channel": "app"})
    assert bad.status_code == 400

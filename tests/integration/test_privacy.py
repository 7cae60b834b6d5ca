"""Erasure reaches every copy, on both stores: a customer with events in several channels, a
case, a survey answer, analysed texts with their vectors, lake rows, an in-app message, a churn
score and audit entries is erased; a search of every store table, the lake and (on SQLite) the
database files for their identifiers finds nothing; another customer is untouched; re-sending
the erased customer's old events is refused until a new lawful basis is recorded. The export
holds what the store holds."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy import func, select

from cxm.audit import list_actions, seal_chain, verify_chain
from cxm.automation import do_save_rule
from cxm.errors import InvalidInput, NotFound
from cxm.ingest import do_create_source, do_ingest_events, get_source
from cxm.ingest.tables import events
from cxm.insights.scoring import score_of, store_scores
from cxm.journeys.map import telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.privacy import do_erase, find_subject, find_traces
from cxm.privacy.tombstones import do_allow
from cxm.surveys import do_answer, do_invite, do_save_survey
from cxm.text.tables import text_vectors
from cxm.workspace import Workspace
from helpers import basic, bearer, journeys_for

pytestmark = pytest.mark.anyio
NOW = datetime.now(UTC) - timedelta(hours=1)
ANIA = {"email": "ania.kowalska@example.pl", "phone": "+48601234567", "name": "Ania Kowalska"}


def at(minutes: float) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


def people() -> dict[str, list[dict[str, Any]]]:
    return {
        "CUST-ANIA": [
            {"type": "identify", "at": at(-600), "traits": {
                "email": ANIA["email"], "phone": ANIA["phone"], "name": ANIA["name"],
                "language": "pl", "plan": "fibre"}},
            {"event": "Complaint Submitted", "channel": "web", "at": at(-50), "properties": {
                "text": f"Internet nie działa od wczoraj. Proszę o kontakt: {ANIA['email']}"}},
            {"event": "Call Started", "channel": "phone", "at": at(-40),
             "properties": {"note": "Klientka Ania Kowalska zgłasza awarię ponownie"}},
            {"event": "Technician Visit", "channel": "field_service", "at": at(-20)},
        ],
        "CUST-BARTEK": [
            {"type": "identify", "at": at(-600), "traits": {
                "email": "bartek@example.pl", "name": "Bartek Nowak", "plan": "mobile"}},
            {"event": "Complaint Submitted", "channel": "web", "at": at(-30),
             "properties": {"text": "Faktura jest za wysoka"}},
        ],
    }  # fmt: skip


@pytest.fixture
def lived(workspace: Workspace) -> dict[str, str]:
    """Two customers with a year's worth of traces in every part of cxm."""
    workspace.initialise()
    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test",
                            filename="telecom.yaml")  # fmt: skip
        do_save_rule(session=s, actor="test", data={
            "name": "complaint-nudge", "trigger": {"event": "Complaint Submitted"},
            "actions": [{"nudge": {"message": "Oddzwonimy, {{ first_name }}"}}],
        })  # fmt: skip
        do_save_survey(session=s, actor="test", data={
            "id": "nps", "name": "NPS", "kind": "nps", "languages": ["pl"]})  # fmt: skip
    ids = journeys_for(workspace, people())
    workspace.automation.run_once()
    workspace.build_cases()
    workspace.text.enrich()
    with workspace.session() as s:
        outcome = do_invite(session=s, actor="test", survey="nps", profile_id=ids["CUST-ANIA"],
                            touchpoint=None, case_ref=None, language="pl",
                            now=datetime.now(UTC))  # fmt: skip
        assert outcome.token is not None
        do_answer(session=s, token=outcome.token, answers={"score": 3}, now=datetime.now(UTC))
        frame = pd.DataFrame({"risk": [0.4, 0.1], "band": ["high", "low"],
                              "reasons": [[["contact_90", 3, 0.5]], []]},
                             index=[ids["CUST-ANIA"], ids["CUST-BARTEK"]])  # fmt: skip
        store_scores(s, frame, model_name="test.pkl", now=datetime.now(UTC))
    workspace.catch_up()
    workspace.sync_lake()
    return ids


def _file_holds(path: Path, needle: str) -> bool:
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
    return needle.encode() in data


def test_erasure_reaches_every_copy_and_is_proved(
    workspace: Workspace, lived: dict[str, str]
) -> None:
    ania, bartek = lived["CUST-ANIA"], lived["CUST-BARTEK"]
    with workspace.session() as s:
        before = find_subject(s, ANIA["email"])
        assert find_traces(s, [ANIA["email"]])  # she is there to begin with
        texts_before = s.execute(select(func.count()).select_from(text_vectors)).scalar()
    assert before.seqs and before.case_ids and before.response_ids and before.text_ids

    report = do_erase(workspace, ref=ANIA["phone"], actor="test", reason="request 2026/117")
    assert report.traces == {}, report.traces
    assert report.lake_rows_before > 0 and report.lake_rows_after == 0
    for table in ("events", "profiles", "identifiers", "cases", "case_activity",
                  "survey_responses", "survey_invitations", "text_items", "churn_scores",
                  "automation_messages", "trait_observations"):  # fmt: skip
        assert report.removed.get(table, 0) > 0, (table, report.removed)
    assert report.tombstones >= 3  # user id, e-mail, phone
    with workspace.session() as s:
        for ref in (ania, ANIA["email"], ANIA["phone"], "CUST-ANIA"):
            with pytest.raises(NotFound):
                find_subject(s, ref)
        assert find_traces(s, [ANIA["email"], ANIA["phone"], ANIA["name"], ania]) == {}
        assert s.execute(select(func.count()).select_from(text_vectors)).scalar() < texts_before
        # Bartek is untouched.
        assert find_subject(s, "bartek@example.pl").seqs
        assert score_of(s, bartek) is not None
        # The audit log keeps the erasure, without her identifiers.
        (entry,) = list_actions(s, action="privacy.erasure")
        assert ANIA["email"] not in json.dumps(entry.details)
        # Her audit entries were redacted in place: the hash chain still verifies.
        seal_chain(s, now=datetime.now(UTC) + timedelta(minutes=1))
        chain = verify_chain(s)
        assert chain.ok and chain.redacted == report.redacted_audit_entries > 0, chain.problems
    if workspace.engine.dialect.name == "sqlite":
        database = workspace.path / "cxm.db"
        for needle in (ANIA["email"], ANIA["phone"], "Kowalska"):
            assert not _file_holds(database, needle), needle
    lake = workspace.path / "lake"
    for parquet in lake.rglob("*.parquet"):
        assert ANIA["email"].encode() not in parquet.read_bytes()


async def test_old_events_do_not_recreate_an_erased_person(
    workspace: Workspace, lived: dict[str, str], api: httpx.AsyncClient
) -> None:
    # A fresh process (the CLI) has not read the workspace's secret yet when it erases.
    with Workspace.open(settings=workspace.settings) as fresh:
        do_erase(fresh, ref="CUST-ANIA", actor="test", reason="request 2026/118")
    with workspace.session() as s:
        _, key = do_create_source(s, actor="test", name="replay", channel="web")
    batch = [
        {"type": "identify", "userId": "someone-new", "traits": {"email": ANIA["email"]}},
        {"type": "track", "event": "Page Viewed", "userId": "CUST-ANIA"},
        {"type": "track", "event": "Page Viewed", "userId": "CUST-BARTEK"},
    ]
    sent = await api.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [0, 1]
    assert all("erased on" in r["message"] for r in body["rejected"])
    workspace.catch_up()
    with workspace.session() as s:
        with pytest.raises(NotFound):
            find_subject(s, ANIA["email"])
        # A new lawful basis lets her e-mail in again.
        with pytest.raises(InvalidInput, match="lawful basis"):
            do_allow(s, secret=workspace.secret_key, kind="email", value=ANIA["email"],
                     basis=" ", actor="test")  # fmt: skip
        do_allow(s, secret=workspace.secret_key, kind="email", value=ANIA["email"].upper(),
                 basis="new contract signed 2026-12-07", actor="test")  # fmt: skip
        source = get_source(s, "replay")
    # Ingest reads the tombstones afresh for each import: the e-mail is taken again, the user
    # id (still tombstoned) is not.
    report = do_ingest_events(workspace.engine, source=source, events=[
        ("a", {"type": "identify", "userId": "new-ania", "traits": {"email": ANIA["email"]}}),
        ("b", {"type": "track", "event": "Page Viewed", "userId": "CUST-ANIA"}),
    ])  # fmt: skip
    assert report.accepted == 1 and [r["where"] for r in report.rejected] == ["b"]


async def test_the_export_holds_what_the_store_holds(
    workspace: Workspace, lived: dict[str, str], api: httpx.AsyncClient
) -> None:
    token = workspace.initialise() or _admin(workspace)
    refused = await api.get("/api/privacy/export/CUST-BARTEK", headers=bearer(token))
    assert refused.status_code == 400  # no reason given
    got = await api.get("/api/privacy/export/CUST-BARTEK", params={"reason": "DSAR 12"},
                        headers=bearer(token))  # fmt: skip
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(got.content))
    names = set(archive.namelist())
    assert {"README.txt", "profile.json", "events.jsonl", "traits.json", "cases.json",
            "texts.json", "scores.json", "lake.jsonl", "audit.json"} <= names  # fmt: skip
    lines = archive.read("events.jsonl").splitlines()
    with workspace.session() as s:
        subject = find_subject(s, "CUST-BARTEK")
        assert len(lines) == len(subject.seqs)
        stored = s.execute(select(func.count()).select_from(events)).scalar()
    assert stored and stored > len(lines)  # only his
    assert b"bartek@example.pl" in archive.read("identifiers.json")
    assert b"ania" not in archive.read("events.jsonl").lower()
    assert len(archive.read("lake.jsonl").splitlines()) == len(lines)
    with workspace.session() as s:
        (entry,) = list_actions(s, action="privacy.export")
    assert entry.details["reason"] == "DSAR 12"


def _admin(workspace: Workspace) -> str:
    from cxm.auth import do_create_token

    with workspace.session() as s:
        _, token = do_create_token(s, actor="test", name="privacy-admin", scopes=("admin",))
    return token


async def test_fields_that_are_never_stored(
    workspace: Workspace, api: httpx.AsyncClient, write_keys: dict[str, str]
) -> None:
    """The default list (card numbers, passwords) and a workspace's own paths are removed
    before anything is kept, and the stored event says what was removed."""
    workspace.settings.never_store = ("card_number", "password", "context.ip", "traits.pesel")
    sent = await api.post("/v1/batch", headers=basic(write_keys["website"]), json={"batch": [
        {"type": "identify", "userId": "u-1", "traits": {"pesel": "44051401359", "plan": "x"},
         "context": {"ip": "203.0.113.7", "locale": "pl-PL"}},
        {"type": "track", "event": "Order Completed", "userId": "u-1",
         "properties": {"total": 99, "payment": {"card_number": "4111111111111111"},
                        "password": "hunter2"}},
    ]})  # fmt: skip
    assert sent.status_code == 200 and sent.json()["accepted"] == 2, sent.text
    with workspace.session() as s:
        payloads = [json.loads(p) for p in s.execute(select(events.c.payload)).scalars()]
    stored = json.dumps(payloads)
    for secret in ("44051401359", "203.0.113.7", "4111111111111111", "hunter2"):
        assert secret not in stored
    identify, order = payloads
    assert identify["traits"] == {"plan": "x"} and identify["context"]["locale"] == "pl-PL"
    assert identify["context"]["cxm_removed"] == ["context.ip", "traits.pesel"]
    assert order["properties"] == {"total": 99, "payment": {}}
    assert order["context"]["cxm_removed"] == [
        "properties.password", "properties.payment.card_number"]  # fmt: skip


def test_the_never_store_setting_is_checked() -> None:
    from pydantic import ValidationError

    from cxm.config import Settings

    assert Settings(never_store="card_number, context.ip").never_store == (
        "card_number", "context.ip")  # fmt: skip
    assert Settings(never_store="").never_store == ()
    with pytest.raises(ValidationError, match="dotted paths"):
        Settings(never_store="context..ip")

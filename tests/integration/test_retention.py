"""The retention policy, on both stores: a customer gone quiet past the policy is erased
everywhere (store, lake, texts, audit details) without a tombstone; one with an open case is
kept; old raw events go with their texts while consent events, profiles and cases stay; old
survey comments lose their text and keep their score; a dry run changes nothing; the audit
chain still verifies; a malformed policy is refused at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from cxm.audit import seal_chain, verify_chain
from cxm.cases import do_open_case
from cxm.config import Settings
from cxm.ingest.tables import events
from cxm.privacy import find_traces
from cxm.privacy.erasure import lake_rows
from cxm.privacy.retention import apply_retention
from cxm.privacy.tables import erasure_tombstones, privacy_requests
from cxm.surveys import do_answer, do_invite, do_save_survey
from cxm.surveys.tables import survey_responses
from cxm.text.tables import text_items
from cxm.workspace import Workspace
from helpers import journeys_for

NOW = datetime.now(UTC)


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def people() -> dict[str, list[dict[str, Any]]]:
    return {
        "GONE": [  # quiet for two years: erased under customers=365
            {"type": "identify", "at": ago(800), "traits": {"email": "gone.customer@example.pl"}},
            {"event": "Complaint Submitted", "at": ago(799),
             "properties": {"text": "Faktura jest błędna, proszę o korektę"}},
        ],
        "WAITING": [  # as quiet, but their case is still open: kept
            {"type": "identify", "at": ago(800), "traits": {"email": "waiting@example.pl"}},
        ],
        "ACTIVE": [  # old events go under events=365; recent ones and consent stay
            {"type": "identify", "at": ago(900), "traits": {"email": "active@example.pl"}},
            {"event": "Consent Given", "at": ago(900), "properties": {"purpose": "marketing"}},
            {"event": "Complaint Submitted", "at": ago(700),
             "properties": {"text": "Router od dawna rozłącza się co godzinę"}},
            {"event": "Plan Viewed", "at": ago(2)},
        ],
    }  # fmt: skip


def build(workspace: Workspace) -> dict[str, str]:
    ids = journeys_for(workspace, people())
    workspace.text.enrich()
    with workspace.session() as s:
        do_open_case(session=s, actor="test", policy=workspace.case_policy,
                     profile_id=ids["WAITING"], title="Zwrot za usługę")  # fmt: skip
        do_save_survey(session=s, actor="test", data={
            "id": "nps", "name": "NPS", "kind": "nps", "languages": ["pl"],
            "questions": [{"id": "reason", "type": "text",
                           "text": {"pl": "Dlaczego?"}}]})  # fmt: skip
        outcome = do_invite(session=s, actor="test", survey="nps", profile_id=ids["ACTIVE"],
                            touchpoint=None, case_ref=None, language="pl",
                            now=NOW - timedelta(days=400))  # fmt: skip
        assert outcome.token is not None
        do_answer(session=s, token=outcome.token,
                  answers={"score": 4, "reason": "Obsługa była powolna i niegrzeczna"},
                  now=NOW - timedelta(days=400))  # fmt: skip
    workspace.catch_up()
    workspace.sync_lake()
    return ids


def count(workspace: Workspace, query: Any) -> int:
    with workspace.session() as s:
        return int(s.execute(query).scalar() or 0)


def test_the_policy_removes_what_it_names_and_keeps_the_rest(workspace: Workspace) -> None:
    ids = build(workspace)
    workspace.settings.retention = {"customers": 365, "events": 365, "survey_comments": 180}
    events_before = count(workspace, select(func.count()).select_from(events))

    dry = apply_retention(workspace, actor="test", now=NOW, dry_run=True)
    assert dry.found == {"customers": 1, "events": 6, "survey_comments": 1}, dry.found
    assert not dry.removed and dry.request_id is None
    assert count(workspace, select(func.count()).select_from(events)) == events_before

    report = apply_retention(workspace, actor="test", now=NOW)
    assert report.found["customers"] == 1
    # The gone customer: nothing left anywhere, and no tombstone (they may come back).
    with workspace.session() as s:
        assert not find_traces(s, ["gone.customer@example.pl", ids["GONE"]])
        assert s.execute(select(func.count()).select_from(erasure_tombstones)).scalar() == 0
        kind, detail = s.execute(select(privacy_requests.c.kind, privacy_requests.c.report)).one()
    assert kind == "retention" and "gone.customer" not in detail
    assert lake_rows(workspace, [ids["GONE"]], ["gone.customer@example.pl"]) == 0
    assert workspace.profile(ids["WAITING"]).id == ids["WAITING"]
    # The active customer: old events and their texts are gone, consent and the recent stay.
    active = workspace.profile(ids["ACTIVE"])
    with workspace.session() as s:
        names = sorted(s.execute(select(events.c.event).where(
            events.c.user_id == "ACTIVE")).scalars())  # fmt: skip
        texts = s.execute(select(func.count()).select_from(text_items)).scalar()
        comment, score, answers = s.execute(
            select(survey_responses.c.comment, survey_responses.c.score,
                   survey_responses.c.answers)
        ).one()  # fmt: skip
        payloads = s.execute(select(events.c.payload)).scalars().all()
    assert names == ["Consent Given", "Plan Viewed"]
    assert texts == 0
    assert (comment, score) == (None, 4) and "powolna" not in answers
    assert not any("powolna" in p or "rozłącza" in p for p in payloads)
    assert active.email == "active@example.pl"
    # The lake agrees with the store, and the audit chain still verifies.
    assert lake_rows(workspace, [active.id], []) == 2
    with workspace.session() as s:
        seal_chain(s, settle=timedelta(0))
        chain = verify_chain(s)
    assert chain.ok, chain.problems

    again = apply_retention(workspace, actor="test", now=NOW)
    assert not any(again.found.values()) and again.request_id is None


def test_a_malformed_policy_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad, said in (("events", "whole days"), ("events=-3", "whole days"),
                      ("clients=30", "unknown kind 'clients'")):  # fmt: skip
        monkeypatch.setenv("CXM_RETENTION", bad)
        with pytest.raises(ValidationError, match=said):
            Settings()
    monkeypatch.setenv("CXM_RETENTION", "events=730, messages=90")
    assert Settings().retention == {"events": 730, "messages": 90}

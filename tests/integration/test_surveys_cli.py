"""``cxm surveys`` and ``cxm segments`` at the command line: definitions from files (every
problem listed with its place), invitations, sending to a segment, triggers, reminders."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from cxm.errors import InvalidInput, NotFound
from cxm.ingest import do_create_source, do_ingest_events, get_source
from cxm.journeys import do_save_journey_map, telecom_yaml
from cxm.segments.tables import segments
from cxm.store.metadata import utcnow
from cxm.surveys import do_answer, list_invitations
from cxm.surveys.tables import survey_invitations, survey_versions
from cxm.surveys.tokens import sign_invitation, workspace_secret
from cxm.workspace import Workspace

SURVEY = """\
id: nps-after-repair
kind: nps
languages: [en, pl]
questions:
  - id: reason
    type: text
    text: {en: "Why?", pl: "Dlaczego?"}
trigger: {after_touchpoint: repair}
reminder_days: 3
"""

BAD_SURVEY = """\
id: Bad Id
kind: nps
languages: [en, ru]
questions:
  - id: reason
    type: text
    text: {en: "Why?"}
trigger: {after_touchpoint: teleport}
"""


@pytest.fixture
def customers(workspace: Workspace) -> dict[str, str]:
    """The telecom journey map; Ania (fibre, Polish) and Bartek (fibre) each had a repair."""
    with workspace.session() as session:
        do_save_journey_map(session=session, source=telecom_yaml(), actor="test")
        source, _ = do_create_source(session, actor="test", name="field", channel="field_service")
    people = {"ania": {"plan": "fibre", "language": "pl"}, "bartek": {"plan": "fibre"}}
    events = [
        (
            f"{name}-id",
            {"type": "identify", "userId": name, "traits": traits, "messageId": f"{name}-1"},
        )
        for name, traits in people.items()
    ]
    report = do_ingest_events(workspace.engine, source=source, events=events)
    assert not report.rejected
    workspace.catch_up()
    return {name: workspace.profile(name).id for name in people}


def repair_events(workspace: Workspace, *names: str) -> None:
    with workspace.session() as session:
        source = get_source(session, "field")
    events = [
        (
            name,
            {
                "type": "track",
                "userId": name,
                "event": "Repair Completed",
                "messageId": f"{name}-repair-{i}",
                "timestamp": utcnow().isoformat(),
                "properties": {"case_ref": f"C-{i}"},
            },
        )
        for i, name in enumerate(names)
    ]
    assert not do_ingest_events(workspace.engine, source=source, events=events).rejected


def count(workspace: Workspace, table: Any) -> int:
    with workspace.session() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_bad_definition_file_lists_every_problem_and_saves_nothing(
    cxm: Any, workspace: Workspace, customers: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_SURVEY, encoding="utf-8")
    result = cxm("surveys", "create", str(bad))
    assert result.exit_code == 2, result.output
    for line in (
        "error (invalid_survey)",
        "id: 'Bad Id' is not a survey id",
        "questions.0.text.ru: question 'reason' has no translation into 'ru'",
        "trigger.after_touchpoint: the journey map has no touchpoint 'teleport'",
        "3 problem(s); nothing was saved",
    ):
        assert line in result.output, (line, result.output)
    assert count(workspace, survey_versions) == 0

    wrong = tmp_path / "survey.txt"
    wrong.write_text(SURVEY, encoding="utf-8")
    assert isinstance(cxm("surveys", "create", str(wrong)).exception, InvalidInput)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    result = cxm("surveys", "create", str(broken))
    assert isinstance(result.exception, InvalidInput)
    assert "broken.json is not valid JSON" in str(result.exception)

    segment = tmp_path / "segment.yaml"
    segment.write_text("name: Fibre\ntraits: {plan: [fibre]}\nactive_days: -1\n", encoding="utf-8")
    result = cxm("segments", "create", str(segment))
    assert result.exit_code == 2, result.output
    assert "error (invalid_segment)" in result.output
    assert "traits.plan: trait 'plan': a list is ambiguous" in result.output
    assert "active_days: -1 is not a whole number" in result.output
    assert count(workspace, segments) == 0


def test_surveys_from_definition_to_responses(
    cxm: Any, workspace: Workspace, customers: dict[str, str], tmp_path: Path
) -> None:
    definition = tmp_path / "nps.yaml"
    definition.write_text(SURVEY, encoding="utf-8")
    created = cxm("surveys", "create", str(definition))
    assert created.exit_code == 0, created.output
    assert "survey nps-after-repair saved as version 1" in created.output
    assert "after touchpoint repair" in created.output

    repair_events(workspace, "ania")
    triggered = cxm("surveys", "run-triggers")
    assert triggered.exit_code == 0, triggered.output
    assert "1 touchpoint event(s): 1 sent, 0 suppressed" in triggered.output
    again = cxm("surveys", "run-triggers")
    assert "0 touchpoint event(s): 0 sent" in again.output

    invited = cxm(
        "surveys", "invite", "nps-after-repair", "--profile", "bartek", "--profile", "nobody"
    )
    assert invited.exit_code == 0, invited.output
    assert "/s/inv_" in invited.output and "no customer matches 'nobody'" in invited.output
    assert "1 sent, 0 suppressed, 1 rejected" in invited.output
    assert isinstance(cxm("surveys", "invite", "nps-after-repair").exception, InvalidInput)

    listed = cxm("surveys", "list")
    assert listed.exit_code == 0, listed.output
    assert "nps-after-repair" in listed.output and "1 survey(s)" in listed.output
    shown = cxm("surveys", "show", "nps-after-repair")
    assert shown.exit_code == 0, shown.output
    assert "2 waiting, 0 answered" in shown.output and "C-0" in shown.output
    assert isinstance(cxm("surveys", "show", "nope").exception, NotFound)

    with workspace.session() as session:
        session.execute(
            update(survey_invitations).values(remind_at=utcnow() - timedelta(minutes=1))
        )
    reminded = cxm("surveys", "remind")
    assert reminded.exit_code == 0, reminded.output
    assert "2 reminder(s) recorded" in reminded.output and "delivery pending" in reminded.output
    assert "0 reminder(s) recorded" in cxm("surveys", "remind").output
    assert "(pending)" in cxm("surveys", "show", "nps-after-repair").output

    with workspace.session() as session:
        ania = next(
            i
            for i in list_invitations(session, "nps-after-repair", now=utcnow())
            if i.case_ref == "C-0"
        )
        token = sign_invitation(workspace_secret(session), ania.id)
        do_answer(
            session=session, token=token, answers={"score": 10, "reason": "Szybko"}, now=utcnow()
        )
    answers = cxm("surveys", "responses", "nps-after-repair")
    assert answers.exit_code == 0, answers.output
    assert (
        "Szybko" in answers.output and "C-0" in answers.output and "1 response(s)" in answers.output
    )


def test_segments_and_sending_a_survey_to_one(
    cxm: Any, workspace: Workspace, customers: dict[str, str], tmp_path: Path
) -> None:
    segment = tmp_path / "fibre.json"
    segment.write_text('{"name": "fibre", "traits": {"plan": "fibre"}}', encoding="utf-8")
    created = cxm("segments", "create", str(segment))
    assert created.exit_code == 0, created.output
    assert "segment fibre saved: 2 customer(s) in it now" in created.output
    taken = cxm("segments", "create", str(segment))
    assert "exists already" in str(taken.exception)
    assert cxm("segments", "create", "--replace", str(segment)).exit_code == 0
    assert "plan = fibre" in cxm("segments", "list").output
    shown = cxm("segments", "show", "fibre")
    assert customers["ania"] in shown.output and "2 customer(s) in the segment" in shown.output

    survey = tmp_path / "csat.yaml"
    survey.write_text("id: csat-fibre\nkind: csat\nlanguages: [en]\ntrigger: {segment: fibre}\n")
    assert cxm("surveys", "create", str(survey)).exit_code == 0
    sent = cxm("surveys", "send", "csat-fibre")
    assert sent.exit_code == 0, sent.output
    assert "to segment fibre (2 customers): 2 sent, 0 suppressed, 0 rejected" in sent.output
    resent = cxm("surveys", "send", "csat-fibre")
    assert "0 sent, 2 suppressed" in resent.output
    assert isinstance(cxm("surveys", "send", "nope").exception, NotFound)

"""Building the demo company into a workspace: its survey answers on the timeline, the survey
definitions behind them, and the employee eNPS per department with the minimum sample."""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlalchemy import func, select

from cxm.demo import build_demo
from cxm.demo.generator import DEFAULT_END
from cxm.demo.surveys import (
    CUSTOMER_SURVEYS,
    EMPLOYEE_SURVEY,
    MIN_PULSE_ANSWERS,
    PULSE_SHARE,
    PULSE_SURVEY,
    TEAMS,
)
from cxm.ingest.tables import events
from cxm.metrics.surveys import survey_metric
from cxm.surveys import list_surveys
from cxm.surveys.tables import survey_responses
from cxm.workspace import Workspace

DAYS = 120


def test_the_demo_brings_its_surveys_and_the_employee_enps(workspace: Workspace) -> None:
    workspace.initialise()
    build_demo(workspace, customers=60, days=DAYS, seed=3)
    with workspace.session() as session:
        surveys = {s.definition.id: s.definition for s in list_surveys(session)}
        customer = {d["id"] for d in CUSTOMER_SURVEYS}
        assert customer | {EMPLOYEE_SURVEY["id"]} <= set(surveys)
        for survey_id in customer:
            assert set(surveys[survey_id].languages) == {"pl", "en", "ru"}
        assert {surveys[s].kind for s in customer} == {"nps", "csat", "ces"}
        assert surveys[EMPLOYEE_SURVEY["id"]].anonymous

        waves = str(EMPLOYEE_SURVEY["id"])
        by_department = {r.group: r for r in survey_metric(
            session, metric="enps", by="department", survey=waves)}  # fmt: skip
        for team in TEAMS:
            row = by_department[team.department]
            assert row.n == 2 * team.answered
            assert row.reportable == (row.n >= 30), team.department
        # The monthly pulse: every whole month, the teams big enough for a monthly figure.
        pulse = {r.group: r for r in survey_metric(
            session, metric="enps", by="department", survey=str(PULSE_SURVEY["id"]))}  # fmt: skip
        pulsed = [t for t in TEAMS if round(t.invited * PULSE_SHARE) >= MIN_PULSE_ANSWERS]
        assert {t.department for t in pulsed} == set(pulse) == {
            "call-centre", "field-service", "retail"}  # fmt: skip
        months = pulse["call-centre"].n // round(TEAMS[0].invited * PULSE_SHARE)
        assert 3 <= months <= 4  # the whole months in 120 days
        for team in pulsed:
            assert pulse[team.department].n == months * round(team.invited * PULSE_SHARE)
        hr = by_department["hr"]
        assert hr.estimate is None and "at least 30 needed" in (hr.reason or "")
        assert by_department["call-centre"].estimate is not None
        first, last = session.execute(
            select(
                func.min(survey_responses.c.answered_at), func.max(survey_responses.c.answered_at)
            )
        ).one()
        assert DEFAULT_END - timedelta(days=DAYS) <= first and last < DEFAULT_END
        assert (
            session.execute(
                select(func.count()).where(survey_responses.c.profile_id.is_not(None))
            ).scalar()
            == 0
        ), "employee answers are anonymous; customers' answers are events"

        payloads = [
            orjson.loads(p)
            for (p,) in session.execute(
                select(events.c.payload).where(events.c.event == "Survey Answered")
            )
        ]
    kinds = {p["properties"]["kind"] for p in payloads}
    assert kinds == {"nps", "csat", "ces"}
    assert {p["properties"]["survey"] for p in payloads} <= customer
    commented = next(p for p in payloads if p["properties"]["comment"])
    timeline = workspace.timeline(commented["userId"], limit=1000)
    shown = [t for t in timeline if t.event == "Survey Answered" and t.text]
    assert commented["properties"]["comment"] in {t.text for t in shown}

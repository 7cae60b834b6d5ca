"""Behavioural metrics and the effort index against hand-computed answers, on DuckDB and Spark.

Three customers with support matters, written so that every rule is exercised once:

- ola, the broken journey: an issue reported at a branch (day 1), the phone menu and a call the
  next day (one phone contact: the menu and the call are within the hour), a technician on day 5
  who fixes it (resolution at 12:00); asked for details in the phone menu, by the agent within
  the same hour (one ask at that touchpoint) and by the technician (asked again); CES 2.
- piotr: one call (started and handled twenty minutes apart: one contact), CES 6, a help page.
- ewa: a call on day 2, resolved that afternoon, a call on day 4 (a repeat that reopens the
  case), CES 5, and a call on day 14 (ten days later: a new matter).
- zosia reads a help page and cancels two days later (churn); late is seen in May only, so
  that March is observable for churn.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from cxm.analytics import DuckDBEngine, Engine, SparkEngine
from cxm.errors import InvalidInput
from cxm.journeys.service import do_save_journey_map
from cxm.metrics.effort import effort_validation
from cxm.metrics.queries import CatalogueQuery
from cxm.metrics.runner import run_catalogue
from cxm.metrics.trends import MoversQuery, run_movers, run_retention
from cxm.workspace import Workspace
from helpers import journeys_for, sign_in
from metrics_history import at, ev

MAP = """
journey: Test telecom
departments:
  retail: {name: Retail, lead: Ola}
  care: {name: Care, lead: Ela}
  field: {name: Field service, lead: Jan}
  web: {name: Web, lead: Iza}
  billing: {name: Billing, lead: Ana}
stages:
  - {id: use, name: Use}
  - {id: support, name: Support}
  - {id: leave, name: Leave}
touchpoints:
  - {id: branch-issue, name: Issue at a branch, stage: support, role: contact, owner: retail,
     match: {type: track, event: Issue Reported, channel: branch}, influence: {retail: 1.0}}
  - {id: ivr, name: Phone menu, stage: support, role: contact, owner: care,
     match: {type: track, event: IVR Call, channel: ivr}, influence: {care: 1.0}}
  - {id: call, name: Call, stage: support, role: contact, owner: care,
     match: {type: track, event: [Call Started, Call Handled], channel: phone},
     influence: {care: 1.0}}
  - {id: ask, name: Details asked, stage: support, role: data_request, owner: care,
     match: {type: track, event: Data Requested}, influence: {care: 1.0}}
  - {id: visit, name: Technician, stage: support, role: contact, owner: field,
     match: {type: track, event: Technician Visit, channel: field_service},
     influence: {field: 1.0}}
  - {id: fixed, name: Resolved, stage: support, role: resolution, owner: field,
     match: {type: track, event: Case Resolved}, influence: {field: 1.0}}
  - {id: help, name: Help pages, stage: use, role: self_service, owner: web,
     match: {type: page, event: Help, channel: web}, influence: {web: 1.0}}
  - {id: cancel, name: Cancellation, stage: leave, role: churn, owner: billing,
     match: {type: track, event: Subscription Cancelled}, influence: {billing: 1.0}}
  - {id: survey, name: Survey, stage: support, owner: care,
     match: {type: track, event: Survey Answered, channel: survey}, influence: {care: 1.0}}
"""

# py4j (Spark's bridge to the JVM) leaves client sockets for the garbage collector to close.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def ces(score: int, when: str) -> dict[str, Any]:
    return ev("Survey Answered", when, "survey", kind="ces", score=score, survey="after")


PEOPLE = {
    "ola": [
        ev("Issue Reported", at(1), "branch"),
        ev("IVR Call", at(2), "ivr"),
        ev("Data Requested", at(2, 10, 1), "ivr"),
        ev("Call Handled", at(2, 10, 10), "phone"),
        ev("Data Requested", at(2, 10, 12), "phone"),
        ev("Technician Visit", at(5), "field_service"),
        ev("Data Requested", at(5, 10, 5), "field_service"),
        ev("Case Resolved", at(5, 12), "field_service"),
        ces(2, at(6)),
    ],
    "piotr": [
        ev("Call Started", at(1), "phone"),
        ev("Call Handled", at(1, 10, 20), "phone"),
        ces(6, at(1, 12)),
        {"type": "page", "event": "Help", "at": at(3), "channel": "web"},
    ],
    "ewa": [
        ev("Call Handled", at(2), "phone"),
        ev("Case Resolved", at(2, 15), "phone"),
        ev("Call Handled", at(4), "phone"),
        ces(5, at(4, 12)),
        ev("Call Handled", at(14), "phone"),
    ],
    "zosia": [
        {"type": "page", "event": "Help", "at": at(1), "channel": "web"},
        ev("Subscription Cancelled", at(3), "other"),
        ev("Survey Answered", at(2), "survey", kind="nps", score=3),
    ],
    "late": [{"type": "page", "event": "Help", "at": at(1, month=5), "channel": "web"}],
}
MARCH = {"start": date(2026, 3, 1), "end": date(2026, 4, 1), "min_sample": 1}
OLA_EFFORT = 2 + 2 + 2 + 1 + math.log1p(98 / 24)  # repeats, hops, handoffs, asked again, 98 h
EWA_EFFORT = 1 + 2 + math.log1p(5 / 24)  # one repeat, reopened, resolved after 5 h


@pytest.fixture
def telecom(workspace: Workspace) -> Workspace:
    with workspace.session() as session:
        do_save_journey_map(session=session, source=MAP, actor="test", filename="telecom.yaml")
    journeys_for(workspace, {p: list(steps) for p, steps in PEOPLE.items()})
    return workspace


def cells(frame: Any, *keys: str) -> dict[Any, Any]:
    rows = frame.to_dict("records")
    return {
        (r["metric"], *[r[k] for k in keys]) if keys else r["metric"]: (r["n"], r["estimate"])
        for r in rows
    }


def test_catalogue_matches_hand_computed_answers(telecom: Workspace, spark_session: Any) -> None:
    journey = telecom.journey_map()
    engines: list[Engine] = [
        DuckDBEngine(telecom.lake),
        SparkEngine(telecom.lake, session=spark_session),
    ]
    answers = [run_catalogue(e, journey, CatalogueQuery(**MARCH)) for e in engines]
    for answer in answers:
        got = cells(answer)
        assert got["repeat_contact_rate"] == (7, pytest.approx(3 / 7))
        assert got["first_contact_resolution"] == (4, pytest.approx(2 / 4))
        assert got["channel_hopping"] == (4, pytest.approx(1 / 4))
        assert got["handoffs_per_case"] == (4, pytest.approx(2 / 4))
        assert got["data_asked_again"] == (4, pytest.approx(1 / 4))
        assert got["reopen_rate"] == (2, pytest.approx(1 / 2))
        assert got["time_to_resolution"] == (4, pytest.approx((98 + 0 + 5 + 0) / 4))
        assert got["effort_index"] == (4, pytest.approx((OLA_EFFORT + EWA_EFFORT) / 4))
        assert got["self_service_share"] == (9, pytest.approx(2 / 9))
        assert got["ces"] == (3, pytest.approx((2 + 6 + 5) / 3))
        assert got["ces_agree"] == (3, pytest.approx(2 / 3))
        assert got["nps"] == (1, pytest.approx(-100.0))
        # Customer-months seen in March (late's May is too recent to judge): zosia churned.
        assert got["churn_rate"] == (4, pytest.approx(1 / 4))
        row = answer.set_index("metric").loc["repeat_contact_rate"]
        assert row["low"] < 3 / 7 < row["high"] and bool(row["reportable"])
    assert answers[0].equals(answers[1])


def test_grouped_by_touchpoint_department_and_channel(telecom: Workspace) -> None:
    engine, journey = telecom.query_engine(), telecom.journey_map()
    by_tp = cells(run_catalogue(engine, journey, CatalogueQuery(by=("touchpoint",), **MARCH)),
                  "touchpoint")  # fmt: skip
    # A phone contact that began in the menu is the menu's; a matter is its first contact's.
    assert by_tp["repeat_contact_rate", "branch-issue"] == (1, 0.0)
    assert by_tp["repeat_contact_rate", "ivr"] == (1, 1.0)
    assert by_tp["repeat_contact_rate", "visit"] == (1, 1.0)
    assert by_tp["repeat_contact_rate", "call"] == (4, 0.25)
    # A mean of one matter has no interval, so it is withheld even at a minimum sample of 1.
    n, estimate = by_tp["effort_index", "branch-issue"]
    assert n == 1 and math.isnan(estimate)
    # CES answers belong to the matter they follow: ola's to the branch where it began.
    assert by_tp["ces", "branch-issue"][0] == 1
    assert by_tp["ces", "call"] == (2, 5.5)
    assert by_tp["nps", "(none)"] == (1, -100.0)
    by_dept = cells(run_catalogue(engine, journey, CatalogueQuery(by=("department",), **MARCH)),
                    "department")  # fmt: skip
    assert by_dept["first_contact_resolution", "care"] == (3, pytest.approx(2 / 3))
    assert by_dept["ces", "retail"][0] == 1
    by_channel = cells(
        run_catalogue(engine, journey, CatalogueQuery(by=("channel", "month"), **MARCH)),
        "channel",
        "month",
    )
    # The menu (ivr) counts as the phone channel.
    assert by_channel["repeat_contact_rate", "phone", "2026-03"] == (5, pytest.approx(2 / 5))
    assert ("repeat_contact_rate", "ivr", "2026-03") not in by_channel


def test_minimum_sample_hides_values(telecom: Workspace) -> None:
    frame = run_catalogue(telecom.query_engine(), telecom.journey_map(), CatalogueQuery())
    row = frame.set_index("metric").loc["repeat_contact_rate"]
    assert not row["reportable"] and row["estimate"] is None
    assert row["reason"] == "insufficient data: 7 contacts, at least 30 needed"


def test_effort_index_ranks_the_broken_journey_first(telecom: Workspace) -> None:
    report = effort_validation(
        telecom.query_engine(), telecom.journey_map(), CatalogueQuery(**MARCH)
    )
    customers = report.customer_effort
    ids = {telecom.profile(p).id: p for p in ("ola", "piotr", "ewa")}
    ranked = [ids[c] for c in customers["customer_id"]]
    assert ranked == ["ola", "ewa", "piotr"]
    assert customers["effort"].tolist() == pytest.approx([OLA_EFFORT, EWA_EFFORT, 0.0])
    assert customers["decile"].tolist() == [10, 7, 4]
    # Effort 8.6, 3.2, 0 against CES 2, 5, 6: perfectly opposite ranks.
    assert report.matter_ces == pytest.approx(-1.0)
    assert report.matter_ces_n == 3
    worst = report.touchpoint_effort.iloc[0]
    assert worst["touchpoint"] == "branch-issue"


def test_retention_by_cohort_and_movers(telecom: Workspace) -> None:
    engine = telecom.query_engine()
    retention = run_retention(engine)
    march = retention[retention["cohort"] == "2026-03"].set_index("months_since")
    assert march.loc[0, "cohort_size"] == 4 and march.loc[0, "retention"] == 1.0
    assert 2 not in march.index  # nobody of March's cohort came back in May
    movers = run_movers(
        engine,
        telecom.journey_map(),
        MoversQuery(
            a_start=date(2026, 3, 1),
            a_end=date(2026, 3, 8),
            b_start=date(2026, 3, 8),
            b_end=date(2026, 4, 1),
            min_sample=1,
        ),
    )
    assert not movers["moved"].any()  # a handful of customers: nothing survives BH


def test_bad_queries_say_what_is_wrong(telecom: Workspace) -> None:
    engine, journey = telecom.query_engine(), telecom.journey_map()
    with pytest.raises(ValidationError, match="unknown dimension 'weather'"):
        CatalogueQuery(by=("weather",))
    with pytest.raises(ValidationError, match="must be before end"):
        CatalogueQuery(start=date(2026, 3, 2), end=date(2026, 3, 1))
    with pytest.raises(InvalidInput, match="no metric 'happiness'"):
        run_catalogue(engine, journey, CatalogueQuery(metrics=("happiness",)))
    with pytest.raises(InvalidInput, match="computed from a survey's own answers"):
        run_catalogue(engine, journey, CatalogueQuery(metrics=("enps",)))
    with pytest.raises(InvalidInput, match="a table by cohort"):
        run_catalogue(engine, journey, CatalogueQuery(metrics=("retention",)))


def test_an_empty_lake_gives_empty_answers(workspace: Workspace) -> None:
    with workspace.session() as session:
        do_save_journey_map(session=session, source=MAP, actor="test", filename="telecom.yaml")
    frame = run_catalogue(workspace.query_engine(), workspace.journey_map(), CatalogueQuery())
    assert frame.empty or not frame["reportable"].any()
    assert run_retention(workspace.query_engine()).empty


def test_grouped_by_a_segment_and_by_a_trait(telecom: Workspace) -> None:
    from cxm.segments.service import do_save_segment

    journeys_for(
        telecom,
        {"ola": [{"type": "identify", "at": at(1, 9), "traits": {"tier": "gold"}}]},
        source="crm",
    )
    with telecom.session() as session:
        do_save_segment(
            session=session, actor="test", data={"name": "gold", "traits": {"tier": "gold"}}
        )
    frame = telecom.metrics.catalogue(
        metrics=["repeat_contact_rate", "churn_rate", "ces"], by=["segment:gold"], **MARCH
    )
    got = cells(frame, "segment")
    assert got["repeat_contact_rate", "in"] == (3, pytest.approx(2 / 3))
    assert got["repeat_contact_rate", "out"] == (4, pytest.approx(1 / 4))
    assert got["churn_rate", "out"] == (3, pytest.approx(1 / 3))
    assert got["ces", "in"][0] == 1 and got["ces", "out"][0] == 2
    by_trait = cells(
        telecom.metrics.catalogue(metrics=["repeat_contact_rate"], by=["trait:tier"], **MARCH),
        "trait",
    )
    assert by_trait == {
        ("repeat_contact_rate", "gold"): (3, pytest.approx(2 / 3)),
        ("repeat_contact_rate", "(none)"): (4, pytest.approx(1 / 4)),
    }
    with pytest.raises(ValidationError, match="one trait or segment at a time"):
        CatalogueQuery(by=("segment:gold", "trait:tier"))
    with pytest.raises(InvalidInput, match="needs the segment's members"):
        run_catalogue(
            telecom.query_engine(), telecom.journey_map(), CatalogueQuery(by=("segment:gold",))
        )


@pytest.mark.anyio
async def test_the_customer_page_shows_the_effort_we_caused(
    telecom: Workspace, api: httpx.AsyncClient, admin_token: str
) -> None:
    await sign_in(api, admin_token)
    ola = await api.get(f"/customers/{telecom.profile('ola').id}")
    assert ola.status_code == 200
    assert f'data-effort="{OLA_EFFORT:.2f}"' in ola.text
    assert "decile 10 of 10 among 3 customers" in ola.text
    # zosia never contacted support: no effort card.
    zosia = await api.get(f"/customers/{telecom.profile('zosia').id}")
    assert zosia.status_code == 200 and "data-effort" not in zosia.text

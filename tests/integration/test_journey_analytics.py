"""Journey analytics against hand-computed answers, on DuckDB and on Spark over the same lake.

The customers below are written so that each rule of the funnel is exercised once: a quick
conversion, a second attempt that converts after a first one that ran out of time, steps in the
wrong order, two steps at the same instant (not "after"), and a customer who never starts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from cxm.analytics import DuckDBEngine, Engine, SparkEngine
from cxm.errors import InvalidInput
from cxm.journeys import parse_journey_map
from cxm.journeys.analytics import (
    FunnelQuery,
    PathQuery,
    ProgressionQuery,
    ScorecardQuery,
    run_funnel,
    run_paths,
    run_progression,
    run_sankey,
    run_scorecard,
    run_transitions,
)
from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace
from helpers import journeys_for

MAP = """
journey: Test shop
departments:
  sales: {name: Sales, lead: Ola}
  support: {name: Support, lead: Ela}
stages:
  - {id: discover, name: Discover}
  - {id: buy, name: Buy}
  - {id: support, name: Support}
touchpoints:
  - id: plan
    name: Plan viewed
    stage: discover
    match: {type: track, event: Plan Viewed}
    owner: sales
    influence: {sales: 1.0}
  - id: checkout
    name: Checkout
    stage: buy
    match: {type: track, event: Checkout Started}
    owner: sales
    influence: {sales: 0.8, support: 0.2}
  - id: order
    name: Order
    stage: buy
    match: {type: track, event: Order Completed}
    owner: sales
    influence: {sales: 1.0}
  - id: call
    name: Call
    stage: support
    match: {type: track, event: Call Started, channel: phone}
    owner: support
    influence: {support: 1.0, sales: 0.3}
"""

D = "2026-03-0"  # days 1-9 of March 2026
HOUR, DAY = 3600.0, 86400.0

# py4j (Spark's bridge to the JVM) leaves client sockets for the garbage collector to close.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def at(day: int, hour: int = 10, minute: int = 0) -> str:
    return f"{D}{day}T{hour:02d}:{minute:02d}:00Z"


def ev(name: str, day: int, hour: int = 10, channel: str = "web", **more: Any) -> dict[str, Any]:
    return {"event": name, "at": at(day, hour), "channel": channel, **more}


PEOPLE = {
    # plan → checkout 1 h later → order the next day: all three steps, 24 h.
    "ania": [ev("Plan Viewed", 1), ev("Checkout Started", 1, 11), ev("Order Completed", 2)],
    # first attempt runs out of the 7-day window; the second (from day 8) converts in 2 days.
    "bart": [
        ev("Plan Viewed", 1, channel="app"),
        ev("Plan Viewed", 8, channel="web"),
        ev("Checkout Started", 9),
        ev("Order Completed", 9, 12),
        ev("Call Started", 9, 13, channel="phone"),
    ],
    # checkout before the plan: only step 1 counts.
    "celina": [ev("Checkout Started", 1), ev("Plan Viewed", 2)],
    # plan and checkout at the same instant: checkout is not *after* the plan.
    "dawid": [ev("Plan Viewed", 3), ev("Checkout Started", 3)],
    # order before checkout: steps 1 and 2 (plan → checkout 2 h), not 3.
    "filip": [ev("Plan Viewed", 4), ev("Order Completed", 4, 11), ev("Checkout Started", 4, 12)],
    # never views a plan: not in the funnel at all.
    "ewa": [ev("Order Completed", 5), ev("Call Started", 5, 11, channel="phone")],
}
TRAITS = {"ania": "gold", "bart": "gold", "celina": "basic", "dawid": "basic", "filip": "basic"}


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    with workspace.session() as session:
        do_save_journey_map(session=session, source=MAP, actor="test", filename="shop.yaml")
    people = {p: list(steps) for p, steps in PEOPLE.items()}
    for person, plan in TRAITS.items():
        people[person].insert(
            0,
            {
                "type": "identify",
                "at": at(1, 0),
                "traits": {"tier": plan, "email": f"{person}@x.pl"},
            },
        )
    journeys_for(workspace, people)
    return workspace


def engines(ws: Workspace, spark_session: Any) -> list[Engine]:
    return [DuckDBEngine(ws.lake), SparkEngine(ws.lake, session=spark_session)]


def test_funnel_matches_hand_computed_answers_on_duckdb_and_spark(
    shop: Workspace, spark_session: Any
) -> None:
    journey = shop.journey_map()
    query = FunnelQuery(steps=["plan", "checkout", "order"], window_days=7)
    answers = [run_funnel(engine, journey, query) for engine in engines(shop, spark_session)]
    pd.testing.assert_frame_equal(answers[0], answers[1])
    f = answers[0].set_index("step")
    assert f["customers"].tolist() == [5, 3, 2]  # 5 started; ania, bart, filip; ania, bart
    assert f["drop_off"].tolist() == [0, 2, 1]
    assert f.loc[2, "conversion"] == pytest.approx(3 / 5)
    assert f.loc[3, "step_conversion"] == pytest.approx(2 / 3)
    # quickest chains: plan → checkout ania 1 h, bart 1 day (from day 8), filip 2 h
    assert f.loc[2, "mean_seconds_to_convert"] == pytest.approx((HOUR + DAY + 2 * HOUR) / 3)
    assert f.loc[2, "median_seconds_to_convert"] == pytest.approx(2 * HOUR)
    # plan → order: ania 24 h, bart 1 day 2 h
    assert f.loc[3, "mean_seconds_to_convert"] == pytest.approx((DAY + DAY + 2 * HOUR) / 2)


def test_funnel_window_and_breakdowns(shop: Workspace, spark_session: Any) -> None:
    journey = shop.journey_map()
    short = FunnelQuery(steps=["plan", "checkout", "order"], window_days=1)
    by_channel = FunnelQuery(steps=["plan", "order"], window_days=7, breakdown="channel")
    by_tier = FunnelQuery(steps=["plan", "order"], window_days=7, breakdown="trait:tier")
    for engine in engines(shop, spark_session):
        # ania needs exactly 24 h (within a 1-day window); bart 26 h (not)
        assert run_funnel(engine, journey, short)["customers"].tolist() == [5, 3, 1]
        channel = run_funnel(engine, journey, by_channel)
        # bart entered the funnel on the app (his first plan view), everyone else on the web
        app = channel[channel.breakdown == "app"].set_index("step")["customers"]
        web = channel[channel.breakdown == "web"].set_index("step")["customers"]
        assert app.tolist() == [1, 1] and web.tolist() == [4, 2]  # web: ania, filip
        tier = run_funnel(engine, journey, by_tier)
        gold = tier[tier.breakdown == "gold"].set_index("step")["customers"]
        basic = tier[tier.breakdown == "basic"].set_index("step")["customers"]
        assert gold.tolist() == [2, 2] and basic.tolist() == [3, 1]  # basic: filip


def test_inline_event_steps_and_channels(shop: Workspace, spark_session: Any) -> None:
    journey = shop.journey_map()
    query = FunnelQuery(
        steps=[{"event": "Plan Viewed", "channel": "web"}, {"event": "Call Started"}],
        window_days=7,
    )
    for engine in engines(shop, spark_session):
        frame = run_funnel(engine, journey, query)
        assert frame["label"].tolist() == ["Plan Viewed (web)", "Call Started"]
        assert frame["customers"].tolist() == [5, 1]  # bart: web plan on day 8, call day 9


def test_paths_and_sankey(shop: Workspace, spark_session: Any) -> None:
    journey = shop.journey_map()
    out = PathQuery(touchpoint="plan", depth=2)
    into = PathQuery(touchpoint="order", direction="in", depth=2)
    results = []
    for engine in engines(shop, spark_session):
        paths = run_paths(engine, journey, out)
        results.append(paths)
        got = {tuple(p): v for p, v in zip(paths["path"], paths["visits"], strict=True)}
        # bart's two plan views in a row are one visit (collapsed); dawid's plan and checkout
        # at the same instant are in the order they arrived (seq)
        assert got == {
            ("plan", "checkout", "order"): 2,  # ania, bart
            ("plan", "(end)"): 1,  # celina, who had checked out before
            ("plan", "checkout", "(end)"): 1,  # dawid
            ("plan", "order", "checkout"): 1,  # filip
        }
        assert paths["visits"].sum() == 5
        into_paths = run_paths(engine, journey, into)
        got_in = {
            tuple(p): v for p, v in zip(into_paths["path"], into_paths["visits"], strict=True)
        }
        assert got_in[("plan", "checkout", "order")] == 2
        assert got_in[("(start)", "order")] == 1  # ewa's order is her first event
        sankey = run_sankey(engine, journey, out)
        links = {(x["source"], x["target"]): x["value"] for x in sankey["links"]}
        assert links[("0:plan", "1:checkout")] >= 2
        assert {n["name"] for n in sankey["nodes"]} >= {"0:plan", "1:checkout", "2:order"}
    pd.testing.assert_frame_equal(results[0], results[1])


def test_stage_progression_and_scorecard(shop: Workspace, spark_session: Any) -> None:
    journey = shop.journey_map()
    stage_answers, card_answers = [], []
    for engine in engines(shop, spark_session):
        stages = run_progression(engine, journey, ProgressionQuery(stall_days=3)).set_index("stage")
        stage_answers.append(stages)
        # celina went from buy back to discover (checkout, then a plan view): the one regression
        assert stages.loc["discover", "regressions_in"] == 1  # celina
        assert stages.loc["buy", "regressions_out"] == 1
        assert stages.loc["support", "customers"] == 2  # bart, ewa
        assert stages.loc["discover", "customers"] == 5
        # ania reached buy on day 1 and is still there on day 9 (the last event): stalled
        assert stages.loc["buy", "current"] == 3  # ania, dawid, filip
        assert stages.loc["buy", "stalled"] == 3
        moves = run_transitions(engine, journey, ProgressionQuery())
        regression = moves[moves.regression]
        assert regression[["from_stage", "to_stage", "moves"]].values.tolist() == [
            ["buy", "discover", 1]
        ]
        card = run_scorecard(engine, journey, ScorecardQuery(repeat_days=7)).set_index("touchpoint")
        card_answers.append(card)
        assert card.loc["plan", "visits"] == 6 and card.loc["plan", "customers"] == 5
        # bart viewed plans on days 1 and 8: 7 days apart, inside the 7-day horizon
        assert card.loc["plan", "repeat_rate"] == pytest.approx(1 / 6)
        # calls follow bart's day-9 order and ewa's order: contact-after
        assert card.loc["order", "contact_after_rate"] == pytest.approx(2 / 4)
        assert card.loc["call", "health"] == "no-data"  # 2 customers < 30
    pd.testing.assert_frame_equal(stage_answers[0], stage_answers[1])
    pd.testing.assert_frame_equal(card_answers[0], card_answers[1])


def test_the_workspace_runs_its_analytics_on_the_engine_its_settings_name(
    shop: Workspace, spark_session: Any
) -> None:
    from cxm.workspace import Workspace as Ws

    settings = shop.settings.model_copy(update={"analytics_engine": "spark"})
    with Ws.open(settings=settings) as on_spark:
        assert on_spark.query_engine().name == "spark"
        funnel = on_spark.journeys.funnel(["plan", "checkout", "order"])
    assert funnel.equals(shop.journeys.funnel(["plan", "checkout", "order"]))
    assert shop.query_engine().name == "duckdb"


def test_bad_queries_say_what_is_wrong(shop: Workspace) -> None:
    engine, journey = DuckDBEngine(shop.lake), shop.journey_map()
    with pytest.raises(ValidationError, match="at least 2"):
        FunnelQuery(steps=["plan"])
    with pytest.raises(ValidationError, match="window_days"):
        FunnelQuery(steps=["plan", "order"], window_days=0)
    with pytest.raises(ValidationError, match="must be before"):
        FunnelQuery(steps=["plan", "order"], start="2026-03-05", end="2026-03-01")
    with pytest.raises(ValidationError, match="breakdown"):
        FunnelQuery(steps=["plan", "order"], breakdown="colour")
    with pytest.raises(InvalidInput, match=r"steps\[1\]: no touchpoint 'nope'"):
        run_funnel(engine, journey, FunnelQuery(steps=["plan", "nope"]))
    with pytest.raises(InvalidInput, match="touchpoint: no touchpoint 'x'"):
        run_paths(engine, journey, PathQuery(touchpoint="x"))


def test_journey_map_is_parsed_from_the_module_text() -> None:
    assert [s.id for s in parse_journey_map(MAP).stages] == ["discover", "buy", "support"]

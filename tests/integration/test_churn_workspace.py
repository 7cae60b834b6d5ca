"""Churn from a workspace's own history: a model is refused, with what is needed, when the
history is too short; otherwise every customer is scored, banded (the trait churn_risk, which
segments see) and explained, and the drivers name what goes with leaving."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cxm.errors import InvalidInput
from cxm.insights.churn_data import train_workspace_model
from cxm.insights.scoring import score_of
from cxm.journeys.map import telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.segments import do_save_segment
from cxm.workspace import Workspace
from helpers import journeys_for


def _history(now: datetime, customers: int = 1200) -> dict[str, list[dict[str, Any]]]:
    """300 days of a small company: everyone browses; three in ten have a call transferred, and
    half of those cancel one to two months later; a few others cancel at random."""
    rng = random.Random(5)
    start = now - timedelta(days=300)
    people: dict[str, list[dict[str, Any]]] = {}
    for i in range(customers):
        joined = start + timedelta(days=rng.uniform(0, 60))
        gone: datetime | None = None
        steps: list[dict[str, Any]] = []
        if rng.random() < 0.3:
            transfer = joined + timedelta(days=rng.uniform(20, 260))
            steps.append({"event": "Call Transferred", "channel": "phone", "at": transfer})
            if rng.random() < 0.5:
                gone = transfer + timedelta(days=rng.uniform(30, 60))
        if gone is None and rng.random() < 0.05:
            gone = joined + timedelta(days=rng.uniform(30, 290))
        at = joined
        while at < min(gone or now, now - timedelta(days=1)):
            steps.append({"type": "page", "event": "Home", "channel": "web", "at": at})
            at += timedelta(days=rng.uniform(5, 15))
        if gone is not None and gone < now - timedelta(days=1):
            steps.append({"event": "Subscription Cancelled", "channel": "other", "at": gone})
        steps = [s for s in steps if s["at"] < now - timedelta(days=1)]
        people[f"u{i:04d}"] = [
            {**s, "at": s["at"].isoformat()} for s in sorted(steps, key=lambda s: s["at"])
        ]
    return people


def test_customers_are_scored_banded_and_segmentable(workspace: Workspace) -> None:
    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test",
                            filename="telecom.yaml")  # fmt: skip
    now = datetime.now(UTC)
    history = _history(now)
    ids = journeys_for(workspace, history)
    report = workspace.insights.refresh(retrain=True)
    assert report.trained is not None, report.refused
    assert report.trained["roc_auc"] > 0.65  # judged on the later period
    assert report.scored is not None and report.scored["customers"] > 500
    bands = report.scored["bands"]
    assert bands["high"] > 0 and bands["low"] > bands["high"]
    # Who had a call transferred lately is riskier than who did not.
    transferred = {p for p, steps in history.items()
                   if any(s["event"] == "Call Transferred" for s in steps)}  # fmt: skip
    with workspace.session() as s:
        scores = {ids[p]: score_of(s, ids[p]) for p in history}
    risk_t = [v.risk for p, v in scores.items() if v and p in {ids[t] for t in transferred}]
    risk_o = [v.risk for p, v in scores.items() if v and p not in {ids[t] for t in transferred}]
    assert sum(risk_t) / len(risk_t) > 1.5 * sum(risk_o) / len(risk_o)
    # The band is a trait: a segment on it holds exactly the high-risk customers.
    workspace.catch_up()
    with workspace.session() as s:
        do_save_segment(session=s, actor="test",
                        data={"name": "churn-high", "traits": {"churn_risk": "high"}})  # fmt: skip
        high = {p for p, v in scores.items() if v and v.band == "high"}
    assert set(workspace.segment_members("churn-high")) == high
    # A second run with the same model sends no trait again (the message ids repeat).
    workspace.insights.score()
    # The drivers put the transfer on top, harmful and significant.
    kept = workspace.insights.drivers()
    assert kept is not None
    first = kept["analyses"]["churn"]["drivers"][0]
    assert (first["key"], first["harmful"], first["significant"]) == ("call-transfer", True, True)
    assert first["owners"]["call-centre"] == 0.9


def test_too_little_history_is_refused_and_reported(workspace: Workspace) -> None:
    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test",
                            filename="telecom.yaml")  # fmt: skip
    now = datetime.now(UTC)
    journeys_for(workspace, {
        f"c{i}": [{"event": "Page Viewed", "channel": "web",
                   "at": (now - timedelta(days=i % 30)).isoformat()}]
        for i in range(50)
    })  # fmt: skip
    with pytest.raises(InvalidInput, match="needs at least 150 days"):
        train_workspace_model(workspace.query_engine(), workspace.journey_map(), now=now)
    report = workspace.insights.refresh()
    assert report.trained is None and report.scored is None
    assert "needs at least 150 days" in report.refused["train"]
    assert "no churn model yet" in report.refused["score"]
    assert "cannot tell who left" in report.refused["drivers.churn"]  # nobody has cancelled
    assert "NPS drivers need at least 100 NPS answers" in report.refused["drivers.nps"]
    assert "experience" in report.refused
    assert workspace.insights.last_refresh()["refused"] == report.refused  # type: ignore[index]

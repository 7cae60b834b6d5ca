"""The experience model on a workspace's own NPS answers: customers who called often answer
low, features come only from before each answer, the whole base gets a band, and too few
answers get a refusal that says what is needed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cxm.errors import InvalidInput
from cxm.insights.churn_data import customer_features
from cxm.insights.experience import (
    BANDS,
    experience_training_set,
    score_customers,
    train_workspace_experience,
)
from cxm.journeys.map import telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace
from helpers import journeys_for


def save_map(workspace: Workspace) -> None:
    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test",
                            filename="telecom.yaml")  # fmt: skip


def answer(at: datetime, score: int) -> dict[str, Any]:
    return {"event": "Survey Answered", "channel": "web", "at": at.isoformat(),
            "properties": {"survey": "relationship", "kind": "nps", "score": score}}  # fmt: skip


def customers(now: datetime, count: int) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """Each customer calls 0-3 times a month or more before answering; no calls: 9-10, one
    call: 7-8, more: 0-6, one answer in seven at random. Every fifth customer answered once
    before too. Returns the journeys and each customer's earlier answer."""
    rng = random.Random(3)
    people: dict[str, list[dict[str, Any]]] = {}
    earlier: dict[str, int] = {}
    for i in range(count):
        answered = now - timedelta(days=3 + (i * 37) % 140, hours=i % 24)
        calls = i % 4
        score = (rng.choice([9, 10]) if calls == 0 else rng.choice([7, 8]) if calls == 1
                 else rng.randint(0, 6))  # fmt: skip
        if rng.random() < 1 / 7:
            score = rng.randint(0, 10)
        steps = [{"event": "Home", "type": "page", "channel": "web",
                  "at": (now - timedelta(days=250)).isoformat()}]  # fmt: skip
        steps += [{"event": "Call Started", "channel": "phone",
                   "at": (answered - timedelta(days=35 + 4 * j)).isoformat()}
                  for j in range(calls)]  # fmt: skip
        if i % 5 == 0:
            earlier[f"c{i}"] = rng.randint(0, 10)
            steps.append(answer(answered - timedelta(days=45), earlier[f"c{i}"]))
        steps.append(answer(answered, score))
        people[f"c{i}"] = steps
    return people, earlier


def test_behaviour_predicts_the_band_without_leaking_the_answer(workspace: Workspace) -> None:
    save_map(workspace)
    now = datetime.now(UTC)
    people, earlier = customers(now, 260)
    ids = journeys_for(workspace, people)
    engine, journey = workspace.query_engine(), workspace.journey_map()

    data = experience_training_set(engine, journey, end=now)
    assert len(data.answers) == 260 + len(earlier) and data.skipped == 0
    # An answer never sees itself or a later one: a customer's first answer has no last_nps,
    # the second sees the first.
    rows = data.features.assign(customer=data.answers["customer_id"].to_numpy(),
                                score=data.answers["score"].to_numpy())  # fmt: skip
    by_id = {ids[name]: name for name in people}
    for customer, group in rows.groupby("customer"):
        name = by_id[str(customer)]
        assert group["last_nps"].iloc[0] != group["last_nps"].iloc[0]  # NaN
        if name in earlier:
            assert len(group) == 2 and group["last_nps"].iloc[1] == earlier[name]
    assert "answered_nps_before" in data.features

    result = train_workspace_experience(engine, journey, now=now)
    figures = result.evaluation
    assert figures.test_answers >= 60 and figures.train_answers >= 200
    assert figures.accuracy > figures.baseline_accuracy + 0.1
    assert figures.macro_f1 > figures.baseline_macro_f1 + 0.2
    assert abs(figures.nps_error) < 25

    scored = score_customers(result.model, customer_features(engine, journey, now))
    assert len(scored) == 260 and set(scored["band"]) <= set(BANDS)
    quiet = [ids[f"c{i}"] for i in range(0, 260, 4)]
    assert scored.loc[quiet, "promoter"].mean() > scored["promoter"].mean()


def test_too_few_answers_are_refused_with_what_is_needed(workspace: Workspace) -> None:
    save_map(workspace)
    now = datetime.now(UTC)
    visits = {
        f"v{i}": [{"event": "Home", "type": "page", "channel": "web",
                   "at": (now - timedelta(days=60 + i)).isoformat()}]
        for i in range(10)
    }  # fmt: skip
    journeys_for(workspace, visits)
    engine, journey = workspace.query_engine(), workspace.journey_map()
    with pytest.raises(InvalidInput, match="no experience model: the lake holds no NPS answers"):
        train_workspace_experience(engine, journey, now=now)

    people, _ = customers(now, 60)
    journeys_for(workspace, people)
    with pytest.raises(InvalidInput, match="answers are too few .* at least 150 are needed"):
        train_workspace_experience(workspace.query_engine(), workspace.journey_map(), now=now)

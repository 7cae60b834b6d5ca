"""The demo's survey answers: the shape cxm's own surveys log, and scores that follow the effort
each customer went through (the planted ground truth the effort metrics are checked against)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from statistics import mean
from typing import Any

import pytest

from cxm.demo.effort import Effort, ces_score
from cxm.demo.generator import DemoCompany, generate_company
from cxm.demo.recorder import DAY, HOUR
from cxm.journeys.map import default_journey_map
from cxm.surveys import SCALES

SURVEY_KEYS = ["survey", "kind", "score", "comment", "touchpoint", "case", "language"]
SURVEY_OF_KIND = {"nps": "relationship_nps", "csat": "contact_csat", "ces": "contact_ces"}
EFFORT_KEYS = {"contacts", "channel_switches", "handoffs", "data_reasks", "days_to_resolve"}


@pytest.fixture(scope="module")
def year() -> DemoCompany:
    """A year of 1,500 customers: enough answers for the statistics below."""
    return generate_company(seed=5, customers=1500, days=365)


def _answers(company: DemoCompany) -> list[dict[str, Any]]:
    """Survey answers with the customer key (``customer``) added."""
    owner = {c["user_id"]: key for key, c in company.ground_truth["customers"].items()}
    return [
        {**e["properties"], "customer": owner[e["userId"]], "messageId": e["messageId"]}
        for _, e in company.events
        if e.get("event") == "Survey Answered"
    ]


def _by_customer(answers: list[dict[str, Any]], kind: str) -> dict[str, float]:
    scores: dict[str, list[int]] = defaultdict(list)
    for answer in answers:
        if answer["kind"] == kind:
            scores[answer["customer"]].append(answer["score"])
    return {key: mean(values) for key, values in scores.items()}


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    rx, ry = _ranks(x), _ranks(y)
    mx, my = mean(rx), mean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var_x = sum((a - mx) ** 2 for a in rx)
    var_y = sum((b - my) ** 2 for b in ry)
    return float(cov / (var_x * var_y) ** 0.5)


def test_spearman_helper_against_hand_computed_values() -> None:
    assert _ranks([10, 20, 20, 5]) == [2.0, 3.5, 3.5, 1.0]
    assert spearman([1, 2, 3, 4], [8, 6, 4, 2]) == pytest.approx(-1.0)
    # d = (0, 1, -1, 0): 1 - 6 * 2 / (4 * 15)
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)


def test_every_answer_has_the_shape_cxm_surveys_log(year: DemoCompany) -> None:
    touchpoints = {t.id for t in default_journey_map().touchpoints}
    cases = {i["case"] for i in year.ground_truth["incidents"] if i["case"]}
    languages = {key: c["language"] for key, c in year.ground_truth["customers"].items()}
    labels = year.ground_truth["text_labels"]
    answers = _answers(year)
    assert answers
    for answer in answers:
        properties = {k: v for k, v in answer.items() if k not in ("customer", "messageId")}
        assert list(properties) == SURVEY_KEYS
        kind, score = answer["kind"], answer["score"]
        low, high = SCALES[kind]
        assert isinstance(score, int) and low <= score <= high, answer
        assert answer["survey"] == SURVEY_OF_KIND[kind]
        assert answer["language"] == languages[answer["customer"]]
        if kind == "nps":
            assert answer["touchpoint"] is None and answer["case"] is None
        else:
            assert answer["touchpoint"] in touchpoints
        assert answer["case"] is None or answer["case"] in cases
        if answer["comment"] is None:
            assert answer["messageId"] not in labels
        else:
            assert isinstance(answer["comment"], str) and answer["comment"].strip()
            assert labels[answer["messageId"]]["topic"] == "survey"
    kinds = {a["kind"] for a in answers}
    assert kinds == {"nps", "csat", "ces"}
    after_contacts = {a["touchpoint"] for a in answers if a["kind"] == "ces"}
    assert {"calls", "email-support", "live-chat", "branch-issue", "repair"} <= after_contacts
    assert any(a["case"] for a in answers), "answers after the broken journey name its case"


def test_about_a_third_of_incidents_get_a_ces_answer(year: DemoCompany) -> None:
    answers = _answers(year)
    incidents = year.ground_truth["incidents"]
    ces = sum(a["kind"] == "ces" for a in answers)
    assert 0.25 <= ces / len(incidents) <= 0.35


def test_broken_journey_customers_find_it_much_harder(year: DemoCompany) -> None:
    answers = _answers(year)
    broken = set(year.ground_truth["broken_journeys"])
    ces = _by_customer(answers, "ces")
    broken_ces = [v for k, v in ces.items() if k in broken]
    other_ces = [v for k, v in ces.items() if k not in broken]
    assert len(broken_ces) >= 20
    assert mean(broken_ces) < mean(other_ces) - 1.0
    nps = _by_customer(answers, "nps")
    assert mean(v for k, v in nps.items() if k in broken) < mean(
        v for k, v in nps.items() if k not in broken
    )


def test_answers_fall_as_the_planted_effort_rises(year: DemoCompany) -> None:
    customers = year.ground_truth["customers"]
    answers = _answers(year)
    for kind, strongest in (("ces", -0.35), ("csat", -0.15), ("nps", -0.3)):
        scores = _by_customer(answers, kind)
        keys = sorted(scores)
        effort = [customers[k]["effort"]["points"] for k in keys]
        rho = spearman([scores[k] for k in keys], effort)
        assert rho < strongest, f"{kind}: Spearman {rho:.2f} with the planted effort"


def test_planted_effort_sums_the_incidents(year: DemoCompany) -> None:
    truth = year.ground_truth
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for incident in truth["incidents"]:
        by_customer[incident["customer"]].append(incident)
        assert incident["start"] <= incident["end"]
        assert incident["contacts"] >= (0 if incident["broken_journey"] else 1)
    for key, customer in truth["customers"].items():
        effort = customer["effort"]
        own = by_customer.get(key, [])
        assert effort["incidents"] == len(own)
        for component in EFFORT_KEYS | {"points"}:
            assert effort[component] == pytest.approx(sum(i[component] for i in own), abs=0.01)
    broken = [i for i in truth["incidents"] if i["broken_journey"]]
    assert {i["customer"] for i in broken} == set(truth["broken_journeys"])
    for incident in broken:
        assert incident["case"] and incident["handoffs"] >= 2 and incident["data_reasks"] >= 2
    ordinary = [i["points"] for i in truth["incidents"] if not i["broken_journey"]]
    assert mean(i["points"] for i in broken) > 3 * mean(ordinary)
    assert set(truth["effort_model"]["weights"]) >= {"extra_contacts", "data_reasks"}


def test_ces_model_on_hand_built_incidents() -> None:
    easy = Effort(topic="question", start=0, until=30 * DAY)
    easy.step("chat", 0, 10 * 60_000, touchpoint="live-chat")
    hard = Effort(topic="outage", start=0, until=30 * DAY)
    hard.step("branch", 0, HOUR, touchpoint="branch-issue")
    hard.step("phone", DAY, DAY + HOUR, touchpoint="calls", handoff=True, data_requests=2)
    hard.step("phone", 2 * DAY, 2 * DAY + HOUR, touchpoint="calls", data_requests=1)
    hard.complaint("email", 3 * DAY)
    hard.step("email", 40 * DAY, 41 * DAY, touchpoint="email-support")  # after the window
    assert easy.points == pytest.approx(0.1 * (10 / 1440))
    assert (hard.contacts, hard.channel_switches, hard.handoffs, hard.data_reasks) == (4, 2, 1, 2)
    assert hard.touchpoint == "calls" and hard.days_to_resolve == pytest.approx(2 + 1 / 24)
    rng = random.Random(1)
    easy_scores = [ces_score(rng, easy) for _ in range(400)]
    hard_scores = [ces_score(rng, hard) for _ in range(400)]
    assert all(1 <= s <= 7 for s in easy_scores + hard_scores)
    assert mean(easy_scores) == pytest.approx(6.2, abs=0.25)  # clipped at 7, a little lower
    assert mean(hard_scores) < 2.5

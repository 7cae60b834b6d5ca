"""Holdout uplift and association rules, checked against arithmetic done by hand here."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from cxm.automation.campaigns import Member, Outcome, uplift
from cxm.automation.firing import draws_holdout
from cxm.automation.rules import Goal
from cxm.insights import associate
from cxm.metrics.distributions import fisher_exact_greater

NOW = datetime(2026, 6, 1, tzinfo=UTC)
GOAL = Goal("Add-on Purchased", {"addon": "Wi-Fi Booster"}, 30)


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_uplift_against_hand_arithmetic() -> None:
    start = NOW - timedelta(days=40)
    cohort = [Member(f"t{i}", "treatment", start) for i in range(100)]
    cohort += [Member(f"h{i}", "holdout", start) for i in range(50)]
    cohort += [Member(f"late{i}", "treatment", NOW - timedelta(days=10)) for i in range(7)]
    cohort += [Member("t0", "treatment", start + timedelta(days=1))]  # a second assignment
    buy = {"addon": "Wi-Fi Booster"}
    outcomes = [
        Outcome(f"t{i}", start + timedelta(days=3), "Add-on Purchased", buy) for i in range(30)
    ]
    # Outside the window, another add-on, or before the assignment: none of these count.
    outcomes += [
        Outcome(f"t{i}", start + timedelta(days=31), "Add-on Purchased", buy) for i in range(30, 35)
    ]
    outcomes += [
        Outcome("t40", start + timedelta(days=2), "Add-on Purchased", {"addon": "Static IP"})
    ]
    outcomes += [Outcome("t41", start - timedelta(days=2), "Add-on Purchased", buy)]
    outcomes += [
        Outcome(f"h{i}", start + timedelta(days=5), "Add-on Purchased", buy) for i in range(10)
    ]
    outcomes += [
        Outcome(f"late{i}", NOW - timedelta(days=5), "Add-on Purchased", buy) for i in range(7)
    ]
    outcomes += [
        Outcome(f"t{i}", start + timedelta(days=9), "Subscription Cancelled", {})
        for i in range(50, 54)
    ]
    outcomes += [Outcome(f"h{i}", start + timedelta(days=9), "Subscription Cancelled", {})
                 for i in range(20, 25)]  # fmt: skip
    report = uplift("wifi", cohort, outcomes, goal=GOAL,
                    churn_events=frozenset({"Subscription Cancelled"}), now=NOW)  # fmt: skip
    t, h = report.treatment, report.holdout
    assert (t.assigned, t.measured, t.converted, t.churned) == (107, 100, 30, 4)
    assert (h.assigned, h.measured, h.converted, h.churned) == (50, 50, 10, 5)
    c = report.conversion
    assert c.a.estimate == 0.2 and c.b.estimate == 0.3
    assert c.difference == pytest.approx(0.1)
    pooled = 40 / 150
    se = math.sqrt(pooled * (1 - pooled) * (1 / 50 + 1 / 100))
    assert c.z == pytest.approx(0.1 / se)
    assert c.p_value == pytest.approx(math.erfc((0.1 / se) / math.sqrt(2)))
    (hl, hh), (tl, th) = wilson(10, 50), wilson(30, 100)
    assert c.low == pytest.approx(0.1 - math.hypot(0.3 - tl, hh - 0.2))
    assert c.high == pytest.approx(0.1 + math.hypot(th - 0.3, 0.2 - hl))
    body = report.to_dict()
    assert body["conversion"]["relative_uplift"] == pytest.approx(0.5)
    assert report.churn.difference == pytest.approx(0.04 - 0.10)
    assert report.nps is None  # too few answers to say


def test_the_holdout_draw_is_random_and_sticky() -> None:
    drawn = sum(draws_holdout("offer", f"p_{i}", 0.2) for i in range(20_000))
    assert abs(drawn / 20_000 - 0.2) < 0.01
    assert [draws_holdout("offer", "p_7", 0.2) for _ in range(3)] in ([True] * 3, [False] * 3)
    # Another campaign draws independently.
    same = sum(
        draws_holdout("offer", f"p_{i}", 0.5) == draws_holdout("other", f"p_{i}", 0.5)
        for i in range(10_000)
    )
    assert abs(same / 10_000 - 0.5) < 0.02


def test_association_arithmetic_and_order() -> None:
    day = NOW - timedelta(days=100)
    reports = {f"c{i}": {7: day} for i in range(100)}
    bought = {f"c{i}": {"Wi-Fi Booster": day + timedelta(days=10 + i % 5)} for i in range(40)}
    bought |= {f"c{i}": {"Wi-Fi Booster": day - timedelta(days=1)} for i in range(40, 45)}
    bought |= {f"d{i}": {"Wi-Fi Booster": day} for i in range(35)}
    bought |= {f"e{i}": {"TV Sport Pack": day + timedelta(days=2)} for i in range(60)}
    bought |= {f"c{i}": {"TV Sport Pack": day + timedelta(days=3)} for i in range(90, 96)}
    report = associate(reports, bought, customers=1000, names={7: "slow internet"}, start=day,
                       end=NOW, min_customers=10, min_both=5, alpha=0.05)  # fmt: skip
    rules = {(r.problem, r.product): r for r in report.rules}
    wifi = rules[("slow internet", "Wi-Fi Booster")]
    # 40 bought after reporting; 5 bought before (counted as not after); 35 others bought.
    assert (wifi.with_problem, wifi.with_product, wifi.both) == (100, 80, 40)
    assert wifi.confidence == pytest.approx(0.4)
    assert wifi.support == pytest.approx(0.04)
    assert wifi.lift == pytest.approx(0.4 / 0.08)
    assert wifi.p_value == pytest.approx(fisher_exact_greater(40, 60, 35, 865))
    assert wifi.significant and wifi.median_days_after == 12.0
    sport = rules[("slow internet", "TV Sport Pack")]
    assert (sport.both, sport.significant) == (6, False)  # 6 of 100 vs 60 of 900: no link
    assert report.tested == 2


def test_fisher_matches_reference_values() -> None:
    # Reference values of the one-sided test (R's fisher.test(..., alternative="greater")).
    assert fisher_exact_greater(8, 2, 1, 5) == pytest.approx(0.024475524475524483)
    assert fisher_exact_greater(3, 1, 1, 3) == pytest.approx(0.24285714285714283)
    assert fisher_exact_greater(120, 300, 200, 4000) == pytest.approx(1.0775167880371773e-48)
    with pytest.raises(ValueError):
        fisher_exact_greater(-1, 2, 3, 4)

"""Driver analysis arithmetic: the controlled effect of each exposure with its cluster-robust
interval, twins merged, and the departments' fix-first lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxm.insights.drivers import DriverAnalysis, _analyse, fit_drivers, fix_first, merge_twins


def test_one_driver_matches_the_hand_computed_regression() -> None:
    rng = np.random.default_rng(1)
    n = 600
    activity = rng.normal(0, 1, n)
    exposed = (rng.random(n) < 0.3 + 0.2 * (activity > 0)).astype(float)
    y = 0.1 + 0.25 * exposed + 0.05 * activity + rng.normal(0, 0.2, n)
    controls = pd.DataFrame({"activity": activity})
    fit = fit_drivers(pd.DataFrame({"x": exposed}), y, controls, np.arange(n))
    # The full regression y ~ 1 + x + activity, solved directly.
    design = np.column_stack([np.ones(n), exposed, activity])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert fit.loc["x", "effect"] == pytest.approx(beta[1], abs=1e-9)
    # Heteroskedasticity-robust (each row its own cluster) SE, by the sandwich formula.
    residual = y - design @ beta
    bread = np.linalg.inv(design.T @ design)
    meat = (design * residual[:, None] ** 2).T @ design
    correction = n / (n - 1) * (n - 1) / (n - 3)
    se = np.sqrt((bread @ meat @ bread)[1, 1] * correction)
    assert fit.loc["x", "se"] == pytest.approx(se, rel=1e-6)
    assert fit.loc["x", "low"] < 0.25 < fit.loc["x", "high"]
    assert fit.loc["x", "p_value"] < 1e-10


def test_repeated_customers_widen_the_interval() -> None:
    """The same customer at several cutoffs is one cluster, not several independent rows."""
    rng = np.random.default_rng(2)
    customers = 200
    x_customer = (rng.random(customers) < 0.4).astype(float)
    y_customer = 0.1 * x_customer + rng.normal(0, 0.3, customers)
    x = np.repeat(x_customer, 4)
    y = np.repeat(y_customer, 4) + rng.normal(0, 0.01, customers * 4)
    frame = pd.DataFrame({"x": x})
    as_rows = fit_drivers(frame, y, pd.DataFrame(index=frame.index), np.arange(len(y)))
    as_customers = fit_drivers(
        frame, y, pd.DataFrame(index=frame.index), np.repeat(np.arange(customers), 4)
    )
    assert as_customers.loc["x", "se"] > 1.8 * as_rows.loc["x", "se"]


def test_twins_are_merged_and_named_together() -> None:
    rng = np.random.default_rng(3)
    base = (rng.random(500) < 0.3).astype(int)
    twin = base.copy()
    twin[:3] = 1 - twin[:3]  # nearly always together
    other = (rng.random(500) < 0.3).astype(int)
    groups = merge_twins(pd.DataFrame({"d:a": base, "d:b": twin, "d:c": other}))
    assert groups == {"d:a": ["d:a", "d:b"], "d:c": ["d:c"]}


def _rows(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "events": rng.integers(1, 30, n),
            "tenure_years": rng.random(n) * 3,
            "period": 0,
            "d:touchpoint:transfer": (rng.random(n) < 0.1).astype(int),
            "d:touchpoint:web": (rng.random(n) < 0.5).astype(int),
            "d:touchpoint:invoice": (rng.random(n) < 0.95).astype(int),
            "d:topic:7": (rng.random(n) < 0.002).astype(int),
        }
    )
    churn = rng.random(n) < 0.03 + 0.2 * rows["d:touchpoint:transfer"]
    return rows, churn.astype(float)


def test_the_planted_driver_leads_and_the_common_and_rare_are_set_aside() -> None:
    rows, y = _rows(4000, 4)
    catalogue = {
        "d:touchpoint:transfer": ("Call transferred", "touchpoint", {"call-centre": 0.9}),
        "d:touchpoint:web": ("Website", "touchpoint", {"it": 0.9}),
    }
    analysis = _analyse("churn", rows, y, catalogue, periods=1, horizon_days=60)
    first = analysis.drivers[0]
    assert (first.key, first.harmful, first.significant) == ("transfer", True, True)
    assert first.effect == pytest.approx(20, abs=4)  # percentage points
    assert first.low < 20 < first.high
    web = next(d for d in analysis.drivers if d.key == "web")
    assert not web.significant
    assert analysis.too_common == ["touchpoint:invoice"]
    assert analysis.too_rare == ["topic:7"]
    lists = fix_first([analysis])
    assert [i["key"] for i in lists["call-centre"]] == ["transfer"]
    assert "it" not in lists


def test_nps_drivers_are_in_points_and_harmful_when_negative() -> None:
    rows, _ = _rows(3000, 5)
    rng = np.random.default_rng(6)
    transfer = rows["d:touchpoint:transfer"].to_numpy()
    p_detractor = 0.2 + 0.5 * transfer
    y = np.where(rng.random(len(rows)) < p_detractor, -100.0, 100.0)
    analysis: DriverAnalysis = _analyse("nps", rows, y, {}, periods=1, horizon_days=0)
    transfer_driver = next(d for d in analysis.drivers if d.key == "transfer")
    assert transfer_driver.harmful and transfer_driver.significant
    assert transfer_driver.effect == pytest.approx(-100, abs=20)  # 50 pp more detractors
    assert transfer_driver.impact == pytest.approx(
        transfer_driver.effect * transfer.mean(), rel=1e-9
    )

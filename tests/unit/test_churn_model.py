"""The churn model on data with a known answer, and its refusals when the data cannot carry a
model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxm.errors import InvalidInput
from cxm.insights.churn import cross_validate, fit_churn_model
from cxm.insights.churn_data import (
    WorkspaceChurn,
    load_latest_model,
    model_versions,
    save_workspace_model,
)


def planted(n: int = 1500, seed: int = 4) -> tuple[pd.DataFrame, np.ndarray]:
    """Month-to-month contracts and short tenure churn; the colour of the logo does nothing."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(1, 72, n)
    colour = rng.choice(["red", "blue"], n)
    logit = -1.0 + 1.8 * (contract == "Month-to-month") - 0.04 * tenure
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({"contract": contract, "tenure": tenure, "colour": colour})
    return frame, churned.astype(int)


def test_the_model_finds_the_planted_drivers_and_says_why() -> None:
    features, churned = planted()
    model = fit_churn_model(features, churned)
    p = model.predict(features)
    assert ((p >= 0) & (p <= 1)).all()
    monthly = features["contract"] == "Month-to-month"
    assert p[monthly.to_numpy()].mean() > 2 * p[~monthly.to_numpy()].mean()
    new = pd.DataFrame({"contract": ["Month-to-month", "Two year"], "tenure": [2, 70],
                        "colour": ["red", "red"]})  # fmt: skip
    risky, safe = model.reasons(new, top=2)
    assert {name for name, _, _ in risky} == {"contract", "tenure"}
    assert all(effect > 0 for _, _, effect in risky)
    assert all(effect < 0 for _, _, effect in safe)
    assert model.predict(new)[0] > 0.5 > model.predict(new)[1]


def test_cross_validation_beats_chance_and_reports_calibration() -> None:
    features, churned = planted()
    result = cross_validate(features, churned, folds=3)
    assert 0.7 < result.roc_auc <= 1 and len(result.roc_auc_per_fold) == 3
    assert 0 < result.brier < 0.25


@pytest.mark.parametrize(
    ("rows", "churners", "message"),
    [(50, 20, "too few"), (500, 0, "each group"), (500, 500, "each group")],
)
def test_no_model_from_data_that_cannot_carry_one(rows: int, churners: int, message: str) -> None:
    features = pd.DataFrame({"tenure": np.arange(rows)})
    churned = np.array([1] * churners + [0] * (rows - churners))
    with pytest.raises(InvalidInput, match=message):
        fit_churn_model(features, churned)


def test_no_model_without_features() -> None:
    with pytest.raises(InvalidInput, match="no features"):
        fit_churn_model(pd.DataFrame(index=range(300)), np.array([0, 1] * 150))


def test_versions_are_kept_with_their_figures(tmp_path: Path) -> None:
    features, churned = planted()
    model = fit_churn_model(features, churned)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    result = WorkspaceChurn(model, now - timedelta(days=120), now - timedelta(days=60), 60,
                            1500, 300, 1500, 310, 0.81, 0.5, 0.15, 0.2)  # fmt: skip
    first = save_workspace_model(result, tmp_path)
    second = save_workspace_model(result, tmp_path / "again")
    assert first.exists() and second.exists()
    (version,) = model_versions(tmp_path)
    assert version["roc_auc"] == 0.81 and version["file"] == first.name
    loaded = load_latest_model(tmp_path)
    assert np.allclose(loaded.predict(features.head(5)), model.predict(features.head(5)))
    with pytest.raises(InvalidInput, match="no churn model yet"):
        load_latest_model(tmp_path / "empty")

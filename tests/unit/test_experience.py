"""The experience model on answers whose bands follow a known rule with noise: it beats always
guessing the most common band on a later period, estimates a group's NPS, and refuses data
that cannot carry a model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from cxm.errors import InvalidInput
from cxm.insights.experience import (
    BANDS,
    evaluate,
    fit_experience_model,
    nps_band,
    nps_of,
    score_customers,
)

START = datetime(2025, 1, 1, tzinfo=UTC)


def planted(n: int = 1200, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Reopened matters, being asked again for known data and many contacts make detractors;
    the plan and the colour of the logo do nothing. Answers spread over a year."""
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(
        {
            "reopen_90": rng.poisson(0.5, n).astype(float),
            "asked_known_90": rng.poisson(0.4, n).astype(float),
            "contact_90": rng.poisson(1.5, n).astype(float),
            "tenure_days": rng.uniform(30, 1500, n),
            "trait_plan": rng.choice(["fibre", "mobile", "tv"], n),
            "colour": rng.choice(["red", "blue"], n),
        }
    )
    score = (
        9.3
        - 2.2 * features["reopen_90"]
        - 1.6 * features["asked_known_90"]
        - 0.5 * features["contact_90"]
        + rng.normal(0, 1.3, n)
    )
    bands = np.array([nps_band(s) for s in np.clip(np.round(score), 0, 10)], dtype=object)
    at = pd.Series([START + timedelta(days=float(d)) for d in np.sort(rng.uniform(0, 365, n))])
    return features, bands, at


def test_the_model_beats_the_most_common_band_on_a_later_period() -> None:
    features, bands, at = planted()
    result = evaluate(features, bands, at)
    assert result.test_answers == 300 and result.train_answers == 900
    assert result.split_at > START + timedelta(days=250)
    assert result.accuracy > result.baseline_accuracy + 0.15
    assert result.macro_f1 > result.baseline_macro_f1 + 0.3
    assert abs(result.nps_error) < 8
    assert sum(result.test_band_counts.values()) == 300
    assert result.baseline_band in BANDS


def test_a_groups_expected_nps_is_close_to_what_it_would_answer() -> None:
    features, bands, _ = planted()
    model = fit_experience_model(features, bands)
    fresh, truth, _ = planted(seed=8)  # customers the model never saw
    reopened = (fresh["reopen_90"] > 0).to_numpy()
    for group in (reopened, ~reopened):
        assert abs(model.expected_nps(fresh[group]) - nps_of(truth[group])) < 8
    assert model.expected_nps(fresh[reopened]) < model.expected_nps(fresh[~reopened]) - 40


def test_probabilities_bands_and_scores_per_customer() -> None:
    features, bands, _ = planted(n=400)
    model = fit_experience_model(features, bands)
    p = model.predict_proba(features.head(5))
    assert list(p.columns) == list(BANDS)
    assert np.allclose(p.sum(axis=1), 1)
    calm = pd.DataFrame({"reopen_90": [0.0, 3.0], "asked_known_90": [0.0, 2.0],
                         "contact_90": [0.0, 5.0]}, index=["calm", "angry"])  # fmt: skip
    scored = score_customers(model, calm)  # the other columns count as unknown
    assert scored.loc["calm", "band"] == "promoter"
    assert scored.loc["angry", "band"] == "detractor"
    assert list(model.predict_band(calm)) == ["promoter", "detractor"]


def test_a_band_nobody_chose_gets_no_probability() -> None:
    rng = np.random.default_rng(1)
    features = pd.DataFrame({"reopen_90": rng.poisson(0.5, 300).astype(float)})
    bands = np.where(features["reopen_90"] > 0, "detractor", "promoter")
    p = fit_experience_model(features, bands).predict_proba(features)
    assert (p["passive"] == 0).all() and np.allclose(p.sum(axis=1), 1)


def frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"contact_90": np.arange(rows, dtype=float)})


@pytest.mark.parametrize(
    ("features", "bands", "message"),
    [
        (frame(100), ["promoter", "detractor"] * 50, "100 NPS answers are too few.*at least 150"),
        (frame(300), ["promoter"] * 300, "at least two bands need 20 answers each"),
        (frame(300), ["promoter"] * 285 + ["detractor"] * 15, "two bands need 20 answers"),
        (pd.DataFrame(index=range(300)), ["promoter", "passive"] * 150, "no features"),
        (pd.DataFrame({"x": [np.nan] * 300, "y": [1.0] * 300}), ["promoter", "passive"] * 150,
         "none of the 2 feature columns is usable"),
        (frame(300), ["promoter", "great"] * 150, "unknown NPS bands"),
    ],
)  # fmt: skip
def test_no_model_from_data_that_cannot_carry_one(
    features: pd.DataFrame, bands: list[str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        fit_experience_model(features, bands)


def test_no_judgement_without_enough_later_answers() -> None:
    features, bands, at = planted(n=600)
    with pytest.raises(InvalidInput, match="at least 30 are needed to judge"):
        evaluate(features, bands, at, split=START + timedelta(days=360))
    with pytest.raises(InvalidInput, match="learning from the answers before .* at least 150"):
        evaluate(features, bands, at, split=START + timedelta(days=30))


def test_bands_and_nps() -> None:
    assert [nps_band(s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor", "detractor", "passive", "passive", "promoter", "promoter"
    ]  # fmt: skip
    assert nps_of(["promoter", "promoter", "passive", "detractor"]) == 25

"""Metric alerts on synthetic series with a known answer: normal data stays quiet (as often as
alpha promises), planted spikes and drops are found on their day, and bad input is refused."""

from __future__ import annotations

import doctest
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxm.insights.anomaly
from cxm.errors import InvalidInput
from cxm.insights.anomaly import count_alerts, mean_alerts, scan

START = date(2026, 1, 1)
Change = Callable[[pd.DataFrame], pd.DataFrame]


def days(count: int, start: date = START, step: int = 1) -> list[date]:
    return [start + timedelta(days=step * i) for i in range(count)]


def count_frame(counts: np.ndarray, prefix: str = "topic", step: int = 1) -> pd.DataFrame:
    """One series per row of ``counts`` ("topic:0", "topic:1", ...), one day per column."""
    n_series, n_days = counts.shape
    return pd.DataFrame(
        {
            "series": np.repeat([f"{prefix}:{i}" for i in range(n_series)], n_days),
            "day": days(n_days, step=step) * n_series,
            "count": counts.ravel(),
        }
    )


def poisson_counts(seed: int, n_days: int, n_series: int = 50) -> tuple[np.ndarray, np.ndarray]:
    means = np.linspace(3, 40, n_series)
    return means, np.random.default_rng(seed).poisson(means[:, None], size=(n_series, n_days))


def alarm_days(reports: dict[date, cxm.insights.anomaly.AlertReport]) -> list[date]:
    return [day for day, report in reports.items() if len(report)]


def test_docstring_examples() -> None:
    result = doctest.testmod(cxm.insights.anomaly, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# --- counts -------------------------------------------------------------------------------


def test_a_normal_week_of_poisson_counts_raises_no_alert() -> None:
    _, counts = poisson_counts(seed=1, n_days=90)
    reports = scan(count_frame(counts), days(7, START + timedelta(days=83)))
    assert list(reports) == days(7, START + timedelta(days=83))
    assert alarm_days(reports) == []
    assert all(r.judged == 50 and not r.skipped for r in reports.values())


@pytest.mark.parametrize(("alpha", "bound"), [(0.01, 7), (0.1, 33)])
def test_false_alarms_over_200_days_are_as_rare_as_alpha_promises(alpha: float, bound: int) -> None:
    # Holm keeps the chance of any alert on a normal day at most alpha, so the number of days
    # with an alert among 200 is at most Binomial(200, alpha) if the days were independent
    # (they share baselines, but each day's verdict turns on that day's counts). The bounds are
    # that distribution's 99.9th percentile: P(Binomial(200, 0.01) > 7) = 0.0010 and
    # P(Binomial(200, 0.1) > 33) = 0.0015.
    _, counts = poisson_counts(seed=2, n_days=230)
    reports = scan(count_frame(counts), days(200, START + timedelta(days=30)), alpha=alpha)
    assert sum(r.judged for r in reports.values()) == 200 * 50
    assert len(alarm_days(reports)) <= bound
    if alpha == 0.1:
        assert alarm_days(reports)  # the bound is not met merely by never alerting


def test_overdispersed_series_need_the_negative_binomial() -> None:
    rng = np.random.default_rng(3)
    means = np.linspace(5, 40, 30)
    variances = 4 * means  # busy days come in clusters: four times the Poisson spread
    counts = rng.negative_binomial(
        (means**2 / (variances - means))[:, None], (means / variances)[:, None], size=(30, 90)
    )
    week = days(7, START + timedelta(days=83))
    assert alarm_days(scan(count_frame(counts), week)) == []

    # The same week judged with a Poisson tail alone, at the same Bonferroni level, alarms.
    poisson_false_alarms = 0
    for t in range(83, 90):
        baseline_mean = counts[:, t - 28 : t].mean(axis=1)
        p = stats.poisson.sf(counts[:, t] - 1, baseline_mean)
        poisson_false_alarms += int(np.sum((p <= 0.01 / 30) & (counts[:, t] >= 5)))
    assert poisson_false_alarms >= 3

    # A real spike in an overdispersed series is still found, by the negative binomial.
    counts[12, 89] = int(6 * means[12])
    alerts = list(count_alerts(count_frame(counts)))
    assert [(a.series, a.method) for a in alerts] == [("topic:12", "negative binomial")]


def test_a_planted_spike_is_alerted_on_its_day_and_series_only() -> None:
    means, counts = poisson_counts(seed=4, n_days=90)
    counts[17, 80] = int(3 * means[17])
    reports = scan(count_frame(counts), days(14, START + timedelta(days=76)), unit="texts")
    spike_day = START + timedelta(days=80)
    assert alarm_days(reports) == [spike_day]
    (alert,) = reports[spike_day].alerts
    assert (alert.series, alert.day, alert.kind, alert.observed) == (
        "topic:17",
        spike_day,
        "spike",
        int(3 * means[17]),
    )
    assert alert.expected == pytest.approx(means[17], rel=0.25)
    assert alert.threshold == pytest.approx(0.01 / 50)  # the first Holm step: alpha / m
    assert alert.p_value < alert.threshold
    assert alert.message == (
        f"topic:17: {int(3 * means[17])} texts on 2026-03-22, "
        f"expected about {alert.expected:.0f} (p < 0.0001)"
    )
    assert alert.to_dict()["day"] == "2026-03-22"


def test_p_value_by_hand() -> None:
    # A calm baseline (variance 1.04 below the mean 10) is judged as Poisson(10).
    frame = count_frame(np.array([[9, 11] * 14 + [25]]))
    (alert,) = count_alerts(frame)
    assert alert.method == "poisson"
    assert alert.expected == 10
    assert alert.p_value == pytest.approx(stats.poisson.sf(24, 10), rel=1e-12)
    assert alert.p_value == pytest.approx(4.6949e-05, rel=1e-4)
    assert alert.threshold == 0.01  # a single series: no correction
    assert alert.message == "topic:0: 25 events on 2026-01-29, expected about 10 (p < 0.0001)"


def test_holm_tests_the_strongest_spike_at_alpha_over_m_and_the_next_at_alpha_over_m_minus_1() -> (
    None
):
    counts = np.array([[9, 11] * 14 + [10]] * 10)
    counts[3, -1], counts[6, -1] = 40, 30
    alerts = sorted(count_alerts(count_frame(counts)), key=lambda a: a.p_value)
    assert [(a.series, a.threshold) for a in alerts] == [
        ("topic:3", pytest.approx(0.01 / 10)),
        ("topic:6", pytest.approx(0.01 / 9)),
    ]


def test_missing_days_are_zeros_from_the_first_row_on() -> None:
    # Rows only on every other day (10 each), then a later series that starts mid-window.
    sparse = pd.DataFrame({"series": "topic:1", "day": days(14, step=2), "count": 10})
    late = pd.DataFrame({"series": "topic:2", "day": days(15, date(2026, 1, 14)), "count": 10})
    spike_day = date(2026, 1, 29)
    spikes = pd.DataFrame({"series": ["topic:1", "topic:2"], "day": spike_day, "count": 60})
    report = count_alerts(pd.concat([sparse, late, spikes]))
    expected = {a.series: a.expected for a in report}
    assert expected == {"topic:1": 5.0, "topic:2": 10.0}  # 28 days with 14 zeros; 15 days


def test_a_short_history_is_refused_with_a_reason_not_an_alert() -> None:
    frame = pd.concat(
        [
            count_frame(np.array([[9, 11] * 14 + [10]])),
            pd.DataFrame(
                {
                    "series": "topic:new",
                    "day": days(11, START + timedelta(days=18)),
                    "count": [3] * 10 + [80],
                }
            ),
        ]
    )
    report = count_alerts(frame)
    assert list(report) == []
    assert report.judged == 1
    (skipped,) = report.skipped
    assert skipped.series == "topic:new"
    assert skipped.reason == (
        "only 10 days of history in the 28 days before 2026-01-29; at least 14 are needed"
    )


def test_min_count_keeps_tiny_series_quiet() -> None:
    frame = count_frame(np.array([[0, 0, 0, 1] * 7 + [4]]))  # about one event in four days
    assert list(count_alerts(frame)) == []  # p = 0.00013, but 4 events are below min_count 5
    (alert,) = count_alerts(frame, min_count=4)
    assert alert.p_value == pytest.approx(stats.poisson.sf(3, 0.25))


def test_weekly_counts() -> None:
    rng = np.random.default_rng(5)
    counts = rng.poisson(20, size=(1, 40))
    counts[0, -1] = 70
    frame = count_frame(counts, step=7)
    (alert,) = count_alerts(frame, period_days=7, baseline_days=26 * 7, min_history_days=12 * 7)
    assert alert.day == START + timedelta(weeks=39)
    assert "70 events in the week from 2026-10-01" in alert.message
    with pytest.raises(InvalidInput, match="not on the series' grid of 7-day periods"):
        count_alerts(
            frame, on=date(2026, 10, 2), period_days=7, baseline_days=182, min_history_days=84
        )


def test_judging_a_day_before_any_data_finds_nothing() -> None:
    report = count_alerts(count_frame(np.array([[5] * 30])), on=START - timedelta(days=3))
    assert (len(report), report.judged, report.skipped) == (0, 0, ())


# --- means --------------------------------------------------------------------------------

TOUCHPOINTS = ["call-centre", "branch", "app", "web", "chat", "e-mail", "field", "social"]


def sentiment_frame(seed: int, n_days: int = 60) -> pd.DataFrame:
    """Daily mean sentiment per touchpoint: about 30 scores a day with spread 0.5 around 0.2."""
    rng = np.random.default_rng(seed)
    rows = []
    for name in TOUCHPOINTS:
        n = np.maximum(rng.poisson(30, n_days), 1)
        means = np.clip(0.2 + rng.normal(0, 0.5 / np.sqrt(n)), -1, 1)
        rows.append(
            pd.DataFrame(
                {"series": f"touchpoint:{name}", "day": days(n_days), "mean": means, "n": n}
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_a_sentiment_drop_in_one_touchpoint_is_alerted() -> None:
    frame = sentiment_frame(seed=6)
    last = (frame["series"] == "touchpoint:call-centre") & (frame["day"] == days(60)[-1])
    frame.loc[last, "mean"] = -0.2
    report = mean_alerts(frame, direction="down", measure="mean sentiment")
    (alert,) = report
    assert (alert.series, alert.kind, alert.observed, alert.method) == (
        "touchpoint:call-centre",
        "drop",
        -0.2,
        "t-test",
    )
    assert alert.expected == pytest.approx(0.2, abs=0.05)
    assert report.judged == len(TOUCHPOINTS)
    assert alert.message.startswith(
        "touchpoint:call-centre: mean sentiment -0.20 on 2026-03-01 from "
    )
    assert list(mean_alerts(frame, direction="up")) == []  # a drop is not a rise


def test_a_normal_week_of_means_raises_no_alert() -> None:
    frame = sentiment_frame(seed=7)
    for direction in ("down", "up"):
        reports = scan(frame, days(7, START + timedelta(days=53)), direction=direction)
        assert alarm_days(reports) == []
        assert all(r.judged == len(TOUCHPOINTS) for r in reports.values())


def test_churn_risk_rising_in_a_segment() -> None:
    rng = np.random.default_rng(8)
    n = rng.poisson(50, size=(4, 45))
    risk = np.clip(0.1 + rng.normal(0, 0.15 / np.sqrt(n)), 0, 1)
    risk[2, -1] = 0.25
    frame = pd.DataFrame(
        {
            "series": np.repeat([f"segment:{i}" for i in range(4)], 45),
            "day": days(45) * 4,
            "mean": risk.ravel(),
            "n": n.ravel(),
        }
    )
    (alert,) = mean_alerts(frame, direction="up", measure="churn risk")
    assert (alert.series, alert.kind) == ("segment:2", "rise")


def test_means_need_min_n_scores_on_the_day_and_tolerate_empty_days() -> None:
    frame = sentiment_frame(seed=9, n_days=30)
    call_centre = frame["series"] == "touchpoint:call-centre"
    frame.loc[call_centre & (frame["day"] == days(30)[-1]), ["mean", "n"]] = [-0.9, 4]
    frame.loc[call_centre & (frame["day"] == days(30)[5]), ["mean", "n"]] = [np.nan, 0]
    report = mean_alerts(frame, direction="down")
    assert list(report) == []
    assert [(s.series, s.reason) for s in report.skipped] == [
        ("touchpoint:call-centre", "only 4 scores on 2026-01-30; at least 10 are needed")
    ]
    assert report.judged == len(TOUCHPOINTS) - 1
    (alert,) = mean_alerts(frame, direction="down", min_n=4)
    assert alert.series == "touchpoint:call-centre"


# --- refusals -----------------------------------------------------------------------------


def good_counts() -> pd.DataFrame:
    return count_frame(np.array([[9, 11] * 14 + [25], [5] * 29]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="count"), "the frame lacks the column(s) count"),
        (
            lambda f: f.rename(columns={"day": "date"}),
            "the frame lacks the column(s) day; it needs series, day, count",
        ),
        (
            lambda f: f.assign(count=f["count"].where(f.index != 3, -2)),
            "count must be a whole number, 0 or more; "
            "row 3 (series 'topic:0', day 2026-01-04) has -2",
        ),
        (
            lambda f: f.assign(count=f["count"].where(f.index != 30, np.nan)),
            "count must be a number; row 30 (series 'topic:1', day 2026-01-02) has nan",
        ),
        (
            lambda f: f.assign(count=f["count"].where(f.index != 4, 2.5)),
            "count must be a whole number, 0 or more; row 4",
        ),
        (lambda f: f.assign(day=f["day"].where(f.index != 5, None)), "day must be a date; row 5"),
        (
            lambda f: f.assign(day=f["day"].where(f.index != 5, "soon")),
            "day must be a date; row 5 (series 'topic:0') has 'soon'",
        ),
        (
            lambda f: f.assign(day=pd.to_datetime(f["day"]) + pd.Timedelta(hours=13)),
            "day must be a calendar day, not a time; row 0",
        ),
        (
            lambda f: f.assign(series=f["series"].where(f.index != 7, None)),
            "series must be a non-empty text key such as 'topic:3'; row 7",
        ),
        (
            lambda f: pd.concat([f, f.iloc[[2]]]),
            "day appears twice for the same series; "
            "aggregate to one row per series and day; row 58",
        ),
    ],
)
def test_bad_counts_are_refused_saying_what_and_where(change: Change, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        count_alerts(change(good_counts()))
    assert caught.value.message.startswith(message)
    assert caught.value.code == "invalid_input"


def test_a_bad_row_is_located_in_the_error_details() -> None:
    frame = good_counts()
    frame.loc[[3, 8], "count"] = -1
    with pytest.raises(InvalidInput) as caught:
        count_alerts(frame)
    assert caught.value.message.endswith("has -1, and 1 more row(s)")
    assert [e.loc for e in caught.value.errors] == [("rows", 3, "count"), ("rows", 8, "count")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="n"), "the frame lacks the column(s) n"),
        (
            lambda f: f.assign(mean=f["mean"].where(f.index != 2, np.nan)),
            "mean must be a finite number; row 2 (series 'touchpoint:call-centre', day 2026-01-03)",
        ),
        (lambda f: f.assign(n=f["n"].where(f.index != 2, -5)), "n must be a whole number"),
        (lambda f: f.assign(n=f["n"].where(f.index != 2, np.nan)), "n must be a number; row 2"),
    ],
)
def test_bad_means_are_refused(change: Change, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        mean_alerts(change(sentiment_frame(seed=10, n_days=20)), direction="down")
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha": 0}, "alpha must lie strictly between 0 and 1"),
        ({"alpha": 1.5}, "alpha must lie strictly between 0 and 1"),
        ({"baseline_days": 7}, "baseline_days (7) must be at least min_history_days (14)"),
        ({"min_history_days": 1}, "min_history_days must cover at least two periods"),
        ({"period_days": 0}, "period_days must be 1 (daily) or more"),
        ({"min_count": -1}, "min_count must be 0 or more"),
    ],
)
def test_bad_settings_are_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        count_alerts(good_counts(), **options)  # type: ignore[arg-type]
    assert caught.value.message.startswith(message)


def test_other_refusals() -> None:
    with pytest.raises(InvalidInput, match='direction must be "down" or "up"'):
        mean_alerts(sentiment_frame(seed=11, n_days=20), direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="no latest day to judge"):
        count_alerts(good_counts().iloc[:0])
    with pytest.raises(InvalidInput, match="expected a pandas DataFrame"):
        count_alerts([1, 2, 3])
    with pytest.raises(InvalidInput, match="days must hold dates"):
        scan(good_counts(), ["2026-01-29"])  # type: ignore[list-item]
    assert scan(good_counts(), []) == {}

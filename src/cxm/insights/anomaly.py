"""Proactive alerts on metric series: a complaint topic's volume spikes, a touchpoint's mean
sentiment drops, a segment's churn risk rises, flagged on the day it happens.

Each series is judged on one day against the ``baseline_days`` before it, and the p-values of
all the series judged that day are corrected together (Holm), so on a normal day the chance
of *any* alert among all the series watched is at most ``alpha``.

**Counts** (:func:`count_alerts`). With baseline mean ``m`` and variance ``v`` (days without a
row count as zero), the observed count ``x`` gets the upper-tail p-value ``P(X >= x)`` under
Poisson(``m``). If ``v > m`` the series is overdispersed (busy days come in clusters) and
Poisson would false-alarm, so a negative binomial with mean ``m`` and variance ``v`` (method
of moments) is used instead. Four weeks of counts pin that variance down only loosely, and a
calm-looking baseline would make an ordinary busy day look extreme: plugging ``v`` in as if
it were known raises about five times too many alarms at the strict levels Holm uses. So the
p-value averages the negative binomial tail over the variance's uncertainty (a scaled
chi-square whose degrees of freedom allow for the fitted distribution's kurtosis) and widens
it for the uncertainty of the mean (``v (1 + 1/k)`` for a baseline of ``k`` days). In
simulation (means 3 to 40, variance up to 10 times the mean, 28-day baselines) the false-alarm
rate stays at or below ``alpha`` for Poisson series and within twice it for the smallest
overdispersed ones at the strictest levels.

**Means** (:func:`mean_alerts`). A day's mean of ``n`` scores varies as ``σ² / n``. The
baseline estimates ``σ²`` from its own day-to-day spread, weighting each day by its ``n``:
``σ̂² = Σ n_d (ȳ_d − ȳ)² / (k − 1)`` around the weighted mean ``ȳ``; any day-to-day variation
beyond sampling noise is absorbed into ``σ̂²`` while ``n`` stays near its usual level. The
day's mean is then compared with ``t = (ȳ₀ − ȳ) / sqrt(σ̂² (1/n₀ + 1/N))``, which is Student
t with ``k − 1`` degrees of freedom (``N`` responses over ``k`` baseline days), one-sided in
the direction asked for.

>>> report = count_alerts(texts_per_topic)   # doctest: +SKIP
>>> [a.message for a in report]   # doctest: +SKIP
['topic:3: 41 texts on 2026-06-12, expected about 9 (p < 0.0001)']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

from cxm.errors import ErrorDetail, InvalidInput

Direction = Literal["down", "up"]
Kind = Literal["spike", "drop", "rise"]
Floats = npt.NDArray[np.float64]

BASELINE_DAYS = 28
MIN_HISTORY_DAYS = 14
ALPHA = 0.01
MIN_COUNT = 5
MIN_N = 10

_EPOCH = date(1970, 1, 1).toordinal()
# Quadrature over the variance's sampling distribution: the trapezoid rule in logit(u) reaches
# far into both tails, where the strict thresholds that Holm uses are decided.
_LOGIT = np.linspace(-16.0, 16.0, 97)
_NODES = special.expit(_LOGIT)
_WEIGHTS = _NODES * (1.0 - _NODES) / np.sum(_NODES * (1.0 - _NODES))


@dataclass(frozen=True)
class Alert:
    """One series that moved beyond its normal range on ``day``."""

    series: str
    day: date
    kind: Kind
    observed: float  # the day's count or mean
    expected: float  # the baseline's mean
    p_value: float  # before correction
    threshold: float  # the p-value it had to beat after the Holm correction
    method: str  # "poisson", "negative binomial" or "t-test"
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "day": self.day.isoformat()}


@dataclass(frozen=True)
class Skipped:
    """A series that was not judged on ``day``, and why."""

    series: str
    day: date
    reason: str


@dataclass(frozen=True)
class AlertReport:
    """The alerts of one day; iterating over it gives the alerts. ``judged`` is the number of
    series in the Holm family; ``skipped`` lists the series that could not be judged."""

    day: date
    alerts: tuple[Alert, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    judged: int = 0
    alpha: float = ALPHA

    def __iter__(self) -> Iterator[Alert]:
        return iter(self.alerts)

    def __len__(self) -> int:
        return len(self.alerts)


@dataclass(frozen=True)
class _Settings:
    baseline_days: int
    min_history_days: int
    alpha: float
    period_days: int
    min_count: int = MIN_COUNT
    min_n: int = MIN_N
    unit: str = "events"
    measure: str = "mean"
    periods: int = field(init=False)
    min_periods: int = field(init=False)

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise InvalidInput(
                f"alpha must lie strictly between 0 and 1 (e.g. 0.01), got {self.alpha!r}"
            )
        if self.period_days < 1:
            raise InvalidInput(
                f"period_days must be 1 (daily) or more (7: weekly), got {self.period_days}"
            )
        if self.min_history_days < 2 * self.period_days:
            raise InvalidInput(
                "min_history_days must cover at least two periods, "
                f"got {self.min_history_days} for periods of {self.period_days} days"
            )
        if self.baseline_days < self.min_history_days:
            raise InvalidInput(
                f"baseline_days ({self.baseline_days}) must be at least "
                f"min_history_days ({self.min_history_days})"
            )
        if self.min_count < 0 or self.min_n < 1:
            raise InvalidInput(
                "min_count must be 0 or more and min_n 1 or more, "
                f"got {self.min_count} and {self.min_n}"
            )
        object.__setattr__(self, "periods", self.baseline_days // self.period_days)
        object.__setattr__(self, "min_periods", math.ceil(self.min_history_days / self.period_days))


@dataclass(frozen=True)
class _Grid:
    """Series × periods, densely: ``values`` (counts, or means with NaN where no data) and
    ``n`` (responses; for counts, 1 where a row exists)."""

    keys: list[str]
    values: Floats
    n: npt.NDArray[np.int64]
    first: npt.NDArray[np.int64]  # each series' first period with a row
    anchor: int  # day number (days since 1970-01-01) of period 0
    period_days: int

    def period(self, day: date) -> int:
        offset = day.toordinal() - _EPOCH - self.anchor
        if offset % self.period_days:
            raise InvalidInput(
                f"{day} is not on the series' grid of {self.period_days}-day periods "
                f"starting {self.day(0)}"
            )
        return offset // self.period_days

    def day(self, period: int) -> date:
        return date.fromordinal(self.anchor + period * self.period_days + _EPOCH)


def count_alerts(
    series: pd.DataFrame,
    *,
    on: date | None = None,
    baseline_days: int = BASELINE_DAYS,
    alpha: float = ALPHA,
    min_count: int = MIN_COUNT,
    min_history_days: int = MIN_HISTORY_DAYS,
    period_days: int = 1,
    unit: str = "events",
) -> AlertReport:
    """Series whose count on ``on`` (default: the latest day in the frame) is a spike.

    ``series`` has one row per series and day: ``series`` (a key such as ``"topic:3"``),
    ``day`` and ``count``; days without a row count as zero from the series' first row on.
    A series needs ``min_history_days`` of history before the day and a count of at least
    ``min_count`` to alert; weekly counts take ``period_days=7`` (and longer windows).
    ``unit`` names what is counted in the messages ("texts", "complaints").

    >>> frame = pd.DataFrame({"series": "topic:3", "day": pd.date_range("2026-05-01", periods=43),
    ...                       "count": [9, 10, 8, 11] * 10 + [9, 8, 41]})
    >>> [a.message for a in count_alerts(frame, unit="texts")]
    ['topic:3: 41 texts on 2026-06-12, expected about 9.4 (p < 0.0001)']
    """
    settings = _Settings(
        baseline_days, min_history_days, alpha, period_days, min_count=min_count, unit=unit
    )
    return _judge_counts(*_one_day(series, "count", on, settings), settings)


def mean_alerts(
    series: pd.DataFrame,
    *,
    direction: Direction,
    on: date | None = None,
    baseline_days: int = BASELINE_DAYS,
    alpha: float = ALPHA,
    min_n: int = MIN_N,
    min_history_days: int = MIN_HISTORY_DAYS,
    period_days: int = 1,
    measure: str = "mean",
) -> AlertReport:
    """Series whose mean on ``on`` (default: the latest day) dropped (``direction="down"``) or
    rose (``"up"``) beyond its normal range.

    ``series`` has one row per series and day: ``series``, ``day``, ``mean`` (e.g. sentiment in
    [-1, 1] or churn risk in [0, 1]) and ``n``, the number of scores behind the mean (a row
    with ``n == 0`` may have a missing mean). The day needs at least ``min_n`` scores and the
    baseline ``min_history_days`` days with scores. ``measure`` names the mean in messages.

    >>> frame = pd.DataFrame({"series": "touchpoint:call-centre",
    ...                       "day": pd.date_range("2026-05-01", periods=29),
    ...                       "mean": [0.25, 0.15, 0.2, 0.22] * 7 + [-0.2], "n": 30})
    >>> [a.message for a in mean_alerts(frame, direction="down", measure="mean sentiment")]
    ['touchpoint:call-centre: mean sentiment -0.20 on 2026-05-29 from 30 scores, expected about 0.20 (p < 0.0001)']
    """  # noqa: E501
    if direction not in ("down", "up"):
        raise InvalidInput(f'direction must be "down" or "up", got {direction!r}')
    settings = _Settings(
        baseline_days, min_history_days, alpha, period_days, min_n=min_n, measure=measure
    )
    return _judge_means(*_one_day(series, "mean", on, settings), settings, direction)


def scan(
    series: pd.DataFrame,
    days: Iterable[date],
    *,
    direction: Direction | None = None,
    baseline_days: int = BASELINE_DAYS,
    alpha: float = ALPHA,
    min_count: int = MIN_COUNT,
    min_n: int = MIN_N,
    min_history_days: int = MIN_HISTORY_DAYS,
    period_days: int = 1,
    unit: str = "events",
    measure: str = "mean",
) -> dict[date, AlertReport]:
    """The report of every day in ``days``, each judged only on the data up to that day.

    Without ``direction`` the frame holds counts (as for :func:`count_alerts`); with it, means
    (as for :func:`mean_alerts`). ``alpha`` bounds the chance of a false alarm on each day, so
    over a normal week expect at most ``7 * alpha`` days with an alert.

    >>> reports = scan(texts_per_topic, pd.date_range("2026-06-06", "2026-06-12"))  # doctest: +SKIP
    >>> {day: len(report) for day, report in reports.items()}  # doctest: +SKIP
    """
    settings = _Settings(
        baseline_days,
        min_history_days,
        alpha,
        period_days,
        min_count=min_count,
        min_n=min_n,
        unit=unit,
        measure=measure,
    )
    if direction not in (None, "down", "up"):
        raise InvalidInput(f'direction must be "down", "up" or None (counts), got {direction!r}')
    wanted = [_as_day(d, "days") for d in days]
    if not wanted:
        return {}
    column = "count" if direction is None else "mean"
    grid = _grid(_validated(series, column), column, settings.period_days, max(wanted))
    out = {}
    for day in wanted:
        if direction is None:
            out[day] = _judge_counts(grid, day, settings)
        else:
            out[day] = _judge_means(grid, day, settings, direction)
    return out


# --- judging ------------------------------------------------------------------------------


def _one_day(
    series: pd.DataFrame, column: str, on: date | None, settings: _Settings
) -> tuple[_Grid, date]:
    frame = _validated(series, column)
    if on is None:
        if frame.empty:
            raise InvalidInput(
                "the frame has no rows, so there is no latest day to judge; pass `on`"
            )
        day = _from_number(int(frame["day_number"].max()))
    else:
        day = _as_day(on, "on")
    return _grid(frame, column, settings.period_days, day), day


def _judge_counts(grid: _Grid, day: date, s: _Settings) -> AlertReport:
    t = grid.period(day) if grid.keys else -1
    if t < 0:
        return AlertReport(day, alpha=s.alpha)  # no series existed yet
    judged: list[int] = []
    skipped: list[Skipped] = []
    for i, key in enumerate(grid.keys):
        if grid.first[i] > t:
            continue  # the series did not exist yet
        history = t - max(int(grid.first[i]), t - s.periods)
        if history < s.min_periods:
            skipped.append(Skipped(key, day, _short_history(history, day, s, "of history")))
        else:
            judged.append(i)
    if not judged:
        return AlertReport(day, (), tuple(skipped), 0, s.alpha)
    rows = np.array(judged)
    lo = np.maximum(grid.first[rows], t - s.periods)
    k = (t - lo).astype(np.float64)
    baseline = [grid.values[i, a:t] for i, a in zip(rows, lo, strict=True)]
    mean = np.array([b.mean() for b in baseline])
    var = np.array([b.var(ddof=1) for b in baseline])
    observed = grid.values[rows, t]
    p, overdispersed = _count_p_values(observed, mean, var, k)
    # A count below min_count can never alert, but its series stays in the family: the filter
    # depends on the count itself, so dropping it would make the correction too lenient.
    eligible = np.where(observed >= s.min_count, p, 1.0)
    rejected, thresholds = _holm(eligible, s.alpha)
    alerts = []
    for j in np.flatnonzero(rejected):
        x, m = int(observed[j]), float(mean[j])
        when = _when(day, s.period_days)
        text = f"{x} {s.unit} {when}, expected about {_about(m)} ({_p(p[j])})"
        key = grid.keys[rows[j]]
        method = "negative binomial" if overdispersed[j] else "poisson"
        alerts.append(
            Alert(
                key, day, "spike", x, m, float(p[j]), float(thresholds[j]), method, f"{key}: {text}"
            )
        )
    return AlertReport(day, tuple(alerts), tuple(skipped), len(judged), s.alpha)


def _count_p_values(
    x: Floats, mean: Floats, var: Floats, k: Floats
) -> tuple[Floats, npt.NDArray[np.bool_]]:
    # Under Poisson(0) any event is impossible; half an event over the baseline is the usual
    # floor that keeps a first appearance from getting a p-value of exactly zero.
    p = np.asarray(stats.poisson.sf(x - 1, np.maximum(mean, 0.5 / k)), dtype=np.float64)
    over = var > mean
    if over.any():
        m, v, kk = mean[over, None], var[over, None], k[over, None]
        r0, q0 = m**2 / (v - m), m / v
        kurtosis = 6 / r0 + q0**2 / (r0 * (1 - q0))
        df = 2 / (2 / (kk - 1) + kurtosis / kk)
        # The variance that produced the baseline, drawn from v·df/χ²(df), plus the mean's
        # own uncertainty; below the mean the draw is Poisson-like, so it is floored there.
        draws = v * df / stats.chi2.ppf(_NODES, df) * (1 + 1 / kk)
        draws = np.maximum(draws, m * (1 + 1e-6))
        tails = stats.nbinom.sf(x[over, None] - 1, m**2 / (draws - m), m / draws)
        p[over] = np.sum(tails * _WEIGHTS, axis=1)
    return np.clip(p, 0.0, 1.0), over


def _judge_means(grid: _Grid, day: date, s: _Settings, direction: Direction) -> AlertReport:
    t = grid.period(day) if grid.keys else -1
    if t < 0:
        return AlertReport(day, alpha=s.alpha)  # no series existed yet
    lo = max(t - s.periods, 0)
    found: list[tuple[int, float, float, float, int]] = []  # row, p, mean, baseline, n
    skipped: list[Skipped] = []
    for i, key in enumerate(grid.keys):
        if grid.first[i] > t:
            continue  # the series did not exist yet
        n_base, y_base = grid.n[i, lo:t], grid.values[i, lo:t]
        has = n_base > 0
        k, n0 = int(has.sum()), int(grid.n[i, t])
        reason = None
        if k < s.min_periods:
            reason = _short_history(k, day, s, "with scores")
        elif n0 < s.min_n:
            have = f"only {n0} scores" if n0 else "no scores"
            reason = f"{have} on {day}; at least {s.min_n} are needed"
        else:
            w, y = n_base[has].astype(np.float64), y_base[has]
            total = float(w.sum())
            centre = float(np.sum(w * y) / total)
            sigma2 = float(np.sum(w * (y - centre) ** 2) / (k - 1))
            if sigma2 == 0:
                reason = "the baseline's daily means never vary, so there is no noise level"
            else:
                z = (grid.values[i, t] - centre) / math.sqrt(sigma2 * (1 / n0 + 1 / total))
                dist = stats.t(k - 1)
                p = float(dist.cdf(z) if direction == "down" else dist.sf(z))
                found.append((i, p, float(grid.values[i, t]), centre, n0))
        if reason:
            skipped.append(Skipped(key, day, reason))
    # A day with too few scores is left out of the family: the number of scores says nothing
    # about whether the mean moved, so leaving it out does not bias the correction.
    rejected, thresholds = _holm(np.array([f[1] for f in found], dtype=np.float64), s.alpha)
    alerts = []
    for j in np.flatnonzero(rejected):
        i, p, y0, centre, n0 = found[j]
        when = _when(day, s.period_days)
        text = f"{s.measure} {y0:.2f} {when} from {n0} scores, expected about {centre:.2f}"
        kind: Kind = "drop" if direction == "down" else "rise"
        message = f"{grid.keys[i]}: {text} ({_p(p)})"
        threshold = float(thresholds[j])
        alerts.append(Alert(grid.keys[i], day, kind, y0, centre, p, threshold, "t-test", message))
    return AlertReport(day, tuple(alerts), tuple(skipped), len(found), s.alpha)


def _holm(p: Floats, alpha: float) -> tuple[npt.NDArray[np.bool_], Floats]:
    """Holm's step-down: the i-th smallest p-value (from 0) is tested at alpha / (m - i),
    stopping at the first that fails; controls the family-wise error rate at ``alpha``."""
    m = len(p)
    order = np.argsort(p, kind="stable")  # ties in series order
    thresholds = np.empty(m, dtype=np.float64)
    thresholds[order] = alpha / (m - np.arange(m))
    rejected = np.zeros(m, dtype=bool)
    for i in order:
        if p[i] > thresholds[i]:
            break
        rejected[i] = True
    return rejected, thresholds


def _short_history(periods: int, day: date, s: _Settings, what: str) -> str:
    unit = "days" if s.period_days == 1 else f"periods of {s.period_days} days"
    return (
        f"only {periods} {unit} {what} in the {s.baseline_days} days before {day}; "
        f"at least {s.min_periods} are needed"
    )


def _when(day: date, period_days: int) -> str:
    if period_days == 1:
        return f"on {day}"
    return (
        f"in the week from {day}" if period_days == 7 else f"in the {period_days} days from {day}"
    )


def _about(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")


def _p(p: float) -> str:
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}"


# --- input --------------------------------------------------------------------------------


def _validated(series: pd.DataFrame, column: str) -> pd.DataFrame:
    """The frame with ``day_number`` (days since 1970-01-01) added, or ``InvalidInput`` saying
    which column or row is wrong."""
    if not isinstance(series, pd.DataFrame):
        raise InvalidInput(f"expected a pandas DataFrame, got {type(series).__name__}")
    needed = ["series", "day", column] + (["n"] if column == "mean" else [])
    missing = [c for c in needed if c not in series.columns]
    if missing:
        raise InvalidInput(
            f"the frame lacks the column(s) {', '.join(missing)}; it needs {', '.join(needed)}, "
            "one row per series and day",
            errors=[ErrorDetail(("columns", c), "missing") for c in missing],
        )
    frame = series[needed].reset_index(drop=True)
    keys = frame["series"]
    _reject(
        frame,
        ~keys.map(lambda k: isinstance(k, str) and k != ""),
        "series",
        "must be a non-empty text key such as 'topic:3'",
    )
    days = pd.to_datetime(frame["day"], errors="coerce", utc=True)
    numeric = pd.api.types.is_numeric_dtype(frame["day"])  # would be read as nanoseconds
    _reject(frame, days.isna() | numeric, "day", "must be a date")
    days = days.dt.tz_localize(None)
    _reject(frame, days != days.dt.normalize(), "day", "must be a calendar day, not a time")
    frame["day_number"] = days.to_numpy().astype("datetime64[D]").astype(np.int64)
    for name in ["n", "mean"] if column == "mean" else ["count"]:
        values = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
        if name == "mean":
            # A day without scores has no mean; only there may it be missing.
            present = frame["n"] != 0
            _reject(frame, present & ~np.isfinite(values), name, "must be a finite number")
        else:
            _reject(frame, ~np.isfinite(values), name, "must be a number")
            _reject(
                frame,
                (values < 0) | (values != np.round(values)),
                name,
                "must be a whole number, 0 or more",
            )
        frame[name] = values
    _reject(
        frame,
        frame.duplicated(["series", "day_number"], keep="first"),
        "day",
        "appears twice for the same series; aggregate to one row per series and day",
    )
    return frame


def _reject(frame: pd.DataFrame, bad: pd.Series[bool], column: str, problem: str) -> None:
    rows = np.flatnonzero(bad.to_numpy(dtype=bool))
    if not len(rows):
        return
    first = int(rows[0])
    keys = [f"{c} {_shown(frame[c].iloc[first])}" for c in ("series", "day") if c != column]
    where = f"row {first} ({', '.join(keys)})"
    more = f", and {len(rows) - 1} more row(s)" if len(rows) > 1 else ""
    raise InvalidInput(
        f"{column} {problem}; {where} has {_shown(frame[column].iloc[first])}{more}",
        errors=[ErrorDetail(("rows", int(r), column), problem) for r in rows[:20]],
    )


def _shown(value: Any) -> str:
    """A value as the caller wrote it: 2026-06-12 rather than Timestamp(...), -2 not np.int64."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime) and value == datetime(value.year, value.month, value.day):
        return value.date().isoformat()
    return str(value) if isinstance(value, date) else repr(value)


def _grid(frame: pd.DataFrame, column: str, period_days: int, through: date) -> _Grid:
    row, uniques = pd.factorize(frame["series"], sort=True)
    keys = [str(k) for k in uniques]
    if not keys:
        empty = np.zeros((0, 1))
        return _Grid([], empty, empty.astype(np.int64), np.zeros(0, np.int64), 0, period_days)
    anchor = int(frame["day_number"].min())
    offsets = frame["day_number"].to_numpy() - anchor
    if (offsets % period_days).any():
        bad = frame["day"].iloc[int(np.flatnonzero(offsets % period_days)[0])]
        raise InvalidInput(
            f"with periods of {period_days} days every day must fall on the grid "
            f"starting {_from_number(anchor)}; {bad} does not"
        )
    period = offsets // period_days
    width = max(int(period.max()), (through.toordinal() - _EPOCH - anchor) // period_days) + 1
    n = np.zeros((len(keys), width), dtype=np.int64)
    if column == "count":
        values = np.zeros((len(keys), width))
        n[row, period] = 1
    else:
        values = np.full((len(keys), width), np.nan)
        n[row, period] = frame["n"].to_numpy().astype(np.int64)
    values[row, period] = frame[column].to_numpy()
    first = np.full(len(keys), width, dtype=np.int64)
    np.minimum.at(first, row, period)
    return _Grid(keys, values, n, first, anchor, period_days)


def _as_day(value: Any, name: str) -> date:
    if isinstance(value, datetime):  # includes pandas.Timestamp
        return value.date()
    if isinstance(value, date):
        return value
    raise InvalidInput(f"{name} must hold dates, got {value!r}")


def _from_number(number: int) -> date:
    return date.fromordinal(number + _EPOCH)

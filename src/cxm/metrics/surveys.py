"""Survey metrics by group, with honest intervals and the minimum-sample rule.

Scores are never loaded one by one: one aggregate query counts answers per headline score and
group, and every figure (NPS classes, top-box shares, the mean from Σx and Σx²) is derived from
those counts. Figures below the minimum sample are reported without their value.

>>> MetricRow("hr", 3, None, None, None, False, "insufficient data: 3 responses").as_dict()["n"]
3
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from cxm.errors import InvalidInput
from cxm.metrics.catalogue import metric as catalogue_metric
from cxm.metrics.changes import (
    Change,
    bh_adjusted,
    compare_nps,
    compare_proportions,
    flag_movers,
)
from cxm.metrics.distributions import (
    check_confidence,
    normal_quantile,
    t_quantile,
    two_sided_p_value,
)
from cxm.metrics.stats import (
    CES_SCALE,
    CSAT_SCALE,
    MIN_SAMPLE,
    Interval,
    NpsCounts,
    nps,
    reading,
    wilson_interval,
)
from cxm.surveys.tables import survey_invitations, survey_responses, survey_versions

GroupBy = Literal["none", "touchpoint", "month", "department", "survey", "language"]
GROUP_BYS: tuple[str, ...] = get_args(GroupBy)
Period = tuple[date, date]

# metric -> (survey kind, audience); response_rate reads invitations instead.
_SOURCES: dict[str, tuple[str, str]] = {
    "nps": ("nps", "customer"),
    "enps": ("nps", "employee"),
    "csat": ("csat", "customer"),
    "csat_top_box": ("csat", "customer"),
    "ces": ("ces", "customer"),
    "ces_agree": ("ces", "customer"),
}

ScoreCounts = Mapping[int, int]


@dataclass(frozen=True)
class MetricRow:
    """A metric for one group; ``estimate``/``low``/``high`` are None when not reportable."""

    group: str | None
    n: int
    estimate: float | None
    low: float | None
    high: float | None
    reportable: bool
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "n": self.n,
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "reportable": self.reportable,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ChangeRow:
    """The change of a metric for one group from period a to period b.

    Only groups reportable in both periods enter the Benjamini-Hochberg family; for the others
    the figures are None and ``reason`` says why.
    """

    group: str | None
    a: MetricRow
    b: MetricRow
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    adjusted_p: float | None
    significant: bool
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "a": self.a.as_dict(),
            "b": self.b.as_dict(),
            "difference": self.difference,
            "low": self.low,
            "high": self.high,
            "p_value": self.p_value,
            "adjusted_p": self.adjusted_p,
            "significant": self.significant,
            "reason": self.reason,
        }


def mean_interval_from_sums(
    n: int, total: float, total_sq: float, confidence: float = 0.95
) -> Interval:
    """Mean with a Student t interval from n, Σx and Σx² (as ``stats.mean_interval``).

    >>> i = mean_interval_from_sums(10, 40, 168)  # [4, 5, 3, 4, 5, 4, 2, 5, 4, 4]
    >>> (i.estimate, round(i.low, 4), round(i.high, 4))
    (4.0, 3.3256, 4.6744)
    """
    confidence = check_confidence(confidence)
    if n <= 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence, "student-t")
    mean = total / n
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, confidence, "student-t")
    half = t_quantile(confidence, n - 1) * math.sqrt(_variance(n, total, total_sq) / n)
    return Interval(mean, mean - half, mean + half, n, confidence, "student-t")


def _variance(n: int, total: float, total_sq: float) -> float:
    # Rounding can take Σx² − n·mean² a hair below 0 when every answer is the same.
    return max(total_sq - total * total / n, 0.0) / (n - 1)


def compare_mean_sums(
    a: tuple[int, float, float], b: tuple[int, float, float], confidence: float = 0.95
) -> Change:
    """Welch's comparison of two means from (n, Σx, Σx²), as ``changes.compare_means``.

    >>> c = compare_mean_sums((3, 12, 50), (3, 15, 77))  # [3, 4, 5] vs [4, 5, 6]
    >>> (c.difference, round(c.z, 4))
    (1.0, 1.2247)
    """
    confidence = check_confidence(confidence)
    ia, ib = mean_interval_from_sums(*a, confidence), mean_interval_from_sums(*b, confidence)
    if ia.n < 2 or ib.n < 2:
        nan = math.nan
        return Change(ia, ib, nan, nan, nan, nan, nan, confidence, "welch-z")
    difference = ib.estimate - ia.estimate
    se = math.sqrt(_variance(*a) / ia.n + _variance(*b) / ib.n)
    if se == 0.0:
        z = 0.0 if difference == 0.0 else math.copysign(math.inf, difference)
    else:
        z = difference / se
    half = normal_quantile(confidence) * se
    return Change(
        ia,
        ib,
        difference,
        difference - half,
        difference + half,
        z,
        two_sided_p_value(z),
        confidence,
        "welch-z",
    )


def _clipped(interval: Interval, scale: tuple[int, int]) -> Interval:
    if math.isnan(interval.low):
        return interval
    return Interval(
        interval.estimate,
        max(interval.low, scale[0]),
        min(interval.high, scale[1]),
        interval.n,
        interval.confidence,
        interval.method,
    )


def _sums(counts: ScoreCounts) -> tuple[int, float, float]:
    n = sum(counts.values())
    return (
        n,
        float(sum(s * c for s, c in counts.items())),
        float(sum(s * s * c for s, c in counts.items())),
    )


def _nps_counts(counts: ScoreCounts) -> NpsCounts:
    promoters = sum(c for s, c in counts.items() if s >= 9)
    passives = sum(c for s, c in counts.items() if 7 <= s <= 8)
    return NpsCounts(promoters, passives, sum(counts.values()) - promoters - passives)


def _top(counts: ScoreCounts, top: int) -> tuple[int, int]:
    return sum(c for s, c in counts.items() if s >= top), sum(counts.values())


_INTERVALS: dict[str, Callable[[ScoreCounts], Interval]] = {
    "nps": lambda c: nps(*_nps_counts(c)),
    "enps": lambda c: nps(*_nps_counts(c)),
    "csat": lambda c: _clipped(mean_interval_from_sums(*_sums(c)), CSAT_SCALE),
    "ces": lambda c: _clipped(mean_interval_from_sums(*_sums(c)), CES_SCALE),
    "csat_top_box": lambda c: wilson_interval(*_top(c, 4)),
    "ces_agree": lambda c: wilson_interval(*_top(c, 5)),
    # response_rate counts are {1: answered, 0: not answered}
    "response_rate": lambda c: wilson_interval(c.get(1, 0), sum(c.values())),
}


def _compare(metric: str, a: ScoreCounts, b: ScoreCounts) -> Change:
    if metric in ("nps", "enps"):
        return compare_nps(_nps_counts(a), _nps_counts(b))
    if metric in ("csat", "ces"):
        return compare_mean_sums(_sums(a), _sums(b))
    top = {"csat_top_box": 4, "ces_agree": 5, "response_rate": 1}[metric]
    return compare_proportions(*_top(a, top), *_top(b, top))


def _check(metric: str, by: str, start: date | None, end: date | None) -> None:
    if metric not in _INTERVALS:
        known = ", ".join(_INTERVALS)
        raise InvalidInput(f"metric: no survey metric {metric!r}; use one of {known}")
    catalogue_metric(metric)
    if by not in GROUP_BYS:
        raise InvalidInput(f"by: cannot group by {by!r}; use one of {', '.join(GROUP_BYS)}")
    if start is not None and end is not None and start >= end:
        raise InvalidInput(f"start: {start} is not before end {end}; the period is [start, end)")


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _month(session: Session, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _counts(
    session: Session,
    *,
    metric: str,
    by: str,
    start: date | None,
    end: date | None,
    survey: str | None,
) -> dict[str | None, dict[int, int]]:
    """Answers per group and score (response_rate: invitations per group, answered or not)."""
    if metric == "response_rate":
        inv = survey_invitations.c
        moment, survey_col = inv.created_at, inv.survey_id
        score: ColumnElement[Any] = case((inv.status == "answered", 1), else_=0)
        columns = {
            "touchpoint": inv.touchpoint,
            "department": inv.department,
            "survey": inv.survey_id,
            "language": inv.language,
        }
        conditions: list[ColumnElement[bool]] = [inv.status.in_(("sent", "answered"))]
        source: Any = survey_invitations
    else:
        r, v = survey_responses.c, survey_versions.c
        kind, audience = _SOURCES[metric]
        moment, survey_col = r.answered_at, r.survey_id
        score = r.score
        columns = {
            "touchpoint": r.touchpoint,
            "department": r.department,
            "survey": r.survey_id,
            "language": r.language,
        }
        conditions = [v.kind == kind, v.audience == audience, r.score.is_not(None)]
        source = survey_responses.join(
            survey_versions, and_(v.survey_id == r.survey_id, v.version == r.version)
        )
    if by == "month":
        group: ColumnElement[Any] = _month(session, moment)
    elif by == "none":
        group = literal(None)
    else:
        group = columns[by]
    if start is not None:
        conditions.append(moment >= _moment(start))
    if end is not None:
        conditions.append(moment < _moment(end))
    if survey is not None:
        conditions.append(survey_col == survey)
    group_label, score_label = group.label("grp"), score.label("score")
    query = (
        select(group_label, score_label, func.count().label("n"))
        .select_from(source)
        .where(*conditions)
        .group_by(group_label, score_label)
    )
    grouped: dict[str | None, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for key, value, n in session.execute(query):
        grouped[None if key is None else str(key)][int(round(float(value)))] += int(n)
    if by == "none" and not grouped:
        grouped[None] = defaultdict(int)
    return grouped


def _row(metric: str, group: str | None, counts: ScoreCounts, min_n: int) -> MetricRow:
    judged = reading(_INTERVALS[metric](counts), min_n=min_n)
    i = judged.interval
    if not judged.reportable:
        return MetricRow(group, i.n, None, None, None, False, judged.reason)
    return MetricRow(group, i.n, i.estimate, i.low, i.high, True, None)


def _order(key: str | None) -> tuple[bool, str]:
    return key is None, key or ""


def survey_metric(
    session: Session,
    *,
    metric: str,
    by: GroupBy = "none",
    start: date | None = None,
    end: date | None = None,
    survey: str | None = None,
    min_n: int = MIN_SAMPLE,
) -> list[MetricRow]:
    """A survey metric per group over answers in ``[start, end)`` (UTC days).

    Groups below ``min_n`` answers come back not reportable, with the reason and no value.

    Example: ``survey_metric(session, metric="enps", by="department")``.
    """
    _check(metric, by, start, end)
    grouped = _counts(session, metric=metric, by=by, start=start, end=end, survey=survey)
    if by == "none" and not grouped:
        grouped = {None: {}}  # the one figure asked for: "no answers", not nothing
    return [_row(metric, key, grouped[key], min_n) for key in sorted(grouped, key=_order)]


def survey_metric_change(
    session: Session,
    *,
    metric: str,
    by: GroupBy = "none",
    period_a: Period,
    period_b: Period,
    survey: str | None = None,
    q: float = 0.05,
    min_n: int = MIN_SAMPLE,
) -> list[ChangeRow]:
    """Per group, the change of ``metric`` from ``period_a`` to ``period_b``.

    Groups reportable in both periods form one family whose p-values are adjusted with
    Benjamini-Hochberg; ``significant`` means the change survived that adjustment at ``q``.

    Example: ``survey_metric_change(session, metric="nps", by="touchpoint",
    period_a=(date(2026, 1, 1), date(2026, 2, 1)), period_b=(date(2026, 2, 1), date(2026, 3, 1)))``
    """
    for name, (start, end) in (("period_a", period_a), ("period_b", period_b)):
        try:
            _check(metric, by, start, end)
        except InvalidInput as exc:
            if metric in _INTERVALS and by in GROUP_BYS:
                raise InvalidInput(f"{name}: {exc}") from None
            raise
    if not 0.0 < q < 1.0:
        raise InvalidInput(f"q must lie strictly between 0 and 1 (e.g. 0.05), got {q!r}")
    a_counts = _counts(
        session, metric=metric, by=by, start=period_a[0], end=period_a[1], survey=survey
    )
    b_counts = _counts(
        session, metric=metric, by=by, start=period_b[0], end=period_b[1], survey=survey
    )
    keys = sorted(set(a_counts) | set(b_counts), key=_order)
    empty: dict[int, int] = {}
    rows_a = {k: _row(metric, k, a_counts.get(k, empty), min_n) for k in keys}
    rows_b = {k: _row(metric, k, b_counts.get(k, empty), min_n) for k in keys}
    family = [k for k in keys if rows_a[k].reportable and rows_b[k].reportable]
    changes = {k: _compare(metric, a_counts[k], b_counts[k]) for k in family}
    adjusted = dict(zip(family, bh_adjusted([changes[k].p_value for k in family]), strict=True))
    movers = {m.key for m in flag_movers(changes, q)} if changes else set()
    rows = []
    for k in keys:
        a, b = rows_a[k], rows_b[k]
        if k not in changes:
            reason = f"period_a: {a.reason}" if not a.reportable else f"period_b: {b.reason}"
            rows.append(ChangeRow(k, a, b, None, None, None, None, None, False, reason))
            continue
        c = changes[k]
        rows.append(
            ChangeRow(
                k,
                a,
                b,
                _finite(c.difference),
                _finite(c.low),
                _finite(c.high),
                _finite(c.p_value),
                _finite(adjusted[k]),
                k in movers,
                None,
            )
        )
    return rows


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None

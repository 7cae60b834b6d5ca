"""Period-over-period changes of CX metrics and which of them really moved.

Each ``compare_*`` function returns a :class:`Change` from period ``a`` (before) to period
``b`` (after): the difference ``b - a``, its interval, a z statistic and a two-sided p-value.
A dashboard that compares dozens of touchpoints and metrics at once passes all its changes
to :func:`flag_movers`, which controls the false discovery rate (Benjamini-Hochberg), so that
noise is not shown as movement.

>>> c = compare_proportions(40, 100, 60, 100)
>>> (round(c.difference, 2), round(c.z, 3), round(c.p_value, 4))
(0.2, 2.828, 0.0047)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from cxm.errors import InvalidInput
from cxm.metrics.distributions import check_confidence, normal_quantile, two_sided_p_value
from cxm.metrics.stats import (
    Interval,
    NpsCounts,
    check_count,
    mean_interval,
    nps,
    nps_variance,
    wilson_interval,
)

K = TypeVar("K")


@dataclass(frozen=True)
class Change:
    """The change of a metric from period ``a`` to period ``b``.

    ``difference`` is ``b.estimate - a.estimate``; ``low``/``high`` bound it at
    ``confidence``. ``z`` and ``p_value`` test "no change" (two-sided). Anything that cannot
    be computed (a period without responses) is NaN, and a NaN p-value never counts as
    significant.

    >>> compare_nps((50, 30, 20), (50, 30, 20)).p_value
    1.0
    """

    a: Interval
    b: Interval
    difference: float
    low: float
    high: float
    z: float
    p_value: float
    confidence: float
    method: str

    def is_significant(self, alpha: float = 0.05) -> bool:
        """Whether this one change, tested on its own, is significant at level ``alpha``."""
        return self.p_value <= alpha


def _z(difference: float, se: float) -> float:
    """difference / se, with a zero standard error read as "no evidence" or "certain"."""
    if math.isnan(difference) or math.isnan(se):
        return math.nan
    if se == 0.0:
        return 0.0 if difference == 0.0 else math.copysign(math.inf, difference)
    return difference / se


def _nan_change(a: Interval, b: Interval, confidence: float, method: str) -> Change:
    nan = math.nan
    return Change(a, b, nan, nan, nan, nan, nan, confidence, method)


def compare_proportions(
    a_successes: int, a_n: int, b_successes: int, b_n: int, confidence: float = 0.95
) -> Change:
    """Two-proportion z-test (pooled standard error) with a Newcombe interval.

    The test uses the pooled share ``P = (xa + xb) / (na + nb)`` and
    ``SE = sqrt(P(1 - P)(1/na + 1/nb))``; the interval of the difference combines the two
    Wilson intervals (Newcombe's hybrid score method), which keeps its coverage near 0 and 1.

    >>> c = compare_proportions(40, 100, 60, 100)  # P = 0.5, SE = sqrt(0.25 * 0.02)
    >>> round(c.z, 4)
    2.8284
    """
    confidence = check_confidence(confidence)
    a = wilson_interval(a_successes, a_n, confidence)
    b = wilson_interval(b_successes, b_n, confidence)
    if a.n == 0 or b.n == 0:
        return _nan_change(a, b, confidence, "two-proportion-z")
    difference = b.estimate - a.estimate
    pooled = (a_successes + b_successes) / (a.n + b.n)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / a.n + 1.0 / b.n))
    z = _z(difference, se)
    low = difference - math.hypot(b.estimate - b.low, a.high - a.estimate)
    high = difference + math.hypot(b.high - b.estimate, a.estimate - a.low)
    return Change(
        a, b, difference, low, high, z, two_sided_p_value(z), confidence, "two-proportion-z"
    )


def _counts(counts: NpsCounts | tuple[int, int, int], period: str) -> NpsCounts:
    if len(counts) != 3:
        raise InvalidInput(f"{period} must be (promoters, passives, detractors), got {counts!r}")
    return NpsCounts(*(check_count(c, f"{period} count") for c in counts))


def compare_nps(
    a_counts: NpsCounts | tuple[int, int, int],
    b_counts: NpsCounts | tuple[int, int, int],
    confidence: float = 0.95,
) -> Change:
    """Difference of two independent NPS (or eNPS) with ``SE = sqrt(varA/nA + varB/nB)``.

    Counts are ``(promoters, passives, detractors)``; the variances are those of
    :func:`~cxm.metrics.stats.nps_variance`. The interval is normal, clipped to [-200, 200].

    >>> c = compare_nps((50, 30, 20), (60, 25, 15))  # SE = sqrt(6100/100 + 5475/100)
    >>> (c.difference, round(c.z, 3))
    (15.0, 1.394)
    """
    confidence = check_confidence(confidence)
    ca, cb = _counts(a_counts, "a_counts"), _counts(b_counts, "b_counts")
    a, b = nps(*ca, confidence=confidence), nps(*cb, confidence=confidence)
    if a.n == 0 or b.n == 0:
        return _nan_change(a, b, confidence, "nps-z")
    difference = b.estimate - a.estimate
    se = math.sqrt(nps_variance(ca) / a.n + nps_variance(cb) / b.n)
    z = _z(difference, se)
    half = normal_quantile(confidence) * se
    low = max(difference - half, -200.0)
    high = min(difference + half, 200.0)
    return Change(a, b, difference, low, high, z, two_sided_p_value(z), confidence, "nps-z")


def compare_means(
    a_values: Sequence[float], b_values: Sequence[float], confidence: float = 0.95
) -> Change:
    """Welch's comparison of two means, ``SE = sqrt(sA²/nA + sB²/nB)``, read on the normal.

    The normal reference is a large-sample approximation: with fewer than
    :data:`~cxm.metrics.stats.MIN_SAMPLE` responses in a period the p-value is optimistic,
    and the per-period intervals ``a``/``b`` say so through
    :func:`~cxm.metrics.stats.reading`. Each period needs two values, else the change is NaN.

    >>> c = compare_means([3, 4, 5], [4, 5, 6])  # sA² = sB² = 1, SE = sqrt(2/3)
    >>> (c.difference, round(c.z, 4))
    (1.0, 1.2247)
    """
    confidence = check_confidence(confidence)
    a, b = mean_interval(a_values, confidence), mean_interval(b_values, confidence)
    if a.n < 2 or b.n < 2:
        return _nan_change(a, b, confidence, "welch-z")
    difference = b.estimate - a.estimate
    se = math.sqrt(_variance(a_values, a) / a.n + _variance(b_values, b) / b.n)
    z = _z(difference, se)
    half = normal_quantile(confidence) * se
    return Change(
        a,
        b,
        difference,
        difference - half,
        difference + half,
        z,
        two_sided_p_value(z),
        confidence,
        "welch-z",
    )


def _variance(values: Iterable[float], interval: Interval) -> float:
    mean = interval.estimate
    return math.fsum((float(v) - mean) ** 2 for v in values) / (interval.n - 1)


def _check_p_values(p_values: Iterable[float]) -> list[float]:
    checked = []
    for position, p in enumerate(p_values):
        if math.isnan(p):
            checked.append(1.0)  # not computable: counted in the family, never rejected
        elif 0.0 <= p <= 1.0:
            checked.append(float(p))
        else:
            raise InvalidInput(f"p-values must lie in [0, 1]; p-value #{position} is {p!r}")
    return checked


def bh_adjusted(p_values: Iterable[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given.

    For the i-th smallest of m p-values, ``min over j >= i of p_(j)·m/j``, capped at 1. A NaN
    p-value counts as 1.

    >>> [round(p, 4) for p in bh_adjusted([0.01, 0.03, 0.02, 0.5])]  # 0.01·4/1, 0.03·4/3, …
    [0.04, 0.04, 0.04, 0.5]
    """
    ps = _check_p_values(p_values)
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        # max(p, …) keeps rounding from pushing an adjusted p-value below the raw one.
        running = min(running, max(ps[i], ps[i] * m / rank))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(p_values: Iterable[float], q: float = 0.05) -> list[bool]:
    """Which hypotheses to reject with the false discovery rate controlled at ``q``.

    Step-up rule: with the p-values sorted, find the largest k with ``p_(k) <= k·q/m`` and
    reject the k smallest; equivalently, reject where the adjusted p-value is ``<= q``.

    >>> benjamini_hochberg([0.01, 0.03, 0.02, 0.5])
    [True, True, True, False]
    >>> benjamini_hochberg([0.01, 0.03, 0.02, 0.5], q=0.03)
    [False, False, False, False]
    """
    if not 0.0 < q < 1.0:
        raise InvalidInput(f"q must lie strictly between 0 and 1 (e.g. 0.05), got {q!r}")
    return [p <= q for p in bh_adjusted(p_values)]


@dataclass(frozen=True)
class Mover(Generic[K]):
    """A change that survived false-discovery-rate control, with its adjusted p-value."""

    key: K
    change: Change
    adjusted_p: float


def flag_movers(
    changes: Mapping[K, Change],
    q: float = 0.05,
    *,
    by: Literal["difference", "z"] = "difference",
) -> list[Mover[K]]:
    """The changes to show as "moved": significant after Benjamini-Hochberg at ``q``.

    All changes are one family, however many touchpoints and metrics they span. The movers
    are sorted by effect size, largest first: the absolute difference (``by="difference"``,
    for changes on one scale) or the absolute z (``by="z"``, when scales are mixed).

    >>> changes = {
    ...     "shop/nps": compare_nps((50, 30, 20), (70, 20, 10)),
    ...     "call/nps": compare_nps((50, 30, 20), (52, 29, 19)),
    ... }
    >>> [m.key for m in flag_movers(changes)]
    ['shop/nps']
    """
    keys = list(changes)
    adjusted = bh_adjusted(changes[k].p_value for k in keys)
    rejected = benjamini_hochberg((changes[k].p_value for k in keys), q)
    movers = [
        Mover(key, changes[key], adj)
        for key, adj, hit in zip(keys, adjusted, rejected, strict=True)
        if hit
    ]

    def size(mover: Mover[K]) -> float:
        return abs(mover.change.difference if by == "difference" else mover.change.z)

    return sorted(movers, key=size, reverse=True)

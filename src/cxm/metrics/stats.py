"""Confidence intervals for cxm's CX metrics, and whether a figure is worth showing.

Every function is pure and validates its input: negative counts, more successes than
responses, scores off their scale or a confidence outside (0, 1) raise ``InvalidInput``
(a ``ValueError``) naming the value. With no responses an :class:`Interval` holds NaN, never
raises ``ZeroDivisionError``; :func:`reading` turns it into "insufficient data".

>>> nps(50, 30, 20).estimate
30.0
>>> reading(nps(5, 3, 2)).text()
'—'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cxm.errors import InvalidInput
from cxm.metrics.distributions import check_confidence, normal_quantile, t_quantile

#: Fewest responses behind any figure the dashboard shows as a number.
MIN_SAMPLE = 30

CSAT_SCALE = (1, 5)
CES_SCALE = (1, 7)
NPS_SCALE = (0, 10)


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval, from ``n`` responses.

    With ``n == 0`` all of ``estimate``, ``low`` and ``high`` are NaN; with one response a mean
    has an estimate but NaN bounds. ``method`` names the formula ("wilson", "normal",
    "student-t").

    >>> i = wilson_interval(8, 10)
    >>> (round(i.low, 4), round(i.high, 4))
    (0.4902, 0.9433)
    """

    estimate: float
    low: float
    high: float
    n: int
    confidence: float
    method: str

    @property
    def width(self) -> float:
        return self.high - self.low

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high


def check_count(value: int, name: str) -> int:
    """Return ``value`` if it is a whole number >= 0, else raise ``InvalidInput`` naming it.

    >>> check_count(3, "promoters")
    3
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInput(f"{name} must be a whole number of responses, got {value!r}")
    if value < 0:
        raise InvalidInput(f"{name} must be >= 0, got {value}")
    return int(value)


def _empty(confidence: float, method: str) -> Interval:
    return Interval(math.nan, math.nan, math.nan, 0, confidence, method)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval for a proportion ``successes / n``.

    Unlike the textbook p ± z·SE it stays inside [0, 1] and keeps its coverage near 0 and 1.
    ``n == 0`` gives NaN estimate and bounds.

    >>> i = wilson_interval(8, 10)
    >>> (i.estimate, round(i.low, 4), round(i.high, 4))
    (0.8, 0.4902, 0.9433)
    >>> wilson_interval(0, 0).estimate
    nan
    """
    successes = check_count(successes, "successes")
    n = check_count(n, "n")
    confidence = check_confidence(confidence)
    if successes > n:
        raise InvalidInput(f"successes must be between 0 and n={n}, got {successes}")
    if n == 0:
        return _empty(confidence, "wilson")
    z = normal_quantile(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    # Exact at the edges; elsewhere guard the bounds against rounding past p or [0, 1].
    low = 0.0 if successes == 0 else min(max(centre - half, 0.0), p)
    high = 1.0 if successes == n else max(min(centre + half, 1.0), p)
    return Interval(p, low, high, n, confidence, "wilson")


class NpsCounts(NamedTuple):
    """Responses of an NPS (or eNPS) survey by class.

    >>> nps_counts([10, 9, 8, 3]).n
    4
    """

    promoters: int
    passives: int
    detractors: int

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors


def nps_variance(counts: NpsCounts | tuple[int, int, int]) -> float:
    """Variance of one response's score on the -100…100 scale: 100²·[p + d - (p - d)²].

    ``p`` and ``d`` are the shares of promoters and detractors; the standard error of the NPS
    is ``sqrt(variance / n)``. NaN with no responses.

    >>> nps_variance((50, 30, 20))
    6100.0
    """
    promoters, passives, detractors = counts
    n = promoters + passives + detractors
    if n == 0:
        return math.nan
    p, d = promoters / n, detractors / n
    return 100.0**2 * max(p + d - (p - d) ** 2, 0.0)


def nps(promoters: int, passives: int, detractors: int, confidence: float = 0.95) -> Interval:
    """Net Promoter Score 100·(p - d) with a normal interval clipped to [-100, 100].

    eNPS is computed the same way from employees' answers.

    >>> i = nps(50, 30, 20)  # variance 6100, SE 7.81
    >>> (i.estimate, round(i.low, 1), round(i.high, 1))
    (30.0, 14.7, 45.3)
    """
    counts = NpsCounts(
        check_count(promoters, "promoters"),
        check_count(passives, "passives"),
        check_count(detractors, "detractors"),
    )
    confidence = check_confidence(confidence)
    n = counts.n
    if n == 0:
        return _empty(confidence, "normal")
    estimate = 100.0 * (promoters - detractors) / n
    half = normal_quantile(confidence) * math.sqrt(nps_variance(counts) / n)
    low = min(max(estimate - half, -100.0), estimate)
    high = max(min(estimate + half, 100.0), estimate)
    return Interval(estimate, low, high, n, confidence, "normal")


def check_scores(scores: Iterable[float], scale: tuple[int, int], metric: str) -> list[int]:
    """The scores as whole numbers, each checked to lie on ``scale`` (inclusive).

    >>> check_scores([1, 5.0], CSAT_SCALE, "CSAT")
    [1, 5]
    """
    low, high = scale
    checked = []
    for position, score in enumerate(scores):
        ok = not isinstance(score, bool) and isinstance(score, numbers.Real)
        if not ok or score != score // 1 or not low <= score <= high:
            raise InvalidInput(
                f"{metric} scores must be whole numbers from {low} to {high}; "
                f"score #{position} is {score!r}"
            )
        checked.append(int(score))
    return checked


def nps_counts(scores: Iterable[int]) -> NpsCounts:
    """Classify 0-10 answers: 9-10 promoter, 7-8 passive, 0-6 detractor.

    >>> nps_counts([10, 9, 7, 6, 0])
    NpsCounts(promoters=2, passives=1, detractors=2)
    """
    checked = check_scores(scores, NPS_SCALE, "NPS")
    promoters = sum(1 for s in checked if s >= 9)
    passives = sum(1 for s in checked if 7 <= s <= 8)
    return NpsCounts(promoters, passives, len(checked) - promoters - passives)


def nps_from_scores(scores: Iterable[int], confidence: float = 0.95) -> Interval:
    """NPS (or eNPS) of raw 0-10 answers; an answer off the scale raises ``InvalidInput``.

    >>> nps_from_scores([10, 9, 8, 3]).estimate
    25.0
    """
    return nps(*nps_counts(scores), confidence=confidence)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean with a Student t interval (n - 1 degrees of freedom, sample variance).

    The t quantile is exact for every n, so small samples get honest, wider intervals; they
    are still flagged by :func:`reading` below :data:`MIN_SAMPLE`. No values give NaN; one
    value gives its mean with NaN bounds.

    >>> i = mean_interval([4, 5, 3, 4, 5, 4, 2, 5, 4, 4])  # s² = 8/9, t(9) = 2.2622
    >>> (i.estimate, round(i.low, 4), round(i.high, 4))
    (4.0, 3.3256, 4.6744)
    """
    confidence = check_confidence(confidence)
    xs = []
    for position, value in enumerate(values):
        number = not isinstance(value, bool) and isinstance(value, numbers.Real)
        if not number or not math.isfinite(value):
            raise InvalidInput(f"values must be finite numbers; value #{position} is {value!r}")
        xs.append(float(value))
    n = len(xs)
    if n == 0:
        return _empty(confidence, "student-t")
    mean = math.fsum(xs) / n
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, confidence, "student-t")
    variance = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    half = t_quantile(confidence, n - 1) * math.sqrt(variance / n)
    return Interval(mean, mean - half, mean + half, n, confidence, "student-t")


def _scale_mean(
    scores: Iterable[float], scale: tuple[int, int], metric: str, confidence: float
) -> Interval:
    interval = mean_interval(check_scores(scores, scale, metric), confidence)
    if math.isnan(interval.low):
        return interval
    low, high = scale
    return Interval(
        interval.estimate,
        max(interval.low, low),
        min(interval.high, high),
        interval.n,
        interval.confidence,
        interval.method,
    )


def csat(scores: Iterable[float], confidence: float = 0.95) -> Interval:
    """Mean CSAT (1-5) with its t interval, clipped to the scale.

    >>> csat([5, 4, 4, 3]).estimate
    4.0
    """
    return _scale_mean(scores, CSAT_SCALE, "CSAT", confidence)


def ces(scores: Iterable[float], confidence: float = 0.95) -> Interval:
    """Mean CES (1-7, "the company made it easy") with its t interval, clipped to the scale.

    >>> ces([7, 6, 5]).estimate
    6.0
    """
    return _scale_mean(scores, CES_SCALE, "CES", confidence)


def top_box(
    scores: Iterable[float],
    *,
    scale: tuple[int, int],
    top: int,
    metric: str = "score",
    confidence: float = 0.95,
) -> Interval:
    """Share of scores >= ``top`` on ``scale``, with its Wilson interval.

    >>> top_box([5, 4, 2, 1], scale=(1, 5), top=4).estimate
    0.5
    """
    checked = check_scores(scores, scale, metric)
    return wilson_interval(sum(1 for s in checked if s >= top), len(checked), confidence)


def csat_top_box(scores: Iterable[float], confidence: float = 0.95) -> Interval:
    """Share of satisfied customers: CSAT 4 or 5 of 1-5 (Wilson interval).

    >>> csat_top_box([5, 4, 3, 2]).estimate
    0.5
    """
    return top_box(scores, scale=CSAT_SCALE, top=4, metric="CSAT", confidence=confidence)


def ces_agree(scores: Iterable[float], confidence: float = 0.95) -> Interval:
    """Share who agree it was easy: CES 5, 6 or 7 of 1-7 (Wilson interval).

    >>> ces_agree([7, 5, 4, 1]).estimate
    0.5
    """
    return top_box(scores, scale=CES_SCALE, top=5, metric="CES", confidence=confidence)


@dataclass(frozen=True)
class Reading:
    """An interval and whether the dashboard may show it as a number, with the reason if not.

    >>> r = reading(wilson_interval(3, 4))
    >>> (r.reportable, r.reason, r.text())
    (False, 'insufficient data: 4 responses, at least 30 needed', '—')
    """

    interval: Interval
    reportable: bool
    reason: str | None

    @property
    def value(self) -> float | None:
        """The estimate, or None when it is not reportable."""
        return self.interval.estimate if self.reportable else None

    def text(self, spec: str = ".1f", *, missing: str = "—") -> str:
        """The estimate formatted with ``spec``, or ``missing`` when not reportable."""
        return format(self.interval.estimate, spec) if self.reportable else missing


def reading(
    interval: Interval,
    *,
    min_n: int = MIN_SAMPLE,
    counted: tuple[str, str] = ("response", "responses"),
) -> Reading:
    """Judge an interval against the minimum-sample rule.

    A figure is reportable when it rests on at least ``min_n`` responses (30 by default, for
    means, NPS and proportions alike) and both of its bounds could be computed.

    >>> reading(nps(50, 30, 20)).text()
    '30.0'
    """
    check_count(min_n, "min_n")
    n = interval.n
    one, many = counted  # what n counts: responses, contacts, matters …
    if n == 0:
        return Reading(interval, False, f"insufficient data: no {many}")
    if n < min_n:
        word = one if n == 1 else many
        return Reading(interval, False, f"insufficient data: {n} {word}, at least {min_n} needed")
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return Reading(interval, False, "insufficient data: the interval cannot be computed")
    return Reading(interval, True, None)


def reportable(interval: Interval, *, min_n: int = MIN_SAMPLE) -> bool:
    """Whether the dashboard may show ``interval`` as a number (see :func:`reading`).

    >>> reportable(wilson_interval(24, 40))
    True
    """
    return reading(interval, min_n=min_n).reportable

"""Quantiles and tail probabilities of the normal and Student t distributions, stdlib only.

The metrics need nothing beyond the standard library here (the insights use scipy for the
negative binomial and gamma tails): the normal distribution comes from
:class:`statistics.NormalDist` and the Student t distribution from its closed form for whole
degrees of freedom (Abramowitz & Stegun 26.7.3-4), which is exact up to floating-point rounding.

>>> round(normal_quantile(0.95), 4)
1.96
>>> round(t_quantile(0.95, 9), 4)
2.2622
"""

from __future__ import annotations

import math
from statistics import NormalDist

from cxm.errors import InvalidInput

_STANDARD_NORMAL = NormalDist()

# Above this many degrees of freedom the Cornish-Fisher expansion of the t quantile agrees with
# the exact series to better than 1e-10, and the series would need hundreds of terms per step.
_SERIES_MAX_DF = 200


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` if it lies strictly between 0 and 1, else raise ``InvalidInput``.

    >>> check_confidence(0.9)
    0.9
    """
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise InvalidInput(f"confidence must be a number between 0 and 1, got {confidence!r}")
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(
            f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence!r}"
        )
    return float(confidence)


def normal_quantile(confidence: float) -> float:
    """The two-sided critical value z with P(|Z| <= z) = ``confidence`` for a standard normal Z.

    >>> round(normal_quantile(0.99), 4)
    2.5758
    """
    alpha = 1.0 - check_confidence(confidence)
    # Computed from the lower tail so that confidences close to 1 keep their precision.
    return -_STANDARD_NORMAL.inv_cdf(alpha / 2.0)


def two_sided_p_value(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z; NaN stays NaN.

    >>> round(two_sided_p_value(1.959964), 4)
    0.05
    >>> two_sided_p_value(0.0)
    1.0
    """
    if math.isnan(z):
        return math.nan
    return math.erfc(abs(z) / math.sqrt(2.0))


def _t_central_probability(theta: float, df: int) -> float:
    """P(|T| <= t) for T ~ t(df), written in terms of theta = atan(t / sqrt(df))."""
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 1:
        term = math.cos(theta)
        total = term if df > 1 else 0.0
        for k in range(1, (df - 3) // 2 + 1):
            term *= (2 * k) / (2 * k + 1) * cos2
            total += term
        return 2.0 / math.pi * (theta + sin * total)
    term, total = 1.0, 1.0
    for k in range(1, (df - 2) // 2 + 1):
        term *= (2 * k - 1) / (2 * k) * cos2
        total += term
    return sin * total


def _t_quantile_cornish_fisher(confidence: float, df: int) -> float:
    """Hill's (1970) expansion of the t quantile in powers of 1/df around the normal one."""
    z = normal_quantile(confidence)
    z2 = z * z
    g1 = (z2 + 1.0) * z / 4.0
    g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0
    g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0
    g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0
    return z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df


def t_quantile(confidence: float, df: int) -> float:
    """The two-sided critical value t with P(|T| <= t) = ``confidence`` for T ~ t(``df``).

    ``df`` is a whole number of degrees of freedom, at least 1.

    >>> round(t_quantile(0.95, 1), 3)
    12.706
    >>> round(t_quantile(0.95, 29), 4)
    2.0452
    """
    confidence = check_confidence(confidence)
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise InvalidInput(f"degrees of freedom must be a whole number >= 1, got {df!r}")
    if df > _SERIES_MAX_DF:
        return _t_quantile_cornish_fisher(confidence, df)
    # P(|T| <= t) rises monotonically with theta on [0, pi/2): bisect to the last bit.
    low, high = 0.0, math.pi / 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if _t_central_probability(mid, df) < confidence:
            low = mid
        else:
            high = mid
    return math.sqrt(df) * math.tan((low + high) / 2.0)


def fisher_exact_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact test on the 2×2 table ``[[a, b], [c, d]]``: the probability,
    with the margins fixed, of ``a`` or more in the top-left cell (association at least this
    strong by chance). Exact, from the hypergeometric distribution in log space.

    Rows: with / without the antecedent; columns: with / without the consequent.

    >>> round(fisher_exact_greater(8, 2, 1, 5), 4)
    0.0245
    >>> fisher_exact_greater(0, 5, 5, 0)
    1.0
    """
    for value in (a, b, c, d):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"a 2×2 table holds counts >= 0, got {(a, b, c, d)}")
    row, col, total = a + b, a + c, a + b + c + d
    if total == 0:
        return 1.0

    def log_comb(n: int, k: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

    denominator = log_comb(total, col)
    top = min(row, col)
    terms = [
        log_comb(row, k) + log_comb(total - row, col - k) - denominator
        for k in range(a, top + 1)
        if col - k <= total - row
    ]
    if not terms:
        return 0.0
    peak = max(terms)
    return min(1.0, math.exp(peak) * sum(math.exp(t - peak) for t in terms))

"""The catalogue's tallies give the same intervals and tests as the statistics on raw answers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxm.metrics import compare_means, compare_nps, compare_proportions, mean_interval, nps
from cxm.metrics.runner import Tally
from cxm.metrics.stats import CES_SCALE, wilson_interval

scores = st.lists(st.integers(min_value=1, max_value=7), min_size=2, max_size=200)


@settings(max_examples=100, deadline=None)
@given(scores, scores)
def test_mean_tallies_match_the_raw_answers(a: list[int], b: list[int]) -> None:
    ta = Tally("mean", len(a), sum(a), sum(x * x for x in a))
    tb = Tally("mean", len(b), sum(b), sum(x * x for x in b))
    raw = mean_interval(a)
    got = ta.interval()
    assert got.estimate == pytest.approx(raw.estimate)
    if raw.low == raw.low:  # not NaN
        assert (got.low, got.high) == (pytest.approx(raw.low), pytest.approx(raw.high))
    change, expected = ta.compare(tb), compare_means(a, b)
    assert change.difference == pytest.approx(expected.difference)
    assert change.p_value == pytest.approx(expected.p_value, abs=1e-9)


def test_a_scaled_mean_is_clipped_to_its_scale() -> None:
    interval = Tally("mean", 3, 21, 147, CES_SCALE).interval()  # three answers of 7
    assert (interval.estimate, interval.high) == (7.0, 7.0)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_proportion_and_nps_tallies(p: int, q: int, r: int, s: int) -> None:
    n = p + q + r
    if n:
        assert Tally("proportion", n, p).interval() == wilson_interval(p, n)
        assert Tally("nps", n, p, r).interval() == nps(p, q, r)
    other = p + s + 1
    change = Tally("proportion", other, s).compare(Tally("proportion", other, p))
    expected = compare_proportions(s, other, p, other)
    assert change.p_value == pytest.approx(expected.p_value, nan_ok=True)
    if n:
        ch = Tally("nps", n, p, r).compare(Tally("nps", n, r, p))
        assert ch.difference == pytest.approx(compare_nps((p, q, r), (r, q, p)).difference)

"""cxm.metrics statistics: every formula against hand-computed values, plus properties."""

from __future__ import annotations

import doctest
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cxm.metrics.changes
import cxm.metrics.distributions
import cxm.metrics.stats
from cxm.errors import InvalidInput
from cxm.metrics import (
    MIN_SAMPLE,
    Change,
    NpsCounts,
    benjamini_hochberg,
    bh_adjusted,
    ces,
    ces_agree,
    compare_means,
    compare_nps,
    compare_proportions,
    csat,
    csat_top_box,
    flag_movers,
    mean_interval,
    normal_quantile,
    nps,
    nps_counts,
    nps_from_scores,
    nps_variance,
    reading,
    reportable,
    t_quantile,
    two_sided_p_value,
    wilson_interval,
)

confidences = st.floats(min_value=0.5, max_value=0.999)


@pytest.mark.parametrize(
    "module", [cxm.metrics.stats, cxm.metrics.changes, cxm.metrics.distributions]
)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


# --- quantiles ---------------------------------------------------------------------------


def test_normal_quantiles() -> None:
    # Φ⁻¹(0.975) = 1.959964, Φ⁻¹(0.995) = 2.575829, Φ⁻¹(0.95) = 1.644854
    assert normal_quantile(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert normal_quantile(0.99) == pytest.approx(2.575829, abs=1e-6)
    assert normal_quantile(0.90) == pytest.approx(1.644854, abs=1e-6)


@pytest.mark.parametrize(
    ("confidence", "df", "expected"),
    [
        # df = 1 is the Cauchy: t = tan(π/2 · 0.95) = 12.706205
        (0.95, 1, 12.706205),
        # df = 2 has the closed form t = c·sqrt(2 / (1 - c²)); c = 0.95 → 4.302653
        (0.95, 2, 4.302653),
        # Student t tables
        (0.95, 9, 2.262157),
        (0.99, 4, 4.604095),
        (0.95, 29, 2.045230),
        (0.90, 100, 1.660234),
        # Above 200 degrees of freedom the Cornish-Fisher expansion takes over
        (0.95, 1000, 1.962339),
    ],
)
def test_t_quantiles(confidence: float, df: int, expected: float) -> None:
    assert t_quantile(confidence, df) == pytest.approx(expected, abs=1e-6)


def test_t_quantile_is_continuous_where_the_method_changes() -> None:
    assert t_quantile(0.95, 200) > t_quantile(0.95, 201) > normal_quantile(0.95)
    assert t_quantile(0.95, 200) - t_quantile(0.95, 201) < 1e-4


def test_two_sided_p_values() -> None:
    # 2·(1 - Φ(1.959964)) = 0.05; 2·(1 - Φ(2.828427)) = 0.004678
    assert two_sided_p_value(1.959964) == pytest.approx(0.05, abs=1e-6)
    assert two_sided_p_value(-2.828427) == pytest.approx(0.004678, abs=1e-6)
    assert two_sided_p_value(0.0) == 1.0
    assert two_sided_p_value(math.inf) == 0.0
    assert math.isnan(two_sided_p_value(math.nan))


# --- Wilson ------------------------------------------------------------------------------


def test_wilson_8_of_10() -> None:
    # z = 1.959964, z²/n = 0.384146
    # centre = (0.8 + 0.192073) / 1.384146 = 0.716737
    # half   = 1.959964 / 1.384146 · sqrt(0.8·0.2/10 + 0.384146/40) = 1.416009 · 0.160011 = 0.226577
    i = wilson_interval(8, 10)
    assert i.estimate == 0.8
    assert i.low == pytest.approx(0.490162, abs=1e-6)
    assert i.high == pytest.approx(0.943318, abs=1e-6)
    assert (i.n, i.confidence, i.method) == (10, 0.95, "wilson")


def test_wilson_at_the_edges() -> None:
    # 0 of 10: low = 0 exactly, high = z²/n / (1 + z²/n) = 0.384146 / 1.384146 = 0.277533
    none = wilson_interval(0, 10)
    assert (none.estimate, none.low) == (0.0, 0.0)
    assert none.high == pytest.approx(0.277533, abs=1e-6)
    every = wilson_interval(10, 10)
    assert (every.estimate, every.high) == (1.0, 1.0)
    assert every.low == pytest.approx(1 - 0.277533, abs=1e-6)


def test_wilson_without_responses_is_nan() -> None:
    i = wilson_interval(0, 0)
    assert i.n == 0
    assert math.isnan(i.estimate) and math.isnan(i.low) and math.isnan(i.high)


@given(n=st.integers(1, 10_000), data=st.data(), confidence=confidences)
def test_wilson_within_unit_interval_and_contains_estimate(
    n: int, data: st.DataObject, confidence: float
) -> None:
    successes = data.draw(st.integers(0, n))
    i = wilson_interval(successes, n, confidence)
    assert 0.0 <= i.low <= i.estimate <= i.high <= 1.0


@given(n=st.integers(1, 2_000), data=st.data(), k=st.integers(2, 10), confidence=confidences)
def test_wilson_narrows_with_n(n: int, data: st.DataObject, k: int, confidence: float) -> None:
    successes = data.draw(st.integers(0, n))
    small = wilson_interval(successes, n, confidence)
    large = wilson_interval(k * successes, k * n, confidence)
    assert large.width < small.width


@given(n=st.integers(1, 1_000), data=st.data())
def test_wilson_widens_with_confidence(n: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(0, n))
    assert wilson_interval(successes, n, 0.99).width > wilson_interval(successes, n, 0.9).width


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: wilson_interval(-1, 10), "-1"),
        (lambda: wilson_interval(11, 10), "11"),
        (lambda: wilson_interval(1, -5), "-5"),
        (lambda: wilson_interval(1.5, 10), "1.5"),  # type: ignore[arg-type]
        (lambda: wilson_interval(True, 10), "True"),  # type: ignore[arg-type]
        (lambda: wilson_interval(1, 10, 1.0), "1.0"),
        (lambda: wilson_interval(1, 10, 0.0), "0.0"),
        (lambda: wilson_interval(1, 10, 95), "95"),
        (lambda: wilson_interval(1, 10, math.nan), "nan"),
        (lambda: nps(-3, 0, 1), "-3"),
        (lambda: nps(1, 1, 1, confidence=1.5), "1.5"),
        (lambda: t_quantile(0.95, 0), "0"),
    ],
)
def test_bad_input_names_the_value(call: object, named: str) -> None:
    with pytest.raises(ValueError, match=named) as caught:
        call()  # type: ignore[operator]
    assert isinstance(caught.value, InvalidInput)


# --- NPS ---------------------------------------------------------------------------------


def test_nps_50_30_20() -> None:
    # p = 0.5, d = 0.2 → NPS = 100·(0.5 - 0.2) = 30
    # variance = 100²·[0.5 + 0.2 - 0.3²] = 10000 · 0.61 = 6100 → SE = sqrt(6100/100) = 7.8102
    # 95%: 30 ± 1.959964 · 7.8102 = 30 ± 15.3078 → 14.692 … 45.308
    assert nps_variance((50, 30, 20)) == pytest.approx(6100.0)
    i = nps(50, 30, 20)
    assert i.estimate == 30.0
    assert i.low == pytest.approx(14.6922, abs=1e-4)
    assert i.high == pytest.approx(45.3078, abs=1e-4)
    assert i.n == 100


def test_nps_interval_is_clipped() -> None:
    # 9 promoters, 1 detractor: NPS 80, variance 10000·[0.9 + 0.1 - 0.64] = 3600, SE = 18.97
    # 80 + 1.96 · 18.97 = 117.2 → clipped to 100
    i = nps(9, 0, 1)
    assert i.estimate == 80.0
    assert i.high == 100.0
    assert i.low == pytest.approx(80 - 1.959964 * 60 / math.sqrt(10), abs=1e-6)


def test_nps_without_responses_is_nan() -> None:
    i = nps(0, 0, 0)
    assert i.n == 0 and math.isnan(i.estimate)


def test_nps_from_scores_classifies_the_scale() -> None:
    scores = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    assert nps_counts(scores) == NpsCounts(promoters=2, passives=2, detractors=7)
    # 100 · (2 - 7) / 11 = -45.45
    assert nps_from_scores(scores).estimate == pytest.approx(-45.4545, abs=1e-4)
    assert nps_from_scores([9.0, 10.0]).estimate == 100.0


@pytest.mark.parametrize("bad", [11, -1, 7.5, math.nan, "9"])
def test_nps_from_scores_rejects_off_scale_answers(bad: object) -> None:
    with pytest.raises(InvalidInput, match=re.escape(repr(bad))):
        nps_from_scores([10, bad])  # type: ignore[list-item]


@given(
    promoters=st.integers(0, 5_000),
    passives=st.integers(0, 5_000),
    detractors=st.integers(0, 5_000),
    confidence=confidences,
)
def test_nps_interval_within_bounds(
    promoters: int, passives: int, detractors: int, confidence: float
) -> None:
    i = nps(promoters, passives, detractors, confidence)
    if i.n == 0:
        assert math.isnan(i.estimate)
        return
    assert -100.0 <= i.low <= i.estimate <= i.high <= 100.0


# --- means and top boxes -----------------------------------------------------------------


def test_mean_interval_small_sample_uses_t() -> None:
    # values 4 5 3 4 5 4 2 5 4 4: mean 4, squared deviations 0 1 1 0 1 0 4 1 0 0 = 8
    # s² = 8/9, SE = sqrt(8/9/10) = 0.298142; t(0.975, 9) = 2.262157 → ± 0.674444
    i = mean_interval([4, 5, 3, 4, 5, 4, 2, 5, 4, 4])
    assert i.estimate == 4.0
    assert i.low == pytest.approx(3.325556, abs=1e-6)
    assert i.high == pytest.approx(4.674444, abs=1e-6)
    assert i.method == "student-t"


def test_mean_interval_large_sample_is_close_to_normal() -> None:
    # 50 ones and 50 threes: mean 2, s² = 100/99, SE = sqrt(1/99) = 0.100504
    # t(0.975, 99) = 1.984217 → ± 0.199421 (the normal would give ± 0.196983)
    i = mean_interval([1] * 50 + [3] * 50)
    assert i.estimate == 2.0
    assert i.high - i.estimate == pytest.approx(0.199421, abs=1e-6)


def test_mean_interval_with_too_few_values() -> None:
    assert math.isnan(mean_interval([]).estimate)
    one = mean_interval([4])
    assert one.estimate == 4.0 and math.isnan(one.low) and math.isnan(one.high)
    assert not reportable(one, min_n=1)


@pytest.mark.parametrize("bad", [math.inf, math.nan, "4", None])
def test_mean_interval_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(InvalidInput, match="value #1"):
        mean_interval([4, bad])  # type: ignore[list-item]


def test_csat_and_ces_stay_on_their_scales() -> None:
    # 5, 5, 4: mean 4.667, s² = 1/3, SE = 0.3333, t(0.975, 2) = 4.302653 → high 6.10 → 5
    i = csat([5, 5, 4])
    assert i.estimate == pytest.approx(14 / 3)
    assert i.high == 5.0
    assert i.low == pytest.approx(14 / 3 - 4.302653 / 3, abs=1e-6)
    assert ces([1, 1, 2]).low == 1.0
    with pytest.raises(InvalidInput, match="CSAT.*6"):
        csat([5, 6])
    with pytest.raises(InvalidInput, match="CES.*0"):
        ces([0, 7])


def test_top_boxes() -> None:
    # CSAT 4-5: 3 of 5 satisfied; CES 5-7: 2 of 4 agree
    assert csat_top_box([5, 4, 4, 3, 1]) == wilson_interval(3, 5)
    assert ces_agree([7, 5, 4, 1]) == wilson_interval(2, 4)


# --- minimum samples ---------------------------------------------------------------------


def test_reading_says_why_a_figure_is_hidden() -> None:
    assert MIN_SAMPLE == 30
    empty = reading(nps(0, 0, 0))
    assert (empty.reportable, empty.value, empty.text()) == (False, None, "—")
    assert empty.reason == "insufficient data: no responses"
    few = reading(wilson_interval(20, 29))
    assert few.reason == "insufficient data: 29 responses, at least 30 needed"
    assert few.text(missing="n/a") == "n/a"
    enough = reading(wilson_interval(21, 30))
    assert (enough.reportable, enough.reason, enough.value) == (True, None, 0.7)
    assert enough.text(".0%") == "70%"
    assert reportable(wilson_interval(3, 4), min_n=4)


# --- changes -----------------------------------------------------------------------------


def test_compare_proportions() -> None:
    # 40/100 → 60/100: pooled P = 0.5, SE = sqrt(0.25 · (1/100 + 1/100)) = 0.070711
    # z = 0.2 / 0.070711 = 2.828427, p = 0.004678
    # Newcombe: Wilson 0.4 → [0.309401, 0.497997], 0.6 → [0.502003, 0.690599]
    # low = 0.2 - sqrt(0.097997² + 0.097997²) = 0.061411, high = 0.2 + 0.128126 = 0.328126
    c = compare_proportions(40, 100, 60, 100)
    assert c.difference == pytest.approx(0.2)
    assert c.z == pytest.approx(2.828427, abs=1e-6)
    assert c.p_value == pytest.approx(0.004678, abs=1e-6)
    assert c.low == pytest.approx(0.061411, abs=1e-6)
    assert c.high == pytest.approx(0.328126, abs=1e-6)
    assert c.is_significant()


def test_compare_nps() -> None:
    # A: (50, 30, 20) NPS 30, var 6100; B: (60, 25, 15) NPS 45, var 10000·[0.75 - 0.2025] = 5475
    # SE = sqrt(6100/100 + 5475/100) = sqrt(115.75) = 10.758717
    # z = 15 / 10.758717 = 1.394218, p = 0.163252; 95%: 15 ± 21.086699
    c = compare_nps((50, 30, 20), NpsCounts(60, 25, 15))
    assert c.difference == 15.0
    assert c.z == pytest.approx(1.394218, abs=1e-6)
    assert c.p_value == pytest.approx(0.163252, abs=1e-6)
    assert c.low == pytest.approx(-6.086699, abs=1e-6)
    assert c.high == pytest.approx(36.086699, abs=1e-6)
    assert not c.is_significant()


def test_compare_means() -> None:
    # [3,4,5] → [4,5,6]: sA² = sB² = 1, SE = sqrt(1/3 + 1/3) = 0.816497
    # z = 1 / 0.816497 = 1.224745, p = 0.220671
    c = compare_means([3, 4, 5], [4, 5, 6])
    assert c.difference == 1.0
    assert c.z == pytest.approx(1.224745, abs=1e-6)
    assert c.p_value == pytest.approx(0.220671, abs=1e-6)
    assert c.high - c.difference == pytest.approx(1.959964 * 0.816497, abs=1e-5)


def test_changes_without_data_are_nan_and_never_significant() -> None:
    for c in (
        compare_proportions(0, 0, 5, 10),
        compare_nps((0, 0, 0), (1, 1, 1)),
        compare_means([4], [4, 5]),
    ):
        assert math.isnan(c.difference) and math.isnan(c.p_value)
        assert not c.is_significant()
    assert benjamini_hochberg([math.nan, 0.001]) == [False, True]


def test_certain_changes() -> None:
    # Every answer a promoter before, every one a detractor after: no variance, certain drop.
    c = compare_nps((30, 0, 0), (0, 0, 30))
    assert (c.difference, c.z, c.p_value) == (-200.0, -math.inf, 0.0)
    same = compare_proportions(10, 10, 20, 20)
    assert (same.difference, same.z, same.p_value) == (0.0, 0.0, 1.0)


@given(n=st.integers(1, 5_000), data=st.data())
def test_identical_proportions_do_not_differ(n: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(0, n))
    c = compare_proportions(successes, n, successes, n)
    assert (c.difference, c.p_value) == (0.0, 1.0)
    assert c.low <= 0.0 <= c.high


counts = st.tuples(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500)).filter(
    lambda c: sum(c) > 0
)


@given(a=counts)
def test_identical_nps_do_not_differ(a: tuple[int, int, int]) -> None:
    c = compare_nps(a, a)
    assert (c.difference, c.p_value) == (0.0, 1.0)


@given(values=st.lists(st.integers(1, 5), min_size=2, max_size=200))
def test_identical_means_do_not_differ(values: list[int]) -> None:
    c = compare_means(values, values)
    assert (c.difference, c.p_value) == (0.0, 1.0)


def assert_mirrored(forward: Change, backward: Change) -> None:
    assert backward.difference == -forward.difference
    assert backward.z == -forward.z
    assert backward.p_value == forward.p_value
    assert backward.low == pytest.approx(-forward.high)
    assert backward.high == pytest.approx(-forward.low)


@given(na=st.integers(1, 2_000), nb=st.integers(1, 2_000), data=st.data())
def test_compare_proportions_is_symmetric(na: int, nb: int, data: st.DataObject) -> None:
    xa, xb = data.draw(st.integers(0, na)), data.draw(st.integers(0, nb))
    assert_mirrored(compare_proportions(xa, na, xb, nb), compare_proportions(xb, nb, xa, na))


@given(a=counts, b=counts)
def test_compare_nps_is_symmetric(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    assert_mirrored(compare_nps(a, b), compare_nps(b, a))


@given(
    a=st.lists(st.integers(1, 7), min_size=2, max_size=100),
    b=st.lists(st.integers(1, 7), min_size=2, max_size=100),
)
def test_compare_means_is_symmetric(a: list[int], b: list[int]) -> None:
    assert_mirrored(compare_means(a, b), compare_means(b, a))


# --- Benjamini-Hochberg ------------------------------------------------------------------


def test_benjamini_hochberg_by_hand() -> None:
    # m = 8, sorted p · m / rank:
    #   0.001·8 = 0.008, 0.008·4 = 0.032, 0.039·8/3 = 0.104, 0.041·2 = 0.082,
    #   0.042·8/5 = 0.0672, 0.06·8/6 = 0.08, 0.074·8/7 = 0.084571, 0.205·1 = 0.205
    # running minimum from the largest: 0.205, 0.084571, 0.08, 0.0672, 0.0672, 0.0672, 0.032, 0.008
    p = [0.041, 0.001, 0.205, 0.039, 0.008, 0.06, 0.042, 0.074]
    expected = [0.0672, 0.008, 0.205, 0.0672, 0.032, 0.08, 0.0672, 0.084571]
    assert bh_adjusted(p) == pytest.approx(expected, abs=1e-6)
    # At q = 0.05 only the two smallest survive, though five raw p-values are below 0.05.
    assert benjamini_hochberg(p) == [False, True, False, False, True, False, False, False]
    assert benjamini_hochberg(p, q=0.07) == [True, True, False, True, True, False, True, False]
    assert bh_adjusted([]) == [] and benjamini_hochberg([]) == []


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_benjamini_hochberg_rejects_bad_p_values(bad: float) -> None:
    with pytest.raises(InvalidInput, match=re.escape(repr(bad))):
        bh_adjusted([0.01, bad])


@pytest.mark.parametrize("q", [0.0, 1.0, -0.05])
def test_benjamini_hochberg_rejects_bad_q(q: float) -> None:
    with pytest.raises(InvalidInput, match=re.escape(repr(q))):
        benjamini_hochberg([0.01], q=q)


p_lists = st.lists(st.floats(0.0, 1.0), max_size=60)
qs = st.floats(0.001, 0.5)


@given(p=p_lists, q=qs)
def test_bh_rejects_no_more_than_raw_tests(p: list[float], q: float) -> None:
    rejected = benjamini_hochberg(p, q)
    assert sum(rejected) <= sum(x <= q for x in p)
    assert all(x <= q for x, hit in zip(p, rejected, strict=True) if hit)
    assert all(adj >= x for x, adj in zip(p, bh_adjusted(p), strict=True))


@given(p=p_lists, q=qs)
def test_bh_is_monotone_in_p(p: list[float], q: float) -> None:
    rejected = benjamini_hochberg(p, q)
    for x, hit_x in zip(p, rejected, strict=True):
        for y, hit_y in zip(p, rejected, strict=True):
            if x <= y and hit_y:
                assert hit_x


@given(p=p_lists, q1=qs, q2=qs)
def test_bh_is_monotone_in_q(p: list[float], q1: float, q2: float) -> None:
    low, high = sorted((q1, q2))
    strict = benjamini_hochberg(p, low)
    loose = benjamini_hochberg(p, high)
    assert all(b for a, b in zip(strict, loose, strict=True) if a)


@given(p=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40))
def test_bh_with_one_test_is_the_raw_test(p: list[float]) -> None:
    assert benjamini_hochberg(p[:1], 0.05) == [p[0] <= 0.05]


# --- movers ------------------------------------------------------------------------------


def test_flag_movers_controls_the_family_and_sorts_by_effect() -> None:
    changes = {
        # 40 touchpoints with no real change, and three that moved.
        **{f"tp{i}/csat%": compare_proportions(50, 100, 50 + (i % 7) - 3, 100) for i in range(40)},
        "shop/nps": compare_nps((50, 30, 20), (75, 15, 10)),
        "call/nps": compare_nps((50, 30, 20), (20, 30, 50)),
        "web/csat%": compare_proportions(40, 200, 90, 200),
    }
    movers = flag_movers(changes)
    assert [m.key for m in movers] == ["call/nps", "shop/nps", "web/csat%"]
    assert movers[0].change.difference == -60.0
    assert all(m.adjusted_p <= 0.05 for m in movers)
    by_z = flag_movers(changes, by="z")
    assert sorted(abs(m.change.z) for m in by_z) == [abs(m.change.z) for m in reversed(by_z)]
    assert flag_movers({}) == []


def test_flag_movers_drops_changes_that_are_only_nominally_significant() -> None:
    # p ≈ 0.03 alone is "significant", but not among 20 comparisons (0.03·20 = 0.6 > 0.05).
    nominal = compare_proportions(50, 100, 65, 100)
    assert 0.01 < nominal.p_value < 0.05
    family = {"nominal": nominal} | {
        f"flat{i}": compare_proportions(50, 100, 50, 100) for i in range(19)
    }
    assert flag_movers(family) == []
    assert [m.key for m in flag_movers({"nominal": nominal})] == ["nominal"]

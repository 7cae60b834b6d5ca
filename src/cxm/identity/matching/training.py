"""Estimating the Fellegi–Sunter parameters without labels.

``u`` (how often non-matches fall in each level) comes from random pairs, which are almost
all non-matches. ``m`` (the same for matches) comes from expectation maximisation with ``u``
held fixed, as in Splink: one EM session per blocking rule, over the pairs that rule produced,
with the comparisons of the rule's own columns left out. Those columns agree by construction
inside the rule's blocks, matches or not, so they would otherwise pull EM towards "shares an
address" instead of "same person". Each comparison's ``m`` is the average over the sessions
that estimated it, weighted by the matches each session found.

``λ``, the probability that two random entities match, follows from the same sessions: a
session finds ``λ_R · n_R`` matches among its ``n_R`` pairs, and the rule catches a share of all
matches that the model itself predicts (both sides have the rule's columns, and they agree).
The median of the resulting totals, over all pairs, is ``λ``.

EM runs on the distinct comparison patterns with their counts, so its cost does not grow
with the number of pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from cxm.identity.matching.comparisons import Comparison
from cxm.identity.matching.records import IntArray, RecordTable

FloatArray = npt.NDArray[np.float64]

# Probabilities are kept away from 0 and 1 so that no single field can veto or force a match
# on its own, and log weights stay finite.
PROBABILITY_FLOOR = 1e-6


def comparison_levels(
    table: RecordTable, comparisons: Sequence[Comparison], left: IntArray, right: IntArray
) -> npt.NDArray[np.int8]:
    """The level of every pair for every comparison, shape ``(pairs, comparisons)``."""
    levels = np.zeros((len(left), len(comparisons)), dtype=np.int8)
    for c, comparison in enumerate(comparisons):
        levels[:, c] = comparison.compute(table, left, right)
    return levels


def random_pairs(table: RecordTable, n_pairs: int, *, seed: int) -> tuple[IntArray, IntArray]:
    """Up to ``n_pairs`` uniformly random pairs of rows of different entities."""
    rng = np.random.default_rng(seed)
    if table.n_rows < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    left = rng.integers(0, table.n_rows, size=n_pairs)
    right = rng.integers(0, table.n_rows, size=n_pairs)
    keep = table.entity[left] != table.entity[right]
    return left[keep], right[keep]


def level_shares(
    levels: npt.NDArray[np.integer[Any]], n_levels: int, weights: FloatArray | None = None
) -> FloatArray:
    """Share of non-null pairs in each level (index 0, null, is set to 1), add-one smoothed."""
    counts = np.bincount(levels, weights=weights, minlength=n_levels)[:n_levels].astype(float)
    counts[0] = 0.0
    counts[1:] += 1.0 if weights is None else PROBABILITY_FLOOR
    shares = counts / max(counts.sum(), PROBABILITY_FLOOR)
    shares = np.clip(shares, PROBABILITY_FLOOR, 1.0)
    shares[0] = 1.0
    return shares


def estimate_u(levels: npt.NDArray[np.int8], comparisons: Sequence[Comparison]) -> list[FloatArray]:
    """``u`` per comparison from the levels of random pairs."""
    return [level_shares(levels[:, c], len(cmp.levels)) for c, cmp in enumerate(comparisons)]


def _initial_m(n_levels: int) -> FloatArray:
    # Matches mostly agree exactly and rarely fall in "else". A decisive start keeps EM away
    # from the other mode of the blocked pairs: non-matches that share a city or a first name.
    m = np.array([0.0, 0.9] + [0.08 / max(n_levels - 3, 1)] * (n_levels - 3) + [0.02])
    m /= m.sum()
    m[0] = 1.0
    return m


def expectation_maximisation(
    levels: npt.NDArray[np.int8],
    comparisons: Sequence[Comparison],
    u: Sequence[FloatArray],
    *,
    initial_lambda: float = 0.05,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
) -> tuple[list[FloatArray], float]:
    """``m`` per comparison and ``λ``, estimated on blocked pairs with ``u`` fixed."""
    m = [_initial_m(len(cmp.levels)) for cmp in comparisons]
    if not len(levels):
        return m, initial_lambda
    radix = np.int64(16)
    keys = np.zeros(len(levels), dtype=np.int64)
    for c in range(levels.shape[1]):
        keys = keys * radix + levels[:, c]
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    patterns = levels[first].astype(np.int64)
    counts_f = counts.astype(float)
    log_u = sum(np.log(u[c][patterns[:, c]]) for c in range(len(comparisons)))
    lam = initial_lambda
    for _ in range(max_iterations):
        log_m = sum(np.log(m[c][patterns[:, c]]) for c in range(len(comparisons)))
        log_odds = np.log(lam) - np.log1p(-lam) + log_m - log_u
        posterior = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        expected = counts_f * posterior
        new_lambda = float(np.clip(expected.sum() / counts_f.sum(), 1e-9, 1 - 1e-9))
        new_m = [
            level_shares(patterns[:, c], len(cmp.levels), weights=expected)
            for c, cmp in enumerate(comparisons)
        ]
        change = max(
            abs(new_lambda - lam),
            *(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)),
        )
        m, lam = new_m, new_lambda
        if change < tolerance:
            break
    return m, lam


_ADDRESS = ("house_number", "street", "address_extra", "city", "postcode", "state")
_GROUP = {column: "address" for column in _ADDRESS}


def estimate_m_and_lambda(
    levels: npt.NDArray[np.int8],
    comparisons: Sequence[Comparison],
    u: Sequence[FloatArray],
    sessions: Sequence[tuple[list[str], npt.NDArray[np.bool_]]],
    *,
    present_share: Sequence[float],
    n_entities: int,
    min_pairs: int = 20,
) -> tuple[list[FloatArray], float]:
    """``m`` per comparison and ``λ`` from one EM session per blocking rule (see module doc).

    ``sessions`` holds, per rule, its columns and which of the pairs it produced.
    """
    found: list[tuple[npt.NDArray[np.bool_], list[FloatArray], float]] = []
    for columns, mask in sessions:
        if int(mask.sum()) < min_pairs:
            continue
        # Address fields depend on each other (a postcode fixes the city), so a rule on one
        # of them leaves all of them out of its session.
        held = {_GROUP.get(column, column) for column in columns}
        active = np.array([_GROUP.get(c.column, c.column) not in held for c in comparisons])
        if not active.any():
            continue
        session_levels = levels[mask].copy()
        session_levels[:, ~active] = 0
        m, lam = expectation_maximisation(session_levels, comparisons, u)
        found.append((active, m, lam * float(mask.sum())))
    if not found:
        return [_initial_m(len(c.levels)) for c in comparisons], 1e-6
    m_final = []
    for c, cmp in enumerate(comparisons):
        estimates = [(m[c], matches) for active, m, matches in found if active[c]]
        if not estimates:
            m_final.append(_initial_m(len(cmp.levels)))
            continue
        total = sum(w for _, w in estimates) or 1.0
        m_final.append(np.sum([m * (w / total) for m, w in estimates], axis=0))
    totals = []
    for active, _, matches in found:
        caught = 1.0
        for c in np.flatnonzero(~active).tolist():
            caught *= present_share[c] ** 2 * float(m_final[c][1])
        totals.append(matches / max(caught, 1e-6))
    all_pairs = max(n_entities * (n_entities - 1) / 2, 1.0)
    lam = float(np.clip(np.median(totals) / all_pairs, 1e-12, 0.5))
    return m_final, lam

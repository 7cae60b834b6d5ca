"""The Fellegi–Sunter match model: fit, predict, explain, save and load."""

from __future__ import annotations

import json
import weakref
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cxm.errors import InvalidInput
from cxm.identity.matching.blocking import (
    DEFAULT_MAX_BLOCK_SIZE,
    BlockingRule,
    block,
    block_by_rule,
    default_rules,
)
from cxm.identity.matching.clustering import cluster_entities
from cxm.identity.matching.comparisons import Comparison, default_comparisons
from cxm.identity.matching.records import IntArray, RecordTable
from cxm.identity.matching.training import (
    FloatArray,
    comparison_levels,
    estimate_m_and_lambda,
    estimate_u,
    random_pairs,
)

FORMAT = "cxm-fellegi-sunter/1"


@dataclass(frozen=True)
class Predictions:
    """Scored candidate pairs, one per pair of entities (their best pair of rows).

    ``levels[i, c]`` is the level index of pair ``i`` in comparison ``comparisons[c]``.
    """

    left: IntArray
    right: IntArray
    left_entity: IntArray
    right_entity: IntArray
    weight: FloatArray
    probability: FloatArray
    levels: npt.NDArray[np.int8]
    comparisons: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.left)

    def above(self, probability: float) -> Predictions:
        """Only the pairs whose match probability is at least ``probability``."""
        keep = self.probability >= probability
        return Predictions(
            self.left[keep],
            self.right[keep],
            self.left_entity[keep],
            self.right_entity[keep],
            self.weight[keep],
            self.probability[keep],
            self.levels[keep],
            self.comparisons,
        )


@dataclass(frozen=True)
class Evidence:
    """What one field says about a pair: its level and that level's weight (log2 Bayes factor)."""

    column: str
    left_value: str
    right_value: str
    level: str
    weight: float

    @property
    def bayes_factor(self) -> float:
        return float(2.0**self.weight)


@dataclass(frozen=True)
class Explanation:
    """The evidence per field for one pair; ``weight`` is the prior plus the field weights."""

    left: int
    right: int
    prior_weight: float
    evidence: list[Evidence]
    weight: float
    probability: float


@dataclass(frozen=True)
class _Compared:
    table: weakref.ref[RecordTable]
    setup: tuple[object, ...]
    left: IntArray
    right: IntArray
    levels: npt.NDArray[np.int8]


def _probability(weight: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))


@dataclass
class MatchModel:
    """A Fellegi–Sunter model over a set of comparisons and blocking rules.

    Empty ``comparisons`` or ``blocking_rules`` are filled from the table at :meth:`fit`.
    """

    comparisons: list[Comparison] = field(default_factory=list)
    blocking_rules: list[BlockingRule] = field(default_factory=list)
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE
    m: list[FloatArray] = field(default_factory=list)
    u: list[FloatArray] = field(default_factory=list)
    lam: float = 0.0  # probability that two random entities match
    u_pairs: int = 200_000
    seed: int = 0
    # The blocked pairs and their levels from the last fit, reused by a predict on the same
    # table: comparing the pairs is most of the work, and fit has already done it.
    _compared: _Compared | None = field(default=None, repr=False, compare=False)

    @property
    def is_fitted(self) -> bool:
        return bool(self.m) and len(self.m) == len(self.comparisons)

    def level_weights(self) -> list[FloatArray]:
        """``log2(m / u)`` per comparison and level; 0 for the null level."""
        weights = []
        for m, u in zip(self.m, self.u, strict=True):
            w = np.log2(m / u)
            w[0] = 0.0
            weights.append(w)
        return weights

    @property
    def prior_weight(self) -> float:
        return float(np.log2(self.lam / (1.0 - self.lam)))

    # -- training ---------------------------------------------------------------------------

    def fit(self, table: RecordTable) -> MatchModel:
        """Estimate ``u`` from random pairs, then ``m`` and ``λ`` by EM on the blocked pairs."""
        if not self.comparisons:
            self.comparisons = default_comparisons(table)
        if not self.blocking_rules:
            self.blocking_rules = default_rules(table)
        if not self.comparisons:
            raise InvalidInput("the records have no column the matcher can compare")
        left, right = random_pairs(table, self.u_pairs, seed=self.seed)
        self.u = estimate_u(
            comparison_levels(table, self.comparisons, left, right), self.comparisons
        )
        left, right, produced = block_by_rule(
            table, self.blocking_rules, max_block_size=self.max_block_size
        )
        levels = comparison_levels(table, self.comparisons, left, right)
        self._compared = _Compared(weakref.ref(table), self._setup(), left, right, levels)
        present = [float(np.mean(table.column(c.column).codes >= 0)) for c in self.comparisons]
        self.m, self.lam = estimate_m_and_lambda(
            levels,
            self.comparisons,
            self.u,
            [(rule.columns(), mask) for rule, mask in produced],
            present_share=present,
            n_entities=table.n_entities,
        )
        return self

    def _setup(self) -> tuple[object, ...]:
        return (tuple(self.comparisons), tuple(self.blocking_rules), self.max_block_size)

    # -- scoring ----------------------------------------------------------------------------

    def _require_fitted(self, table: RecordTable) -> None:
        if not self.is_fitted:
            raise InvalidInput("the model is not fitted; call fit() or load() first")
        missing = [c.column for c in self.comparisons if c.column not in table]
        if missing:
            raise InvalidInput(f"the records lack columns the model compares: {missing}")

    def _weights(
        self, table: RecordTable, left: IntArray, levels: npt.NDArray[np.int8]
    ) -> FloatArray:
        total = np.full(len(levels), self.prior_weight)
        for c, (comparison, w) in enumerate(
            zip(self.comparisons, self.level_weights(), strict=True)
        ):
            field_weight = w[levels[:, c]]
            if comparison.tf:
                # Exact agreement on a value of frequency f has Bayes factor m_exact / f:
                # agreeing on a rare surname says more than agreeing on a common one.
                col = table.column(comparison.column)
                exact = levels[:, c] == 1
                freq = col.frequencies[col.codes[left[exact]]]
                field_weight[exact] = np.log2(self.m[c][1] / np.maximum(freq, 1e-12))
            total += field_weight
        return total

    def predict(
        self,
        table: RecordTable,
        *,
        min_probability: float = 0.001,
        new_entities: Iterable[Hashable] | None = None,
    ) -> Predictions:
        """Score the blocked pairs of ``table`` and keep those at ``min_probability`` or more.

        With ``new_entities`` (entity labels), only pairs with at least one side among them
        are blocked and scored: incremental matching of new records against the rest with
        the fitted parameters, without re-running EM.
        """
        self._require_fitted(table)
        only = None
        if new_entities is not None:
            index = {label: i for i, label in enumerate(table.entity_labels)}
            wanted = np.zeros(table.n_entities, dtype=bool)
            wanted[[index[label] for label in new_entities if label in index]] = True
            only = wanted[table.entity]
        cached = self._compared
        if (
            only is None
            and cached is not None
            and cached.table() is table
            and cached.setup == self._setup()
        ):
            left, right, levels = cached.left, cached.right, cached.levels
        else:
            left, right = block(
                table, self.blocking_rules, max_block_size=self.max_block_size, only=only
            )
            levels = comparison_levels(table, self.comparisons, left, right)
        weight = self._weights(table, left, levels)
        keep = _probability(weight) >= min_probability
        left, right, levels, weight = left[keep], right[keep], levels[keep], weight[keep]
        left_entity, right_entity = table.entity[left], table.entity[right]
        if table.has_shared_entities:
            # One pair per pair of entities: the best-scoring pair of their rows.
            lo, hi = np.minimum(left_entity, right_entity), np.maximum(left_entity, right_entity)
            key = lo * np.int64(table.n_entities) + hi
            order = np.lexsort((-weight, key))
            first = order[np.r_[True, key[order][1:] != key[order][:-1]]] if len(order) else order
            left, right, levels, weight = left[first], right[first], levels[first], weight[first]
            left_entity, right_entity = lo[first], hi[first]
        return Predictions(
            left=left,
            right=right,
            left_entity=left_entity,
            right_entity=right_entity,
            weight=weight,
            probability=_probability(weight),
            levels=levels,
            comparisons=tuple(c.column for c in self.comparisons),
        )

    def explain(self, table: RecordTable, left: int, right: int) -> Explanation:
        """The evidence per field for the pair of rows ``left`` and ``right``."""
        self._require_fitted(table)
        pair_left = np.array([left], dtype=np.int64)
        pair_right = np.array([right], dtype=np.int64)
        levels = comparison_levels(table, self.comparisons, pair_left, pair_right)
        evidence = []
        for c, comparison in enumerate(self.comparisons):
            single = np.zeros_like(levels)
            single[0, c] = levels[0, c]
            weight = float(self._weights(table, pair_left, single)[0]) - self.prior_weight
            col = table.column(comparison.column)
            evidence.append(
                Evidence(
                    column=comparison.column,
                    left_value=_shown(col.raw[left]),
                    right_value=_shown(col.raw[right]),
                    level=comparison.levels[int(levels[0, c])],
                    weight=weight,
                )
            )
        total = self.prior_weight + sum(e.weight for e in evidence)
        return Explanation(
            left=left,
            right=right,
            prior_weight=self.prior_weight,
            evidence=evidence,
            weight=total,
            probability=float(_probability(np.array([total]))[0]),
        )

    def cluster(
        self,
        predictions: Predictions,
        n_entities: int,
        *,
        threshold: float = 0.5,
        strong_threshold: float | None = None,
    ) -> IntArray:
        """A cluster label per entity: connected components of pairs at ``threshold`` or more.

        See :func:`cluster_entities` for ``strong_threshold``.
        """
        return cluster_entities(
            predictions.left_entity,
            predictions.right_entity,
            predictions.probability,
            n_entities,
            threshold=threshold,
            strong_threshold=strong_threshold,
        )

    # -- persistence ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description of the fitted model."""
        return {
            "format": FORMAT,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "blocking_rules": [list(rule.keys) for rule in self.blocking_rules],
            "max_block_size": self.max_block_size,
            "m": [m.tolist() for m in self.m],
            "u": [u.tolist() for u in self.u],
            "lambda": self.lam,
            "u_pairs": self.u_pairs,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchModel:
        if data.get("format") != FORMAT:
            raise InvalidInput(f"not a {FORMAT} model: format is {data.get('format')!r}")
        return cls(
            comparisons=[Comparison.from_dict(c) for c in data["comparisons"]],
            blocking_rules=[BlockingRule(tuple(keys)) for keys in data["blocking_rules"]],
            max_block_size=int(data["max_block_size"]),
            m=[np.array(m, dtype=float) for m in data["m"]],
            u=[np.array(u, dtype=float) for u in data["u"]],
            lam=float(data["lambda"]),
            u_pairs=int(data["u_pairs"]),
            seed=int(data["seed"]),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> MatchModel:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _shown(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)

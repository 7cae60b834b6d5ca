"""Probabilistic record linkage of person records (Fellegi–Sunter), in memory.

Build a :class:`RecordTable` from columns, fit a :class:`MatchModel` without labels, score the
blocked pairs, explain a pair field by field and cluster the entities::

    from cxm.identity.matching import MatchModel, RecordTable

    table = RecordTable.from_columns(
        {"given_name": ["Julia", "Юлия", "Piotr"],
         "family_name": ["Kowalska", "Ковальска", "Nowak"],
         "birth_date": ["1990-04-01", "19900401", None]},
        entity=["p1", "p2", "p3"],
    )
    model = MatchModel().fit(table)
    pairs = model.predict(table)                  # scored candidate pairs
    model.explain(table, int(pairs.left[0]), int(pairs.right[0])).evidence
    labels = model.cluster(pairs, table.n_entities, threshold=0.5)
    model.save("model.json")                      # MatchModel.load("model.json") later
    new_pairs = model.predict(table, new_entities=["p3"])   # incremental, no refit

See ``docs/matching.md`` for the model, the levels and measured accuracy.
"""

from __future__ import annotations

from cxm.identity.matching.blocking import (
    DEFAULT_MAX_BLOCK_SIZE,
    BlockingRule,
    block,
    default_rules,
)
from cxm.identity.matching.clustering import (
    cluster_entities,
    connected_components,
    pairs_in_clusters,
)
from cxm.identity.matching.comparisons import LEVELS, Comparison, default_comparisons
from cxm.identity.matching.model import Evidence, Explanation, MatchModel, Predictions
from cxm.identity.matching.records import COLUMN_KINDS, Column, RecordTable
from cxm.identity.matching.text import (
    email_name_tokens,
    fold_text,
    normalize_code,
    normalize_date,
    normalize_digits,
    normalize_email,
    phonetic_key,
)

__all__ = [
    "COLUMN_KINDS",
    "DEFAULT_MAX_BLOCK_SIZE",
    "LEVELS",
    "BlockingRule",
    "Column",
    "Comparison",
    "Evidence",
    "Explanation",
    "MatchModel",
    "Predictions",
    "RecordTable",
    "block",
    "cluster_entities",
    "connected_components",
    "default_comparisons",
    "default_rules",
    "email_name_tokens",
    "fold_text",
    "normalize_code",
    "normalize_date",
    "normalize_digits",
    "normalize_email",
    "pairs_in_clusters",
    "phonetic_key",
]

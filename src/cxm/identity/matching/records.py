"""The columnar table of person records that the matcher compares.

Each column is stored dictionary-encoded: one normalised string per distinct value and an
integer code per row (``-1`` for no value). Normalisation, phonetic keys and term frequencies
are computed once per distinct value, which is what keeps a million records fast: a name
column has far fewer distinct values than rows.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from cxm.errors import InvalidInput
from cxm.identity.matching.text import (
    fold_text,
    normalize_code,
    normalize_date,
    normalize_digits,
    normalize_email,
    phonetic_key,
)

IntArray = npt.NDArray[np.int64]

# The columns the matcher knows and how each is normalised. Others are rejected rather than
# silently ignored, so that a typo in a column name cannot quietly weaken matching.
COLUMN_KINDS: dict[str, str] = {
    "given_name": "name",
    "family_name": "name",
    "birth_date": "date",
    "house_number": "code",
    "street": "text",
    "address_extra": "text",
    "city": "text",
    "postcode": "code",
    "state": "text",
    "phone": "phone",
    "email": "email",
}

_NORMALIZERS: dict[str, Callable[[object], str]] = {
    "name": fold_text,
    "text": fold_text,
    "code": normalize_code,
    "date": normalize_date,
    "phone": normalize_digits,
    "email": normalize_email,
}


def factorize(values: Sequence[object] | npt.NDArray[np.object_]) -> tuple[IntArray, list[object]]:
    """Codes ``0..k-1`` per value in first-seen order, and the ``k`` distinct values."""
    # dict.fromkeys and map run in C: several times faster than a Python loop per row.
    lookup: dict[object, int] = dict.fromkeys(values, 0)
    for code, value in enumerate(lookup):
        lookup[value] = code
    codes = np.fromiter(map(lookup.__getitem__, values), dtype=np.int64, count=len(values))
    return codes, list(lookup)


@dataclass(frozen=True)
class Column:
    """One dictionary-encoded column: ``values[codes[row]]`` is the row's normalised value."""

    name: str
    kind: str
    codes: IntArray
    values: npt.NDArray[np.object_]
    raw: npt.NDArray[np.object_]
    counts: IntArray
    keys: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    key_values: npt.NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, dtype=object))

    @property
    def frequencies(self) -> npt.NDArray[np.float64]:
        """Share of the non-empty rows holding each distinct value (for TF adjustment)."""
        total = max(int(self.counts.sum()), 1)
        return self.counts / total

    def value(self, row: int) -> str:
        code = int(self.codes[row])
        return "" if code < 0 else str(self.values[code])


def _encode(name: str, raw: Sequence[object]) -> Column:
    kind = COLUMN_KINDS[name]
    raw_codes, distinct = factorize(raw)
    normalizer = _NORMALIZERS[kind]
    norm_codes, values = factorize([normalizer(v) for v in distinct])
    # "" (no value) becomes -1 and the rest are renumbered without it.
    if "" in values:
        empty = values.index("")
        norm_codes = np.where(norm_codes == empty, -1, norm_codes - (norm_codes > empty))
        values.pop(empty)
    codes = norm_codes[raw_codes] if len(raw_codes) else raw_codes
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=len(values)).astype(np.int64)
    keys = np.zeros(0, dtype=np.int64)
    key_values: list[object] = []
    if kind == "name":
        keys, key_values = factorize([phonetic_key(v) for v in values])
    return Column(
        name=name,
        kind=kind,
        codes=codes,
        values=np.array(values, dtype=object),
        raw=np.asarray(raw, dtype=object),
        counts=counts,
        keys=keys,
        key_values=np.array(key_values, dtype=object),
    )


@dataclass(frozen=True)
class RecordTable:
    """Person records as columns, with the entity each row belongs to.

    Several rows may share an entity (one customer known under a Cyrillic and a Latin name);
    rows of one entity are never compared with each other, and two entities are scored by
    their best pair of rows.

    >>> table = RecordTable.from_columns(
    ...     {"given_name": ["Anna", "Ania", None], "family_name": ["Nowak", "Nowak", "Kim"]},
    ...     entity=["a", "b", "c"],
    ... )
    >>> table.n_rows, table.n_entities, table.column("given_name").value(0)
    (3, 3, 'anna')
    """

    columns: dict[str, Column]
    entity: IntArray
    entity_labels: list[Hashable]
    n_rows: int

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Sequence[object]],
        *,
        entity: Sequence[Hashable] | None = None,
    ) -> RecordTable:
        """Build a table from equal-length columns; ``entity`` defaults to one per row."""
        unknown = sorted(set(columns) - set(COLUMN_KINDS))
        if unknown:
            raise InvalidInput(
                f"unknown record columns {unknown}; use some of {sorted(COLUMN_KINDS)}"
            )
        lengths = {name: len(values) for name, values in columns.items()}
        n_rows = len(entity) if entity is not None else next(iter(lengths.values()), 0)
        if any(length != n_rows for length in lengths.values()):
            raise InvalidInput(f"columns differ in length: {lengths} (entity: {n_rows})")
        if entity is None:
            entity_codes = np.arange(n_rows, dtype=np.int64)
            labels: list[Hashable] = list(range(n_rows))
        else:
            entity_codes, found = factorize(list(entity))
            labels = [label for label in found if isinstance(label, Hashable)]
        encoded = {name: _encode(name, values) for name, values in columns.items()}
        return cls(columns=encoded, entity=entity_codes, entity_labels=labels, n_rows=n_rows)

    @property
    def n_entities(self) -> int:
        return len(self.entity_labels)

    @property
    def has_shared_entities(self) -> bool:
        """Whether some entity has more than one row."""
        return self.n_entities < self.n_rows

    def column(self, name: str) -> Column:
        try:
            return self.columns[name]
        except KeyError:
            raise InvalidInput(f"the records have no column {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.columns

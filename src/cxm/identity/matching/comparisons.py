"""Comparisons: each field of a pair falls into one of a few ordered agreement levels.

Level 0 is always "null" (one side has no value; weight 0) and the last is "else". A pair
takes the first level whose test it passes, as in Splink's comparison levels. The levels per
kind were chosen by their F1 on the FEBRL data sets; the thresholds are round numbers.

Every test but the name swap depends only on the two values, so the string distances are
computed once per distinct pair of values and gathered back to the pairs of rows: blocked
pairs repeat the same few thousand names and streets over and over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from cxm.identity.matching.records import Column, IntArray, RecordTable, factorize

LevelArray = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

LEVELS: dict[str, tuple[str, ...]] = {
    "name": (
        "null",
        "exact",
        "phonetic",
        "swapped",
        "one_edit",
        "jaro_winkler_0.9",
        "jaro_winkler_0.8",
        "initial",
        "else",
    ),
    "text": ("null", "exact", "jaro_winkler_0.92", "jaro_winkler_0.8", "else"),
    "code": ("null", "exact", "one_edit", "else"),
    "category": ("null", "exact", "else"),
    "date": (
        "null",
        "exact",
        "day_month_swapped",
        "one_edit",
        "one_part_differs",
        "year_within_1",
        "else",
    ),
    "phone": ("null", "exact", "last_7_digits", "one_edit", "else"),
    "email": ("null", "exact", "same_local_part", "local_jaro_winkler_0.88", "else"),
}

# Kinds whose exact level is adjusted by the value's frequency: a rare surname agreeing is
# stronger evidence than "smith" agreeing.
TF_KINDS = frozenset({"name", "text", "code"})

_SWAPPED = LEVELS["name"].index("swapped")
SWAP_SIMILARITY = 0.92

# A test maps distinct value codes ``(a, b)`` (never equal, never missing) to a bool per pair.
Test = Callable[[IntArray, IntArray], BoolArray]


@dataclass(frozen=True)
class Comparison:
    """How one column (``kind`` decides the levels) is compared.

    ``other`` names the column a name may have been swapped with (given ↔ family name).
    """

    column: str
    kind: str
    other: str | None = None
    tf: bool = False

    @property
    def levels(self) -> tuple[str, ...]:
        return LEVELS[self.kind]

    def to_dict(self) -> dict[str, object]:
        return {"column": self.column, "kind": self.kind, "other": self.other, "tf": self.tf}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Comparison:
        other = data.get("other")
        return cls(
            column=str(data["column"]),
            kind=str(data["kind"]),
            other=None if other is None else str(other),
            tf=bool(data.get("tf", False)),
        )

    def compute(self, table: RecordTable, left: IntArray, right: IntArray) -> LevelArray:
        """The level index of each pair ``(left[i], right[i])`` of rows."""
        col = table.column(self.column)
        a, b = col.codes[left], col.codes[right]
        out = np.full(len(a), len(self.levels) - 1, dtype=np.int8)
        out[(a < 0) | (b < 0)] = 0
        out[(a == b) & (a >= 0)] = 1
        rest = np.flatnonzero((a >= 0) & (b >= 0) & (a != b))
        if not len(rest):
            return out
        distinct, inverse = _distinct_pairs(a[rest], b[rest], len(col.values))
        da, db = distinct // len(col.values), distinct % len(col.values)
        out[rest] = _value_levels(_TESTS[self.kind](col), da, db, len(self.levels))[inverse]
        if self.kind == "name" and self.other is not None and self.other in table:
            later = rest[out[rest] > _SWAPPED]
            out[later[_swapped(col, table.column(self.other), left[later], right[later])]] = (
                _SWAPPED
            )
        return out


def _distinct_pairs(a: IntArray, b: IntArray, n_values: int) -> tuple[IntArray, IntArray]:
    """The distinct ``a * n + b`` keys and, per pair, the index of its key."""
    keys = a * np.int64(n_values) + b
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct, inverse.reshape(-1)


def _value_levels(tests: list[Test | None], a: IntArray, b: IntArray, n_levels: int) -> LevelArray:
    """Levels ``2..`` of distinct unequal value pairs; ``None`` tests (swap) are skipped here."""
    out = np.full(len(a), n_levels - 1, dtype=np.int8)
    todo = np.arange(len(a))
    for level, test in enumerate(tests, start=2):
        if test is None:
            continue
        if not len(todo):
            break
        hit = test(a[todo], b[todo])
        out[todo[hit]] = level
        todo = todo[~hit]
    return out


def _strings(values: npt.NDArray[np.object_], codes: IntArray) -> list[str]:
    return values[codes].tolist()


def _jaro_winkler(
    values: npt.NDArray[np.object_], a: IntArray, b: IntArray, other: npt.NDArray[np.object_]
) -> npt.NDArray[np.float32]:
    return process.cpdist(
        _strings(values, a), _strings(other, b), scorer=JaroWinkler.similarity, workers=-1
    )


def _edits(values: npt.NDArray[np.object_], a: IntArray, b: IntArray) -> IntArray:
    return process.cpdist(
        _strings(values, a),
        _strings(values, b),
        scorer=DamerauLevenshtein.distance,
        score_cutoff=2,
        workers=-1,
        dtype=np.int64,
    )


class _JaroWinklerOnce:
    """Jaro–Winkler of value pairs, computed once however many levels ask for it."""

    def __init__(self, values: npt.NDArray[np.object_]) -> None:
        self.values = values
        self.cache: tuple[IntArray, IntArray, npt.NDArray[np.float32]] | None = None

    def __call__(self, a: IntArray, b: IntArray) -> npt.NDArray[np.float32]:
        # Levels ask in order and each asks about a subset of the pairs the one before asked
        # about, so one computation on the first (largest) set serves them all.
        if self.cache is None:
            self.cache = (a, b, _jaro_winkler(self.values, a, b, self.values))
        ca, cb, sims = self.cache
        n = np.int64(len(self.values))
        position = np.searchsorted(ca * n + cb, a * n + b)
        return sims[position]


def _swapped(col: Column, other: Column, left: IntArray, right: IntArray) -> BoolArray:
    """Whether this field agrees closely with the other name field of the other record."""
    found = np.zeros(len(left), dtype=bool)
    mine_codes = (col.codes[left], col.codes[right])
    theirs_codes = (other.codes[right], other.codes[left])
    for mine, theirs in zip(mine_codes, theirs_codes, strict=True):
        present = np.flatnonzero((mine >= 0) & (theirs >= 0))
        if not len(present):
            continue
        distinct, inverse = _distinct_pairs(mine[present], theirs[present], len(other.values))
        da, db = distinct // len(other.values), distinct % len(other.values)
        sims = _jaro_winkler(col.values, da, db, other.values)
        found[present[(sims >= SWAP_SIMILARITY)[inverse]]] = True
    return found


def _name_tests(col: Column) -> list[Test | None]:
    lengths = np.fromiter((len(s) for s in col.values), dtype=np.int64, count=len(col.values))
    first = np.fromiter((s[:1] for s in col.values), dtype="U1", count=len(col.values))
    jw = _JaroWinklerOnce(col.values)
    return [
        lambda a, b: col.keys[a] == col.keys[b],
        None,  # swapped: depends on the other name field, see Comparison.compute
        lambda a, b: _edits(col.values, a, b) <= 1,
        lambda a, b: jw(a, b) >= 0.9,
        lambda a, b: jw(a, b) >= 0.8,
        lambda a, b: ((lengths[a] == 1) | (lengths[b] == 1)) & (first[a] == first[b]),
    ]


def _text_tests(col: Column) -> list[Test | None]:
    jw = _JaroWinklerOnce(col.values)
    return [lambda a, b: jw(a, b) >= 0.92, lambda a, b: jw(a, b) >= 0.8]


def _code_tests(col: Column) -> list[Test | None]:
    return [lambda a, b: _edits(col.values, a, b) <= 1]


def _category_tests(col: Column) -> list[Test | None]:
    return []


def _date_tests(col: Column) -> list[Test | None]:
    as_int = np.array([int(v) for v in col.values], dtype=np.int64)
    year, month, day = as_int // 10_000, as_int // 100 % 100, as_int % 100

    def one_part(a: IntArray, b: IntArray) -> BoolArray:
        same = (year[a] == year[b]).astype(np.int8) + (month[a] == month[b]) + (day[a] == day[b])
        return same >= 2

    return [
        lambda a, b: (year[a] == year[b]) & (month[a] == day[b]) & (day[a] == month[b]),
        lambda a, b: _edits(col.values, a, b) <= 1,
        one_part,
        lambda a, b: (np.abs(year[a] - year[b]) <= 1) & (month[a] == month[b]) & (day[a] == day[b]),
    ]


def _phone_tests(col: Column) -> list[Test | None]:
    last7, _ = factorize([v[-7:] if len(v) >= 7 else None for v in col.values])
    short = np.fromiter((len(v) < 7 for v in col.values), dtype=bool, count=len(col.values))
    return [
        lambda a, b: (last7[a] == last7[b]) & ~short[a] & ~short[b],
        lambda a, b: _edits(col.values, a, b) <= 1,
    ]


def _email_tests(col: Column) -> list[Test | None]:
    local_codes, locals_ = factorize([v.split("@", 1)[0] for v in col.values])
    local = np.array(locals_, dtype=object)

    def local_jw(a: IntArray, b: IntArray) -> BoolArray:
        la, lb = local_codes[a], local_codes[b]
        return _jaro_winkler(local, la, lb, local) >= 0.88

    return [lambda a, b: local_codes[a] == local_codes[b], local_jw]


_TESTS: dict[str, Callable[[Column], list[Test | None]]] = {
    "name": _name_tests,
    "text": _text_tests,
    "code": _code_tests,
    "category": _category_tests,
    "date": _date_tests,
    "phone": _phone_tests,
    "email": _email_tests,
}


def default_comparisons(table: RecordTable) -> list[Comparison]:
    """One comparison per known column the table has, in a fixed order."""
    spec: list[Comparison] = [
        Comparison("given_name", "name", other="family_name", tf=True),
        Comparison("family_name", "name", other="given_name", tf=True),
        Comparison("birth_date", "date"),
        Comparison("house_number", "code"),
        Comparison("street", "text", tf=True),
        Comparison("address_extra", "text"),
        Comparison("city", "text", tf=True),
        Comparison("postcode", "code", tf=True),
        Comparison("state", "category"),
        Comparison("phone", "phone"),
        Comparison("email", "email"),
    ]
    return [c for c in spec if c.column in table]

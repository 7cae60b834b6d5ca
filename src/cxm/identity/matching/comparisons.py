"""Comparisons: each field of a pair falls into one of a few ordered agreement levels.

Level 0 is always "null" (one side has no value; weight 0) and the last is "else". A pair
takes the first level whose test it passes, as in Splink's comparison levels. The levels per
kind were chosen by their F1 on the FEBRL data sets; the thresholds are round numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from cxm.identity.matching.records import Column, IntArray, RecordTable

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
        tests = _TESTS[self.kind](self, table, col, a, b, left, right)
        out = np.full(len(a), len(self.levels) - 1, dtype=np.int8)
        null = (a < 0) | (b < 0)
        out[null] = 0
        todo = np.flatnonzero(~null)
        for level, test in enumerate(tests, start=1):
            if not len(todo):
                break
            hit = test(todo)
            out[todo[hit]] = level
            todo = todo[~hit]
        return out


Test = Callable[[IntArray], BoolArray]


def _strings(col: Column, codes: IntArray) -> list[str]:
    return col.values[codes].tolist()


def _jaro_winkler(col: Column, a: IntArray, b: IntArray) -> npt.NDArray[np.float32]:
    return process.cpdist(
        _strings(col, a), _strings(col, b), scorer=JaroWinkler.similarity, workers=-1
    )


class _LazyJaroWinkler:
    """Jaro–Winkler of pairs, computed once per pair however many levels ask for it."""

    def __init__(self, col: Column, a: IntArray, b: IntArray) -> None:
        self.col, self.a, self.b = col, a, b
        self.sims = np.full(len(a), np.nan, dtype=np.float32)

    def __call__(self, i: IntArray) -> npt.NDArray[np.float32]:
        missing = i[np.isnan(self.sims[i])]
        if len(missing):
            self.sims[missing] = _jaro_winkler(self.col, self.a[missing], self.b[missing])
        return self.sims[i]


def _edits(col: Column, a: IntArray, b: IntArray, cutoff: int = 2) -> IntArray:
    return process.cpdist(
        _strings(col, a),
        _strings(col, b),
        scorer=DamerauLevenshtein.distance,
        score_cutoff=cutoff,
        workers=-1,
        dtype=np.int64,
    )


def _name_tests(
    cmp: Comparison,
    table: RecordTable,
    col: Column,
    a: IntArray,
    b: IntArray,
    left: IntArray,
    right: IntArray,
) -> list[Test]:
    def swapped(i: IntArray) -> BoolArray:
        if cmp.other is None or cmp.other not in table:
            return np.zeros(len(i), dtype=bool)
        # This field agrees (closely) with the other name field of the other record.
        other = table.column(cmp.other)
        oa, ob = other.codes[left[i]], other.codes[right[i]]
        found = np.zeros(len(i), dtype=bool)
        for mine, theirs in ((a[i], ob), (b[i], oa)):
            present = np.flatnonzero(theirs >= 0)
            sims = process.cpdist(
                col.values[mine[present]].tolist(),
                other.values[theirs[present]].tolist(),
                scorer=JaroWinkler.similarity,
                workers=-1,
            )
            found[present[sims >= 0.92]] = True
        return found

    def initial(i: IntArray) -> BoolArray:
        sa, sb = col.values[a[i]], col.values[b[i]]
        lengths_a = np.fromiter((len(s) for s in sa), dtype=np.int64, count=len(sa))
        lengths_b = np.fromiter((len(s) for s in sb), dtype=np.int64, count=len(sb))
        first_a = np.fromiter((s[0] for s in sa), dtype="U1", count=len(sa))
        first_b = np.fromiter((s[0] for s in sb), dtype="U1", count=len(sb))
        return ((lengths_a == 1) | (lengths_b == 1)) & (first_a == first_b)

    jw = _LazyJaroWinkler(col, a, b)
    return [
        lambda i: a[i] == b[i],
        lambda i: col.keys[a[i]] == col.keys[b[i]],
        swapped,
        lambda i: _edits(col, a[i], b[i], 1) <= 1,
        lambda i: jw(i) >= 0.9,
        lambda i: jw(i) >= 0.8,
        initial,
    ]


def _text_tests(cmp: Comparison, table: RecordTable, col: Column, a: IntArray, b: IntArray,
                left: IntArray, right: IntArray) -> list[Test]:  # fmt: skip
    jw = _LazyJaroWinkler(col, a, b)
    return [lambda i: a[i] == b[i], lambda i: jw(i) >= 0.92, lambda i: jw(i) >= 0.8]


def _code_tests(cmp: Comparison, table: RecordTable, col: Column, a: IntArray, b: IntArray,
                left: IntArray, right: IntArray) -> list[Test]:  # fmt: skip
    return [lambda i: a[i] == b[i], lambda i: _edits(col, a[i], b[i], 1) <= 1]


def _category_tests(cmp: Comparison, table: RecordTable, col: Column, a: IntArray,
                    b: IntArray, left: IntArray, right: IntArray) -> list[Test]:  # fmt: skip
    return [lambda i: a[i] == b[i]]


def _date_parts(col: Column) -> tuple[IntArray, IntArray, IntArray]:
    as_int = np.array([int(v) for v in col.values], dtype=np.int64)
    return as_int // 10_000, as_int // 100 % 100, as_int % 100


def _date_tests(cmp: Comparison, table: RecordTable, col: Column, a: IntArray, b: IntArray,
                left: IntArray, right: IntArray) -> list[Test]:  # fmt: skip
    year, month, day = _date_parts(col)

    def one_part(i: IntArray) -> BoolArray:
        ca, cb = a[i], b[i]
        same = (
            (year[ca] == year[cb]).astype(np.int8) + (month[ca] == month[cb]) + (day[ca] == day[cb])
        )
        return same >= 2

    return [
        lambda i: a[i] == b[i],
        lambda i: (
            (year[a[i]] == year[b[i]]) & (month[a[i]] == day[b[i]]) & (day[a[i]] == month[b[i]])
        ),
        lambda i: _edits(col, a[i], b[i], 1) <= 1,
        one_part,
        lambda i: (
            (np.abs(year[a[i]] - year[b[i]]) <= 1)
            & (month[a[i]] == month[b[i]])
            & (day[a[i]] == day[b[i]])
        ),
    ]


def _phone_tests(cmp: Comparison, table: RecordTable, col: Column, a: IntArray, b: IntArray,
                 left: IntArray, right: IntArray) -> list[Test]:  # fmt: skip
    def last7(i: IntArray) -> BoolArray:
        sa, sb = col.values[a[i]], col.values[b[i]]
        return np.array(
            [x[-7:] == y[-7:] and len(x) >= 7 for x, y in zip(sa, sb, strict=True)], dtype=bool
        )

    return [lambda i: a[i] == b[i], last7, lambda i: _edits(col, a[i], b[i], 1) <= 1]


def _email_tests(cmp: Comparison, table: RecordTable, col: Column, a: IntArray, b: IntArray,
                 left: IntArray, right: IntArray) -> list[Test]:  # fmt: skip
    local = np.array([v.split("@", 1)[0] for v in col.values], dtype=object)

    def local_jw(i: IntArray) -> BoolArray:
        sims = process.cpdist(
            local[a[i]].tolist(), local[b[i]].tolist(), scorer=JaroWinkler.similarity, workers=-1
        )
        return sims >= 0.88

    return [lambda i: a[i] == b[i], lambda i: local[a[i]] == local[b[i]], local_jw]


_TESTS: dict[
    str,
    Callable[[Comparison, RecordTable, Column, IntArray, IntArray, IntArray, IntArray], list[Test]],
] = {
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

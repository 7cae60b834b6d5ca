"""Blocking: which pairs of records are compared at all.

A rule is a tuple of keys such as ``("family_name:phonetic", "birth_date:year")``; two rows
form a candidate pair when they agree on every key of at least one rule (an OR of rules, pairs
deduplicated across rules, as in Splink). Pairs are generated with numpy by sorting rows on
their key code and pairing rows inside each run of equal codes.

Block size cap: a block (rows sharing one key value) larger than ``max_block_size`` rows is
skipped for that rule, because it would produce ``size * (size - 1) / 2`` pairs that say
nothing useful ("same city" over 10,000 rows). Such pairs can still come from another rule.
With the default of 250 one block yields at most 31,125 pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cxm.errors import InvalidInput
from cxm.identity.matching.records import IntArray, RecordTable, factorize

DEFAULT_MAX_BLOCK_SIZE = 250

# Each rule may spend this many comparisons per record (and at least MIN_PAIRS_PER_RULE):
# over budget, its largest blocks, the least telling key values, are dropped first. Small
# tables keep every block; a million records cannot make a broad rule quadratic.
PAIRS_PER_RECORD = 0.2
MIN_PAIRS_PER_RULE = 50_000
# A rule whose blocks would give more than this many times its budget is skipped altogether:
# the budget would keep only its rarest key values, whose pairs are mostly coincidences (two
# strangers born on a rare day), so comparing them costs time and finds few duplicates.
BROAD_RULE_FACTOR = 30


def pair_budget(n_rows: int) -> int:
    """The most pairs one blocking rule may produce over ``n_rows`` records."""
    return max(MIN_PAIRS_PER_RULE, int(PAIRS_PER_RECORD * n_rows))


# Which rules produced a pair is kept as one bit per rule in an int64.
MAX_RULES = 62

TRANSFORMS = ("exact", "phonetic", "initial", "year", "last7")


@dataclass(frozen=True)
class BlockingRule:
    """Rows agreeing on all ``keys`` are compared. A key is ``column`` or ``column:transform``.

    Transforms: ``exact`` (the normalised value), ``phonetic`` (the phonetic key of a name),
    ``initial`` (first letter), ``year`` (first four characters of a date), ``last7`` (last
    seven digits of a phone number).
    """

    keys: tuple[str, ...]

    def columns(self) -> list[str]:
        return [c for key in self.keys for c in key.split(":", 1)[0].split("|")]

    def __str__(self) -> str:
        return " & ".join(self.keys)


def _per_value(table: RecordTable, column_name: str, transform: str) -> list[str]:
    col = table.column(column_name)
    if transform == "exact":
        return col.values.tolist()
    if transform == "phonetic":
        if col.kind == "name":
            return col.key_values[col.keys].tolist()
        return col.values.tolist()
    cut = {"initial": slice(0, 1), "year": slice(0, 4), "last7": slice(-7, None)}[transform]
    return [v[cut] for v in col.values]


def key_codes(table: RecordTable, key: str) -> IntArray:
    """Per row, an integer standing for the row's key value, or ``-1`` when it has none.

    ``a|b:transform`` is the unordered pair of two columns' keys, so that rows whose given
    and family names were swapped share it.
    """
    columns, _, transform = key.partition(":")
    transform = transform or "exact"
    if transform not in TRANSFORMS:
        raise InvalidInput(f"unknown blocking transform {transform!r} in {key!r}; use {TRANSFORMS}")
    names = columns.split("|")
    if len(names) == 1 and transform == "exact":
        return table.column(names[0]).codes
    if len(names) == 1 and transform == "phonetic" and table.column(names[0]).kind == "name":
        col = table.column(names[0])
        return np.append(col.keys, -1)[col.codes]
    values = [_per_value(table, name, transform) for name in names]
    # One code space across the columns, so that "anna" means the same in both.
    shared, _ = factorize([v for per_column in values for v in per_column])
    per_row = []
    start = 0
    for name, per_column in zip(names, values, strict=True):
        per_value = np.append(shared[start : start + len(per_column)], -1)
        start += len(per_column)
        per_row.append(per_value[table.column(name).codes])
    if len(per_row) == 1:
        return per_row[0]
    low, high = np.minimum(per_row[0], per_row[1]), np.maximum(per_row[0], per_row[1])
    missing = low < 0
    return np.where(missing, -1, low * np.int64(len(shared) + 1) + high)


# Combined key codes stay below this before they are renumbered densely, so that the product
# of several keys' ranges cannot overflow int64.
_MAX_COMBINED = np.int64(2**40)


def rule_codes(
    table: RecordTable, rule: BlockingRule, cache: dict[str, IntArray] | None = None
) -> IntArray:
    """One code per row for the whole rule; ``-1`` when any key is missing.

    ``cache`` keeps key codes between rules that share a key.
    """
    cache = {} if cache is None else cache
    combined = np.zeros(table.n_rows, dtype=np.int64)
    missing = np.zeros(table.n_rows, dtype=bool)
    bound = np.int64(1)
    for key in rule.keys:
        if key not in cache:
            cache[key] = key_codes(table, key)
        codes = cache[key]
        missing |= codes < 0
        size = np.int64(codes.max(initial=0)) + 1
        if bound * size >= _MAX_COMBINED:
            combined = np.unique(combined, return_inverse=True)[1].reshape(-1).astype(np.int64)
            bound = np.int64(combined.max(initial=0)) + 1
        combined = combined * size + np.maximum(codes, 0)
        bound = bound * size
    return np.where(missing, -1, combined)


def pairs_within_groups(
    codes: IntArray,
    *,
    max_group_size: int | None = None,
    max_pairs: int | None = None,
    only: npt.NDArray[np.bool_] | None = None,
) -> tuple[IntArray, IntArray]:
    """All pairs ``(i, j)``, ``i < j``, of rows with equal non-negative codes.

    Groups larger than ``max_group_size`` give no pairs, and with ``max_pairs`` the largest
    groups are dropped until the rest give at most that many; when all groups together give
    over ``BROAD_RULE_FACTOR`` times ``max_pairs``, none do. With ``only``, just pairs where at
    least one side is marked.
    """
    rows = np.flatnonzero(codes >= 0)
    order = rows[np.argsort(codes[rows], kind="stable")]
    sorted_codes = codes[order]
    if not len(order):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    group_of = np.repeat(np.arange(len(starts)), sizes)
    keep_group = sizes >= 2
    if max_group_size is not None:
        keep_group &= sizes <= max_group_size
    if only is not None:
        marked = np.bincount(group_of, weights=only[order], minlength=len(starts)) > 0
        keep_group &= marked
    if max_pairs is not None:
        pairs = np.where(keep_group, sizes * (sizes - 1) // 2, 0)
        if int(pairs.sum()) > BROAD_RULE_FACTOR * max_pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        by_size = np.argsort(sizes, kind="stable")
        within = np.cumsum(pairs[by_size]) <= max_pairs
        keep_group[by_size[~within]] = False
    position = np.flatnonzero(keep_group[group_of])
    end = (starts + sizes)[group_of[position]]
    lefts: list[IntArray] = []
    rights: list[IntArray] = []
    offset = 1
    # Pair each position with the one `offset` further on while still inside its group; the
    # candidates shrink every round, so the loop costs about the number of pairs it makes.
    while len(position):
        inside = position + offset < end
        position, end = position[inside], end[inside]
        if not len(position):
            break
        lefts.append(order[position])
        rights.append(order[position + offset])
        offset += 1
    if not lefts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    if only is not None:
        keep = only[lo] | only[hi]
        lo, hi = lo[keep], hi[keep]
    return lo, hi


def block(
    table: RecordTable,
    rules: Sequence[BlockingRule],
    *,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    only: npt.NDArray[np.bool_] | None = None,
) -> tuple[IntArray, IntArray]:
    """Distinct candidate row pairs ``(left, right)``, ``left < right``, from all rules.

    Pairs of rows of one entity are dropped. ``only`` restricts to pairs touching marked rows.
    """
    left, right, _ = block_by_rule(table, rules, max_block_size=max_block_size, only=only)
    return left, right


def block_by_rule(
    table: RecordTable,
    rules: Sequence[BlockingRule],
    *,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    only: npt.NDArray[np.bool_] | None = None,
) -> tuple[IntArray, IntArray, list[tuple[BlockingRule, npt.NDArray[np.bool_]]]]:
    """Like :func:`block`, also marking which pairs each (applicable) rule produced."""
    applicable = [r for r in rules if all(column in table for column in r.columns())]
    if len(applicable) > MAX_RULES:
        raise InvalidInput(f"{len(applicable)} blocking rules apply; at most {MAX_RULES} can")
    n = np.int64(max(table.n_rows, 1))
    cache: dict[str, IntArray] = {}
    keys: list[IntArray] = []
    for rule in applicable:
        left, right = pairs_within_groups(
            rule_codes(table, rule, cache),
            max_group_size=max_block_size,
            max_pairs=pair_budget(table.n_rows),
            only=only,
        )
        # Within one rule every pair is already distinct: each lies in exactly one block.
        keys.append(left * n + right)
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, []
    every = np.concatenate(keys)
    rule_of = np.repeat(np.arange(len(keys)), [len(k) for k in keys])
    order = np.argsort(every, kind="stable")
    every, rule_of = every[order], rule_of[order]
    first = np.flatnonzero(np.r_[True, every[1:] != every[:-1]]) if len(every) else order[:0]
    unique = every[first]
    # Which rules produced each distinct pair, as one bit per rule.
    bits = (
        np.bitwise_or.reduceat(np.left_shift(np.int64(1), rule_of), first)
        if len(first)
        else (first)
    )
    left, right = unique // n, unique % n
    different = table.entity[left] != table.entity[right]
    left, right, bits = left[different], right[different], bits[different]
    produced = [(rule, (bits >> np.int64(i)) & 1 == 1) for i, rule in enumerate(applicable)]
    return left, right, produced


def default_rules(table: RecordTable) -> list[BlockingRule]:
    """Rules over the columns the table has: each catches duplicates the others may miss.

    Every rule pairs a name key with a second field, or two non-name fields, so that no rule
    grows with the square of the table: at a million records each gives well under a million
    pairs, and together they still find the duplicates with two or three corrupted fields.
    """
    candidates = [
        BlockingRule(("family_name:phonetic", "birth_date")),
        BlockingRule(("given_name:phonetic", "birth_date")),
        BlockingRule(("family_name:initial", "birth_date")),
        BlockingRule(("given_name|family_name:phonetic", "birth_date:year")),
        BlockingRule(("given_name|family_name:phonetic", "postcode")),
        BlockingRule(("given_name|family_name:phonetic", "city")),
        BlockingRule(("birth_date", "postcode")),
        BlockingRule(("birth_date", "street")),
        BlockingRule(("birth_date", "house_number", "city")),
        BlockingRule(("given_name:phonetic", "postcode", "house_number")),
        BlockingRule(("given_name:phonetic", "street", "house_number")),
        # Broad rules for heavily corrupted duplicates; on large tables the pair budget
        # keeps only their smaller blocks.
        BlockingRule(("family_name:phonetic", "birth_date:year")),
        BlockingRule(("given_name|family_name:phonetic",)),
        BlockingRule(("birth_date", "city")),
        BlockingRule(("postcode", "house_number")),
        BlockingRule(("street", "house_number")),
        BlockingRule(("city", "family_name:phonetic")),
        # One field alone, for duplicates whose names are both mistyped, swapped or missing
        # and whose other keys differ too. Tables of thousands compare all such pairs; on
        # large tables these rules are far over budget and skipped.
        BlockingRule(("postcode",)),
        BlockingRule(("birth_date",)),
        BlockingRule(("street",)),
        BlockingRule(("address_extra",)),
        BlockingRule(("phone",)),
        BlockingRule(("phone:last7",)),
        BlockingRule(("email",)),
    ]
    return [rule for rule in candidates if all(c in table for c in rule.columns())]

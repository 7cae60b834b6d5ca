"""Segment definitions: every problem listed with its place, and membership as pure logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxm.segments import SegmentDefinitionInvalid, parse_segment_yaml, segment_from_data
from cxm.segments.models import Condition, same_value

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_conditions_equal_one_of_and_exists() -> None:
    segment = segment_from_data(
        {
            "name": "krakow-fibre",
            "description": "Fibre in Kraków",
            "traits": {
                "plan": "fibre",
                "city": {"one_of": ["Kraków", "Krakow"]},
                "email": {"exists": True},
                "churned": {"exists": False},
                "vip": {"equals": True},
            },
        }
    )
    member = {"plan": "fibre", "city": "Krakow", "email": "a@b.pl", "vip": True}
    assert segment.includes(member, last_seen=None, now=NOW)
    for change in (
        {"plan": "Fibre"},  # strings are compared exactly
        {"city": "Gdańsk"},
        {"vip": 1},  # true is not 1
        {"churned": False},  # known, even if false
    ):
        assert not segment.includes(member | change, last_seen=None, now=NOW), change
    assert not segment.includes(
        {k: v for k, v in member.items() if k != "email"}, last_seen=None, now=NOW
    )
    assert segment.trait_keys == ("plan", "city", "email", "churned", "vip")
    assert segment_from_data(segment.to_dict()) == segment


def test_active_days_needs_a_recent_last_seen() -> None:
    segment = parse_segment_yaml("name: active\nactive_days: 30\n")
    assert segment.conditions == ()
    assert segment.includes({}, last_seen=NOW - timedelta(days=29), now=NOW)
    assert not segment.includes({}, last_seen=NOW - timedelta(days=31), now=NOW)
    assert not segment.includes({}, last_seen=None, now=NOW)


@pytest.mark.parametrize(
    ("data", "loc", "words"),
    [
        ({"name": "x", "traits": {"plan": ["a"]}}, ("traits", "plan"), "one_of"),
        ({"name": "x", "traits": {"plan": None}}, ("traits", "plan"), "exists: false"),
        ({"name": "x", "traits": {"plan": {"equals": None}}}, ("traits", "plan", "equals"), "null"),
        ({"name": "x", "traits": {"plan": {"like": "f%"}}}, ("traits", "plan"), "a condition is"),
        (
            {"name": "x", "traits": {"a": {"one_of": [{"b": 1}]}}},
            ("traits", "a", "one_of"),
            "plain",
        ),
        ({"name": "x", "traits": {"a": {"exists": 1}}}, ("traits", "a", "exists"), "true or false"),
        ({"name": "x", "traits": {"": 1}}, ("traits", ""), "trait key"),
        ({"name": "x", "traits": "plan=fibre"}, ("traits",), "object"),
        ({"name": "x", "active_days": True}, ("active_days",), "whole number"),
        ({"name": "x", "active_days": 4000}, ("active_days",), "whole number"),
        ({"name": "x"}, ("traits",), "every customer"),
        ({"name": "X Y", "active_days": 3}, ("name",), "not a segment name"),
        ({"name": "x", "active_days": 3, "where": 1}, ("where",), "unknown field"),
    ],
)
def test_each_problem_names_its_place(
    data: dict[str, Any], loc: tuple[Any, ...], words: str
) -> None:
    with pytest.raises(SegmentDefinitionInvalid) as caught:
        segment_from_data(data)
    assert [e.loc for e in caught.value.errors] == [loc]
    assert words in caught.value.errors[0].message
    assert caught.value.errors[0].message.startswith(".".join(map(str, loc)))


def test_all_problems_at_once_and_unreadable_input() -> None:
    with pytest.raises(SegmentDefinitionInvalid) as caught:
        segment_from_data(
            {"name": 5, "traits": {"a": [1], "b": {"exists": "no"}}, "active_days": 0}
        )
    assert len(caught.value.errors) == 4 and "(and 3 more problems)" in caught.value.message
    with pytest.raises(SegmentDefinitionInvalid, match="not list"):
        segment_from_data([])
    with pytest.raises(SegmentDefinitionInvalid, match="not valid YAML"):
        parse_segment_yaml("traits: [")


json_scalars = st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False), st.text())


@given(json_scalars, json_scalars)
def test_same_value_is_symmetric_and_keeps_booleans_apart(a: Any, b: Any) -> None:
    assert same_value(a, b) == same_value(b, a)
    assert same_value(a, a)
    if isinstance(a, bool) != isinstance(b, bool):
        assert not same_value(a, b)


@given(st.dictionaries(st.sampled_from(["plan", "city", "email"]), json_scalars))
def test_exists_true_and_false_split_everyone(traits: dict[str, Any]) -> None:
    known = Condition(trait="email", op="exists", value=True)
    unknown = Condition(trait="email", op="exists", value=False)
    assert known.holds(traits) != unknown.holds(traits)

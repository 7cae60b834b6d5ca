"""The pure parts of survey triggers: the customer's language, the case reference, and when a
trigger came into force; and the definition rules for triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxm.surveys import SurveyDefinitionInvalid, choose_language, survey_from_data
from cxm.surveys.targeting import case_ref_of, trigger_since

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("languages", "preferences", "chosen"),
    [
        (["en", "pl"], ["pl"], "pl"),
        (["en", "pl"], ["PL-pl"], "pl"),
        (["en", "pl"], ["pl_PL"], "pl"),
        (["en", "pt-BR"], ["pt"], "pt-BR"),
        (["en", "pt-BR"], ["pt-BR"], "pt-BR"),
        (["pl", "en"], ["ru-RU"], "pl"),  # not in the survey: its first language
        (["pl", "en"], [None, 5, "", "en"], "en"),  # unusable values are passed over
        (["pl", "en"], ["de", "en", "pl"], "en"),  # the first preference the survey has
        (["pl", "en"], [], "pl"),
    ],
)
def test_the_customers_language_when_the_survey_has_it(
    languages: list[str], preferences: list[Any], chosen: str
) -> None:
    assert choose_language(languages, preferences) == chosen


@given(
    st.lists(st.sampled_from(["en", "pl", "ru", "pt-BR"]), min_size=1, unique=True),
    st.lists(st.one_of(st.none(), st.text(max_size=8))),
)
def test_the_language_is_always_one_of_the_surveys(languages: list[str], prefs: list[Any]) -> None:
    assert choose_language(languages, prefs) in languages


def test_case_reference_from_the_event() -> None:
    assert case_ref_of({"properties": {"case_ref": " C-17 "}}) == "C-17"
    assert case_ref_of({"properties": {"case_ref": 4711}}) == "4711"
    for payload in (
        {},
        {"properties": None},
        {"properties": {"case": "C-1"}},
        {"properties": {"case_ref": True}},
        {"properties": {"case_ref": ""}},
        {"properties": {"case_ref": "x" * 201}},
        {"properties": {"case_ref": {"id": 1}}},
    ):
        assert case_ref_of(payload) is None, payload


def test_a_trigger_is_in_force_from_the_version_that_set_it() -> None:
    repair, other = {"after_touchpoint": "repair"}, {"after_touchpoint": "case-resolved"}
    versions = [  # newest first
        ({"trigger": repair, "name": "reworded"}, T0 + timedelta(days=3)),
        ({"trigger": repair}, T0 + timedelta(days=2)),
        ({"trigger": other}, T0 + timedelta(days=1)),
        ({"trigger": repair}, T0),
    ]
    assert trigger_since(versions) == T0 + timedelta(days=2)
    assert trigger_since(versions[2:]) == T0 + timedelta(days=1)
    assert trigger_since(versions[3:]) == T0


def test_definitions_hold_triggers_to_what_exists() -> None:
    base = {"id": "s", "kind": "csat", "languages": ["en"]}
    assert (
        survey_from_data(base | {"trigger": {"segment": "vip"}}, segments=["vip"]).trigger.value
        == "vip"
    )
    with pytest.raises(SurveyDefinitionInvalid) as caught:
        survey_from_data(base | {"trigger": {"segment": "vip"}}, segments=[])
    assert caught.value.errors[0].loc == ("trigger", "segment")
    assert "no segment 'vip' (none exist)" in caught.value.message
    for trigger in ({"segment": "vip"}, {"after_touchpoint": "repair"}):
        with pytest.raises(SurveyDefinitionInvalid) as caught:
            survey_from_data(
                base | {"audience": "employee", "trigger": trigger},
                touchpoints=["repair"],
                segments=["vip"],
            )
        assert [e.loc for e in caught.value.errors] == [("trigger",)]
        assert "employee survey is sent to departments by hand" in caught.value.message

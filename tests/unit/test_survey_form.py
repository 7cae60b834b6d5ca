"""The survey builder's form logic: posted fields to a definition and back, error places, and
the invitation lists, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from cxm.surveys import survey_from_data
from cxm.web.survey_form import (
    compacted,
    definition_data,
    field_for,
    form_from_definition,
    form_from_post,
    padded,
)
from cxm.web.surveys import department_refs, invitation_refs

FULL: dict[str, Any] = {
    "id": "csat-shop",
    "name": "Shop visit",
    "kind": "csat",
    "audience": "customer",
    "languages": ["pl", "en", "ru"],
    "question": {"pl": "Jak oceniasz wizytę?", "en": "How was your visit?", "ru": "Как визит?"},
    "questions": [
        {"id": "effort", "type": "scale", "min": 1, "max": 7, "required": True,
         "text": {"pl": "Wysiłek", "en": "Effort", "ru": "Усилие"}},
        {"id": "topics", "type": "choice", "multiple": True,
         "text": {"pl": "Tematy", "en": "Topics", "ru": "Темы"},
         "options": [{"id": "price", "label": {"pl": "Cena", "en": "Price", "ru": "Цена"}},
                     {"id": "staff", "label": {"pl": "Obsługa", "en": "Staff", "ru": "Персонал"}}]},
        {"id": "reason", "type": "text", "text": {"pl": "Czemu?", "en": "Why?", "ru": "Почему?"}},
    ],
    "trigger": {"segment": "shop-visitors"},
    "expires_days": 10,
    "reminder_days": 4,
    "anonymous": True,
}  # fmt: skip


def posted(form: Any) -> list[tuple[str, str]]:
    """The fields a browser posts for ``form`` as the builder renders it (blank rows included)."""
    fields = [
        ("id", form.id), ("name", form.name), ("kind", form.kind), ("audience", form.audience),
        ("trigger", form.trigger), ("trigger_touchpoint", form.touchpoint),
        ("trigger_segment", form.segment), ("expires_days", form.expires_days),
        ("reminder_days", form.reminder_days),
    ]  # fmt: skip
    fields += [("languages", code) for code in form.languages]
    fields += [(f"headline-{code}", text) for code, text in form.headline.items()]
    if form.anonymous:
        fields.append(("anonymous", "1"))
    for i, q in enumerate(form.questions):
        fields += [(f"q-{i}-id", q.id), (f"q-{i}-type", q.type), (f"q-{i}-min", q.min)]
        fields += [(f"q-{i}-max", q.max)]
        fields += [(f"q-{i}-text-{code}", text) for code, text in q.texts.items()]
        fields += [(f"q-{i}-required", "1")] if q.required else []
        fields += [(f"q-{i}-multiple", "1")] if q.multiple else []
        for j, o in enumerate(q.options):
            fields += [(f"q-{i}-opt-{j}-id", o.id)]
            fields += [(f"q-{i}-opt-{j}-{code}", label) for code, label in o.labels.items()]
    return fields


def test_a_survey_edited_in_the_form_saves_as_it_was() -> None:
    definition = survey_from_data(FULL)
    form = padded(form_from_definition(definition), blank_questions=2)
    again = definition_data(compacted(form_from_post(posted(form))))
    assert survey_from_data(again) == definition


def test_the_standard_headline_is_left_to_cxm() -> None:
    definition = survey_from_data({"id": "n", "kind": "nps", "languages": ["en", "pl"]})
    form = form_from_definition(definition)
    assert form.headline == {} and "question" not in definition_data(form)


def test_what_is_typed_reaches_the_checker_as_typed() -> None:
    fields = [("id", "x"), ("kind", "custom"), ("expires_days", "soon"), ("q-0-id", "a")]
    fields += [("q-0-type", "scale"), ("q-0-min", "1.5"), ("headline-en", "Hidden for custom")]
    data = definition_data(compacted(form_from_post(fields)))
    assert data["expires_days"] == "soon" and data["questions"][0]["min"] == "1.5"
    assert "question" not in data and data["languages"] == []


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("id",), "id"),
        (("languages", 2), "languages"),
        (("question", "ru"), "headline-ru"),
        (("questions",), "questions"),
        (("questions", 0), "q-0"),
        (("questions", 1, "text", "pl"), "q-1-text-pl"),
        (("questions", 1, "min"), "q-1-min"),
        (("questions", 2, "options"), "q-2-options"),
        (("questions", 2, "options", 1, "id"), "q-2-opt-1-id"),
        (("questions", 2, "options", 0, "label", "en"), "q-2-opt-0-en"),
        (("trigger", "after_touchpoint"), "trigger"),
        (("unknown_key",), None),
        ((), None),
    ],
)
def test_each_problem_has_its_field(loc: tuple[str | int, ...], field: str | None) -> None:
    assert field_for(loc) == field


def test_invitation_lists() -> None:
    assert invitation_refs("a@x.pl\n a@x.pl ,b\n\n;c") == ["a@x.pl", "b", "c"]
    assert department_refs("billing: 2\nhr\n") == (["billing", "billing", "hr"], None)
    assert department_refs("hr: 0") == ([], "hr: 0")
    assert department_refs("hr: 2000") == ([], "hr: 2000")

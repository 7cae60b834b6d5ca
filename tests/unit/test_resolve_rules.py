"""Rules of the probabilistic pass that sit above the model's probability."""

from __future__ import annotations

from cxm.identity.resolve import _contradictions, _name_variants


def evidence(given: str, born: str) -> list[dict[str, object]]:
    return [
        {"field": "given_name", "left": "Elżbieta", "right": "Dorota", "level": given},
        {"field": "family_name", "left": "Wilk", "right": "Wilk", "level": "exact"},
        {"field": "birth_date", "left": "1947-07-12", "right": "1978-03-14", "level": born},
        {"field": "street", "left": "Lipowa 7", "right": "Lipowa 7", "level": "exact"},
    ]


def test_a_family_is_never_merged_automatically() -> None:
    assert _contradictions(evidence("else", "exact")) == [
        "their given names differ (Elżbieta / Dorota)"
    ]
    assert _contradictions(evidence("else", "else")) == [
        "their given names differ (Elżbieta / Dorota)",
        "their birth dates differ (1947-07-12 / 1978-03-14)",
    ]
    # Typos and transliterations are evidence to weigh, not a veto.
    assert _contradictions(evidence("phonetic", "day_month_swapped")) == []
    assert _contradictions(evidence("null", "null")) == []


def test_name_variants_split_full_names_and_keep_each_once() -> None:
    seen = {
        1: {"name": "Юлия Смирнова"},
        2: {"name": "Yulia Smirnova", "firstName": "Yulia", "lastName": "Smirnova"},
        3: {"name": "Yulia Smirnova"},
        4: {"name": "Cher"},
    }
    assert _name_variants(seen) == [
        ("Юлия", "Смирнова"),
        ("Yulia", "Smirnova"),
        ("Cher", None),
    ]

"""Rules of the probabilistic pass that sit above the model's probability."""

from __future__ import annotations

from cxm.identity.resolve import _name_variants, _vetoed_by


def evidence(given: str, born: str) -> list[dict[str, object]]:
    return [
        {"field": "given_name", "left": "Elżbieta", "right": "Dorota", "level": given},
        {"field": "family_name", "left": "Wilk", "right": "Wilk", "level": "exact"},
        {"field": "birth_date", "left": "1947-07-12", "right": "1978-03-14", "level": born},
        {"field": "street", "left": "Lipowa 7", "right": "Lipowa 7", "level": "exact"},
    ]


def test_a_family_is_never_merged_automatically() -> None:
    assert _vetoed_by(evidence("else", "exact")) == "their given names differ (Elżbieta / Dorota)"
    assert "birth dates differ" in str(_vetoed_by(evidence("exact", "else")))
    # Typos and transliterations are evidence to weigh, not a veto.
    assert _vetoed_by(evidence("phonetic", "day_month_swapped")) is None
    assert _vetoed_by(evidence("null", "null")) is None


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

"""Web UI translations: catalogues agree with each other and with the templates."""

from __future__ import annotations

import re
import string

import pytest

from cxm.config import CHANNELS
from cxm.web.i18n import (
    PLURAL_CATEGORIES,
    SUPPORTED,
    catalogue,
    pick_language,
    plural_category,
    translator,
)
from cxm.web.rendering import TEMPLATES_DIR

# t("key") or t('key', ...) with a literal key; keys built at run time ("nav." ~ key) are
# checked by the tests that know their parts (nav items, channels).
T_CALL = re.compile(r"""\bt\(\s*(["'])([^"']+)\1\s*[,)]""")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def template_keys() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(TEMPLATES_DIR.glob("*.html")):
        for match in T_CALL.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(2), set()).add(path.name)
    return found


def test_catalogues_have_the_same_keys() -> None:
    en, pl = set(catalogue("en")), set(catalogue("pl"))
    assert sorted(en - pl) == [], "keys missing from pl.json"
    assert sorted(pl - en) == [], "keys missing from en.json"


def test_templates_use_only_known_keys() -> None:
    used = template_keys()
    assert len(used) > 50, "the scan found too few keys; is the regex still right?"
    for lang in SUPPORTED:
        missing = {key: files for key, files in used.items() if key not in catalogue(lang)}
        assert missing == {}, f"keys used in templates but missing from {lang}.json"


@pytest.mark.parametrize("key", sorted(catalogue("en")))
def test_entries_have_the_same_placeholders_and_plural_forms(key: str) -> None:
    en, pl = catalogue("en")[key], catalogue("pl")[key]
    assert type(en) is type(pl), key
    if isinstance(en, dict) and isinstance(pl, dict):
        assert set(en) == set(PLURAL_CATEGORIES["en"])
        assert set(pl) == set(PLURAL_CATEGORIES["pl"])
        forms = [*en.values(), *pl.values()]
        assert all(placeholders(form) == placeholders(forms[0]) for form in forms), key
    else:
        assert isinstance(en, str) and isinstance(pl, str)
        assert placeholders(en) == placeholders(pl), key


def test_polish_is_written_with_diacritics() -> None:
    text = " ".join(str(v) for v in catalogue("pl").values())
    assert set("ąćęłńóśźż") <= set(text)


@pytest.mark.parametrize("lang", SUPPORTED)
def test_every_channel_has_a_label(lang: str) -> None:
    for channel in CHANNELS:
        assert f"channel.{channel}" in catalogue(lang)
    t = translator(lang)
    assert t("channel.field_service") in ("Field service", "Serwis terenowy")


def test_translator_interpolates_and_falls_back() -> None:
    t = translator("pl")
    assert t("nav.customers") == "Klienci"
    assert t("auth.signed_in_as", name="Ola") == "Zalogowano jako Ola"
    assert t("auth.signed_in_as") == "Zalogowano jako {name}"
    assert t("no.such.key") == "no.such.key"
    assert translator("de")("nav.customers") == "Customers"


@pytest.mark.parametrize(
    ("count", "en", "pl"),
    [
        (1, "1 interaction", "1 interakcja"),
        (2, "2 interactions", "2 interakcje"),
        (5, "5 interactions", "5 interakcji"),
        (12, "12 interactions", "12 interakcji"),
        (22, "22 interactions", "22 interakcje"),
        (0, "0 interactions", "0 interakcji"),
    ],
)
def test_plural_forms(count: int, en: str, pl: str) -> None:
    assert translator("en")("customer.interaction_count", count=count) == en
    assert translator("pl")("customer.interaction_count", count=count) == pl


def test_plural_category() -> None:
    assert [plural_category("pl", n) for n in (1, 3, 14, 24, 112, 1.5)] == [
        "one",
        "few",
        "many",
        "few",
        "many",
        "other",
    ]
    assert [plural_category("en", n) for n in (1, 0, 2)] == ["one", "other", "other"]


@pytest.mark.parametrize(
    ("accept", "cookie", "default", "expected"),
    [
        (None, None, "pl", "pl"),
        (None, None, "xx", "en"),
        ("pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7", None, "en", "pl"),
        ("de-DE,de;q=0.9,en;q=0.5", None, "pl", "en"),
        ("en;q=0.3, pl;q=0.8", None, "en", "pl"),
        ("pl;q=0, en;q=0.1", None, "pl", "en"),
        ("fr, *;q=0.5", None, "pl", "pl"),
        ("pl", "en", "pl", "en"),
        ("en", "xx", "pl", "en"),
        ("garbage;;q=abc,,", None, "pl", "pl"),
    ],
)
def test_pick_language(accept: str | None, cookie: str | None, default: str, expected: str) -> None:
    assert pick_language(accept, cookie, default) == expected


def test_the_help_centre_speaks_every_language_it_offers() -> None:
    from cxm.web.help_centre import TEXTS

    keys = {lang: set(texts) for lang, texts in TEXTS.items()}
    assert set(keys) == {"pl", "en", "ru"} and keys["pl"] == keys["en"] == keys["ru"]
    used = set()
    for path in sorted(TEMPLATES_DIR.glob("*help*.html")):
        used |= {m.group(2) for m in re.finditer(r"""\bht\(\s*(["'])([^"']+)\1""",
                                                 path.read_text(encoding="utf-8"))}  # fmt: skip
    used = {k for k in used if not k.endswith(".")}  # "kind." ~ kind: built at run time
    assert used and used <= keys["en"], used - keys["en"]
    for lang, texts in TEXTS.items():
        assert placeholders(texts["fallback"]) == {"language"}, lang

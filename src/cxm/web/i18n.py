"""Translations of the web UI: English and Polish catalogues with plural forms.

Catalogues are flat JSON objects in ``locales/<lang>.json`` mapping dotted keys to either a
string or, for counted phrases, an object of CLDR plural categories::

    {"customers.count": {"one": "{count} customer", "other": "{count} customers"}}

Example::

    >>> t = translator("pl")
    >>> t("customers.count", count=3)
    '3 klientów'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

SUPPORTED: tuple[str, ...] = ("en", "pl")
FALLBACK = "en"
LOCALES_DIR = Path(__file__).parent / "locales"

Entry = str | dict[str, str]
PLURAL_CATEGORIES: dict[str, tuple[str, ...]] = {
    "en": ("one", "other"),
    "pl": ("one", "few", "many", "other"),
}


@cache
def catalogue(lang: str) -> Mapping[str, Entry]:
    """The catalogue of ``lang`` as loaded from ``locales/<lang>.json``."""
    if lang not in SUPPORTED:
        raise ValueError(f"unsupported UI language {lang!r}; use one of {', '.join(SUPPORTED)}")
    with (LOCALES_DIR / f"{lang}.json").open(encoding="utf-8") as f:
        data: dict[str, Entry] = json.load(f)
    return data


def plural_category(lang: str, count: Any) -> str:
    """The CLDR plural category of ``count`` in ``lang`` (integers only; others are "other")."""
    if isinstance(count, bool) or not isinstance(count, int):
        return "other"
    n = abs(count)
    if lang == "pl":
        if n == 1:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"
    return "one" if n == 1 else "other"


def pick_language(accept_language: str | None, cookie: str | None, default: str) -> str:
    """Choose the UI language: the ``cxm_lang`` cookie, then Accept-Language, then ``default``.

    >>> pick_language("pl-PL,pl;q=0.9,en;q=0.8", None, "en")
    'pl'
    """
    if cookie in SUPPORTED:
        return cookie
    for tag in _ranked_tags(accept_language or ""):
        primary = tag.split("-", 1)[0]
        if primary in SUPPORTED:
            return primary
    return default if default in SUPPORTED else FALLBACK


def _ranked_tags(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


class _KeepMissing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translator(lang: str) -> Callable[..., str]:
    """A function ``t(key, **values)`` translating into ``lang``.

    Missing keys fall back to English, then to the key itself; ``values`` are interpolated
    with :meth:`str.format`, and ``count`` also selects the plural form.
    """
    lang = lang if lang in SUPPORTED else FALLBACK
    primary = catalogue(lang)
    fallback = catalogue(FALLBACK)

    def t(key: str, /, **values: Any) -> str:
        entry = primary.get(key)
        entry_lang = lang
        if entry is None:
            entry, entry_lang = fallback.get(key), FALLBACK
        if entry is None:
            return key
        if isinstance(entry, dict):
            category = plural_category(entry_lang, values.get("count"))
            entry = entry.get(category) or entry.get("other") or key
        return entry.format_map(_KeepMissing(values)) if values else entry

    return t

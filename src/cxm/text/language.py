"""Which language a text is in.

``lingua`` (rule- and n-gram based, its models ship in its wheel) decides among Polish,
Russian and English, the languages cxm analyses, and the neighbours customers of a Polish or
Russian company also write in, so a Ukrainian or German message is reported as such instead of
being forced into one of the three. Texts without letters (numbers, emoji) are ``und``.

>>> detect_languages(["Dziękuję za szybką pomoc", "Спасибо!", "👍👍"])   # doctest: +SKIP
[Language(code='pl', confidence=0.99), Language(code='ru', confidence=0.97), Language(code='und', confidence=0.0)]
"""  # noqa: E501

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

ANALYSED = ("pl", "ru", "en")
UNDETERMINED = "und"
_CANDIDATES = ("en", "pl", "ru", "uk", "be", "de", "cs", "sk", "lt", "fr", "es", "it", "pt", "nl")
_LETTER = re.compile(r"[^\W\d_]")
_URL = re.compile(r"https?://\S+|www\.\S+|@\w+|#")
_lock = threading.Lock()


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, or "und"
    confidence: float


@cache
def _detector() -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, c.upper()) for c in _CANDIDATES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def detect_languages(texts: list[str]) -> list[Language]:
    """The language of each text, with lingua's confidence (0–1)."""
    cleaned = [_URL.sub(" ", t) for t in texts]
    out: list[Language] = [Language(UNDETERMINED, 0.0)] * len(texts)
    todo = [i for i, t in enumerate(cleaned) if len(_LETTER.findall(t)) >= 2]
    if not todo:
        return out
    with _lock:
        values = _detector().compute_language_confidence_values_in_parallel(
            [cleaned[i] for i in todo]
        )
    for i, ranked in zip(todo, values, strict=True):
        if ranked:
            top = ranked[0]
            out[i] = Language(top.language.iso_code_639_1.name.lower(), round(top.value, 3))
    return out

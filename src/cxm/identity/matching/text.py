"""Normalising names, dates and contact values so that spelling variants compare equal.

Every function here is pure and total: any input (``None``, numbers, garbage) gives a string,
possibly empty, which the record table reads as "no value".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters that NFKD does not decompose into a base letter plus a combining mark.
_FOLD = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "ß": "ss",
        "đ": "d",
        "ð": "d",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
        "ŀ": "l",
        "ŧ": "t",
        "ʼ": "",
        "’": "",
        "'": "",
        "`": "",
    }
)

# Russian, Ukrainian and Belarusian letters in a BGN/PCGN-like scheme. The phonetic key
# removes most of the differences between this and other schemes (ISO 9, German, Polish).
_CYRILLIC = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "ґ": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "є": "ye",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "і": "i",
        "ї": "yi",
        "й": "y",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ў": "u",
        "ф": "f",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
)

_NOT_WORD = re.compile(r"[^a-z0-9]+")
_DIGITS = re.compile(r"\D+")
_REPEAT = re.compile(r"(.)\1+")

# Ordered rewrites that make common transliteration variants agree. Capitals stand for one
# sound each (S = sh/sz/sch, C = ch/cz, Z = zh/rz) so that later rules cannot split them.
_PHONETIC_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"shch|szcz|sch|sh|sz|sj", "S"),
        (r"tch|ch|cz|tsj", "C"),
        (r"zh|rz|zj", "Z"),
        (r"kh", "h"),
        (r"x", "ks"),
        (r"ph", "f"),
        (r"th", "t"),
        (r"ck", "k"),
        (r"w", "v"),
        (r"q", "k"),
        (r"ts|tz", "c"),
        (r"j", "y"),
        (r"ie|iy|yi", "i"),
        (r"(?<=[aeiou])y(?![aeiou])", "i"),
    )
)


def as_text(value: object) -> str:
    """The value as a string; "" for ``None`` and float NaN (how pandas spells missing)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return value if isinstance(value, str) else str(value)


def fold_text(value: object) -> str:
    """Lower-case ASCII letters, digits and single spaces: the base form of every text field.

    Diacritics are stripped (including letters NFKD keeps, such as ł, ø and ß) and Cyrillic
    is transliterated.

    >>> fold_text("  Łukasz  ŻÓŁĆ-Nowak ")
    'lukasz zolc nowak'
    >>> fold_text("Щукин")
    'shchukin'
    """
    text = as_text(value)
    return _fold(text) if text else ""


@lru_cache(maxsize=262_144)
def _fold(value: str) -> str:
    text = value.lower().translate(_FOLD).translate(_CYRILLIC)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        text = text.translate(_FOLD)
    return _NOT_WORD.sub(" ", text).strip()


def phonetic_key(value: object) -> str:
    """A key on which transliteration variants of one name agree.

    >>> {phonetic_key(v) for v in ("Юлия", "Yulia", "Julia", "Yuliya", "Julija")}
    {'yulia'}
    >>> phonetic_key("Щукин") == phonetic_key("Schukin") == phonetic_key("Shchukin")
    True
    """
    return _phonetic(fold_text(value))


@lru_cache(maxsize=262_144)
def _phonetic(text: str) -> str:
    text = text.replace(" ", "")
    for pattern, replacement in _PHONETIC_RULES:
        text = pattern.sub(replacement, text)
    return _REPEAT.sub(r"\1", text)


def normalize_date(value: object) -> str:
    """``YYYYMMDD`` from ISO dates, ``YYYYMMDD`` or ``YYYY/MM/DD``; "" when it is not one.

    Calendar validity is not required: a source that typed month 13 still carries evidence in
    its year and day. Anything that is not eight digits in year-month-day order is dropped.

    >>> normalize_date("1984-03-07"), normalize_date("19840307"), normalize_date("abc")
    ('19840307', '19840307', '')
    """
    text = as_text(value).strip()
    if "T" in text:
        text = text.split("T", 1)[0]
    parts = re.split(r"[-/. ]", text)
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
        if len(parts[1]) > 2 or len(parts[2]) > 2:
            return ""
        text = parts[0] + parts[1].zfill(2) + parts[2].zfill(2)
    return text if len(text) == 8 and text.isdigit() and text[:2] in ("18", "19", "20") else ""


def normalize_digits(value: object) -> str:
    """Only the digits, for phone numbers, postcodes and house numbers.

    >>> normalize_digits("+48 601-234-567")
    '48601234567'
    """
    text = as_text(value)
    if text.isdigit() and text.isascii():
        return text
    if text[:1] == "+" and text[1:].isdigit() and text.isascii():
        return text[1:]
    return _DIGITS.sub("", text)


def normalize_code(value: object) -> str:
    """Folded text without spaces, for postcodes and house numbers ("12 A" equals "12a")."""
    return fold_text(value).replace(" ", "")


def normalize_email(value: object) -> str:
    """Trimmed, lower-cased address, or "" when it has no single ``@``."""
    text = as_text(value).strip().lower()
    return text if text.count("@") == 1 and not text.startswith("@") else ""


_EMAIL_SPLIT = re.compile(r"[^a-z]+")


def email_name_tokens(value: object) -> list[str]:
    """Name-like tokens of an e-mail local part or a social handle, to compare with names.

    Digits and separators split tokens and are dropped; a plus-suffix is ignored.

    >>> email_name_tokens("J.Kowalski77@example.com")
    ['j', 'kowalski']
    >>> email_name_tokens("@anna_nowak")
    ['anna', 'nowak']
    """
    local = as_text(value).strip().lower().lstrip("@").split("@", 1)[0].split("+", 1)[0]
    return [token for token in _EMAIL_SPLIT.split(fold_text(local).replace(" ", ".")) if token]

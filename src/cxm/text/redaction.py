"""Personal data in free text: find it, and redact it before a text reaches someone who should
not see it.

Recognised: e-mail addresses, phone numbers (Polish, Russian and international, through
``phonenumbers``), bank accounts (IBAN, checked mod 97; Polish NRB, the 26 digits of a Polish
IBAN), payment card numbers (13–19 digits passing the Luhn check), PESEL (Polish national id,
with its check digit and a real birth date), Russian INN (taxpayer number, 10 or 12 digits with
their check digits) and Russian internal passport numbers (series and number, only next to the
word passport/паспорт, as the ten digits alone are too common). Numbers are accepted only when
their check digits hold, so order numbers and amounts are left alone.

>>> redact("Proszę o kontakt: jan.kowalski@example.pl, tel. 601 234 567")
'Proszę o kontakt: [EMAIL], tel. [PHONE]'
>>> redact("PESEL 44051401458", mode="partial")
'PESEL *********58'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

import phonenumbers

PiiKind = Literal["email", "phone", "iban", "card", "pesel", "inn", "passport", "name"]
PII_KINDS: tuple[str, ...] = (
    "email", "phone", "iban", "card", "pesel", "inn", "passport", "name"
)  # fmt: skip
Mode = Literal["label", "partial"]

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
# An IBAN: two letters, two check digits, then 11-30 letters/digits, in groups of four or not.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
# Digit runs that may hold spaces or dashes between groups (cards, NRB, PESEL, INN).
_DIGITS = re.compile(r"(?<![\d\w])\d(?:[ -]?\d){9,25}(?![\d\w])")
_PASSPORT = re.compile(r"(?i)(паспорт\w*|passport)(?:[^\d\n]{0,20})(\d{2}[ ]?\d{2}[ ]?\d{6})(?!\d)")
_PHONE_REGIONS = ("PL", "RU")
# Names only where the text announces one ("my name is", "Pan", "меня зовут", a signature):
# capitalised words alone are too often places, products and sentence starts.
_UPPER, _LOWER = "A-ZĄĆĘŁŃÓŚŹŻА-ЯЁ", "a-ząćęłńóśźżа-яё"
_NAME_WORD = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"
_NAME = re.compile(
    r"(?:(?i:my name is|this is|regards,?|sincerely,?|mr\.?|mrs\.?|ms\.?|nazywam się|"
    r"mam na imię|z poważaniem,?|pozdrawiam,?|pan|pani|panem|panią|pana|panu|меня зовут|"
    r"с уважением,?|зовут)\s+)"
    rf"({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})"
)


@dataclass(frozen=True, order=True)
class PiiSpan:
    """A piece of personal data at ``text[start:end]``."""

    start: int
    end: int
    kind: str
    value: str


def find_pii(text: str, kinds: Iterable[str] = PII_KINDS) -> list[PiiSpan]:
    """Every piece of personal data in ``text``, in order, without overlaps (the earlier and
    then the longer span wins).

    >>> [s.kind for s in find_pii("mail a@b.pl or call +7 912 345-67-89")]
    ['email', 'phone']
    """
    wanted = set(kinds)
    unknown = wanted - set(PII_KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of personal data: {sorted(unknown)}; use {PII_KINDS}")
    found: list[PiiSpan] = []
    if "email" in wanted:
        found += [PiiSpan(m.start(), m.end(), "email", m.group()) for m in _EMAIL.finditer(text)]
    if "passport" in wanted:
        for m in _PASSPORT.finditer(text):
            found.append(PiiSpan(m.start(2), m.end(2), "passport", m.group(2)))
    if "iban" in wanted:
        for m in _IBAN.finditer(text):
            if _iban_ok(m.group()):
                found.append(PiiSpan(m.start(), m.end(), "iban", m.group()))
    for m in _DIGITS.finditer(text):
        kind = _digit_kind(re.sub(r"[ -]", "", m.group()), wanted)
        if kind:
            found.append(PiiSpan(m.start(), m.end(), kind, m.group()))
    if "phone" in wanted:
        found += _phones(text)
    if "name" in wanted:
        found += [PiiSpan(m.start(1), m.end(1), "name", m.group(1)) for m in _NAME.finditer(text)]
    return _without_overlaps(found)


def _phones(text: str) -> list[PiiSpan]:
    spans: list[PiiSpan] = []
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            spans.append(PiiSpan(match.start, match.end, "phone", match.raw_string))
    return spans


def _without_overlaps(spans: list[PiiSpan]) -> list[PiiSpan]:
    kept: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def _digit_kind(digits: str, wanted: set[str]) -> str | None:
    """What a run of digits is, judged by its length and check digits."""
    n = len(digits)
    if n == 26 and "iban" in wanted and _iban_ok("PL" + digits[:2] + digits[2:], nrb=True):
        return "iban"
    if n == 11 and "pesel" in wanted and pesel_ok(digits):
        return "pesel"
    if n in (10, 12) and "inn" in wanted and inn_ok(digits):
        return "inn"
    if 13 <= n <= 19 and "card" in wanted and luhn_ok(digits):
        return "card"
    return None


def _iban_ok(raw: str, *, nrb: bool = False) -> bool:
    value = raw.replace(" ", "").upper()
    if nrb:  # a Polish NRB: the check digits come first, the country is implied
        value = "PL" + value[2:4] + value[4:]
    if not 15 <= len(value) <= 34:
        return False
    moved = value[4:] + value[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def luhn_ok(digits: str) -> bool:
    """The Luhn check of payment card numbers.

    >>> luhn_ok("4111111111111111")
    True
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)


def pesel_ok(digits: str) -> bool:
    """A PESEL with a right check digit and a real birth date (1800–2299).

    >>> pesel_ok("44051401458")
    True
    """
    if len(digits) != 11 or not digits.isdigit():
        return False
    check = (10 - sum(int(d) * w for d, w in zip(digits, PESEL_WEIGHTS, strict=False)) % 10) % 10
    if check != int(digits[10]):
        return False
    year, month, day = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    century = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}.get(month - month % 20)
    if century is None:
        return False
    try:
        date(century + year, month % 20, day)
    except ValueError:
        return False
    return True


_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn_ok(digits: str) -> bool:
    """A Russian INN (10 digits for organisations, 12 for people) with its check digits.

    >>> inn_ok("7707083893")
    True
    """

    def check(weights: tuple[int, ...]) -> int:
        return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10

    if len(digits) == 10:
        return check(_INN10) == int(digits[9])
    if len(digits) == 12:
        return check(_INN11) == int(digits[10]) and check(_INN12) == int(digits[11])
    return False


LABELS = {kind: f"[{kind.upper()}]" for kind in PII_KINDS}


def redact(text: str, *, kinds: Iterable[str] = PII_KINDS, mode: Mode = "label") -> str:
    """``text`` with its personal data replaced: by a label (``[EMAIL]``, ``[PHONE]`` …) or,
    with ``mode="partial"``, masked but recognisable to the person it belongs to (the first
    letter and the domain of an e-mail, the last two or three digits of a number).

    >>> redact("jan.kowalski@example.pl", mode="partial")
    'j***@example.pl'
    """
    out: list[str] = []
    at = 0
    for span in find_pii(text, kinds):
        out.append(text[at : span.start])
        out.append(_mask(span) if mode == "partial" else LABELS[span.kind])
        at = span.end
    out.append(text[at:])
    return "".join(out)


def _mask(span: PiiSpan) -> str:
    if span.kind == "email":
        local, _, domain = span.value.partition("@")
        return f"{local[:1]}***@{domain}"
    if span.kind == "name":
        return " ".join(f"{word[:1]}." for word in span.value.split())
    keep = 3 if span.kind == "phone" else 2
    digits_seen = sum(ch.isdigit() for ch in span.value)
    shown = 0
    masked = []
    for ch in span.value:
        if ch.isdigit() or ch.isalpha():
            position = shown
            shown += ch.isdigit()
            masked.append(ch if ch.isdigit() and position >= digits_seen - keep else "*")
        else:
            masked.append(ch)
    return "".join(masked)


def redact_value(value: object, *, mode: Mode = "partial") -> object:
    """``value`` with personal data redacted in every string inside it (dicts and lists are
    walked), for showing event properties to someone without access to personal data."""
    if isinstance(value, str):
        return redact(value, mode=mode)
    if isinstance(value, dict):
        return {k: redact_value(v, mode=mode) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, mode=mode) for v in value]
    return value

"""Normalising identifiers so the same person's e-mail or phone always compares equal."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NON_DIGIT = re.compile(r"[^\d+]")


def normalize_email(value: object) -> str | None:
    """Trimmed, lower-cased e-mail, or None when it is not an address.

    >>> normalize_email("  Anna.Kowalska@Example.PL ")
    'anna.kowalska@example.pl'
    """
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        return None
    return email


def normalize_phone(value: object, *, region: str = "PL") -> str | None:
    """The number in E.164, reading numbers without a country code as ``region``'s.

    Russian numbers written the domestic way (8 912 345-67-89) are recognised too.

    >>> normalize_phone("601-234-567")
    '+48601234567'
    >>> normalize_phone("8 (912) 345-67-89")
    '+79123456789'
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return _normalize_phone(value, region)


@lru_cache(maxsize=65_536)
def _normalize_phone(value: str, region: str) -> str | None:
    # Parsing is the costly part of identity rules, and the same numbers recur constantly.
    raw = value.strip()
    digits = _NON_DIGIT.sub("", raw)
    if len(digits.lstrip("+")) < 6 or len(digits) > 20:
        return None
    candidates = [region]
    if digits.startswith("8") and len(digits) == 11 and region != "RU":
        candidates.append("RU")
    for candidate in candidates:
        try:
            number = phonenumbers.parse(raw, candidate)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None

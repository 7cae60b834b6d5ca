"""Normalisation and the deterministic identity rules (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxm.identity.normalize import normalize_email, normalize_phone
from cxm.identity.rules import event_identifiers, event_traits


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+48 601 234 567", "+48601234567"),
        ("601-234-567", "+48601234567"),
        ("601234567", "+48601234567"),
        ("0048601234567", "+48601234567"),
        ("(22) 555 12 34", "+48225551234"),
        ("8 (912) 345-67-89", "+79123456789"),
        ("+7 912 345 67 89", "+79123456789"),
        ("+44 20 7946 0958", "+442079460958"),
        (601234567, "+48601234567"),
        ("12", None),
        ("not a phone", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_phone_numbers_become_e164(raw: object, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


@given(st.from_regex(r"\A[5-8][0-9]{8}\Z"))
def test_polish_mobile_numbers_written_any_way_compare_equal(digits: str) -> None:
    spaced = f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    dashed = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    forms = {normalize_phone(f) for f in (digits, spaced, dashed, "+48" + digits, "0048" + digits)}
    assert len(forms) == 1


@given(st.text(max_size=40))
def test_normalisers_never_raise(text: str) -> None:
    normalize_phone(text)
    normalize_email(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Anna.Kowalska@Example.PL ", "anna.kowalska@example.pl"),
        ("юлия@пример.рф", "юлия@пример.рф"),
        ("no-at-sign", None),
        ("two@@example.pl", None),
        ("a@b", None),
        (42, None),
    ],
)
def test_email_normalisation(raw: object, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_identify_traits_override_context_traits() -> None:
    payload = {
        "type": "identify",
        "traits": {"email": "new@x.pl"},
        "context": {"traits": {"email": "old@x.pl", "phone": "601234567"}},
    }
    assert event_traits(payload) == {"email": "new@x.pl", "phone": "601234567"}
    track = {**payload, "type": "track"}
    assert event_traits(track) == {"email": "old@x.pl", "phone": "601234567"}


def test_event_identifiers_strongest_first_without_repeats() -> None:
    payload = {
        "type": "track",
        "context": {
            "externalIds": [
                {"id": "@ania_k", "type": "social_handle"},
                {"id": "x", "type": "email"},  # reserved kinds cannot be smuggled in
                {"id": "", "type": "crm_id"},
                "junk",
            ]
        },
    }
    ids = event_identifiers(
        payload,
        user_id="CUST-1",
        anonymous_id="anon-1",
        traits={"email": "Ania@X.pl", "phone": "+48 601 234 567"},
        region="PL",
    )
    assert ids == [
        ("user_id", "CUST-1"),
        ("email", "ania@x.pl"),
        ("phone", "+48601234567"),
        ("social_handle", "@ania_k"),
        ("anonymous_id", "anon-1"),
    ]


def test_alias_links_previous_id() -> None:
    ids = event_identifiers(
        {"type": "alias", "previousId": "anon-9"},
        user_id="CUST-9",
        anonymous_id=None,
        traits={},
        region="PL",
    )
    assert ids == [("user_id", "CUST-9"), ("previous_id", "anon-9")]

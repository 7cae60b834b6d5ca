"""Personal data in free text: found by pattern and check digits, redacted, nothing else touched."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxm.text import PII_KINDS, find_pii, inn_ok, luhn_ok, pesel_ok, redact
from cxm.text.redaction import PESEL_WEIGHTS


def make_pesel(born: date, serial: int) -> str:
    offset = {1800: 80, 1900: 0, 2000: 20, 2100: 40, 2200: 60}[born.year // 100 * 100]
    body = f"{born.year % 100:02d}{born.month + offset:02d}{born.day:02d}{serial:04d}"
    check = (10 - sum(int(d) * w for d, w in zip(body, PESEL_WEIGHTS, strict=True)) % 10) % 10
    return body + str(check)


def make_card(body: str) -> str:
    for last in "0123456789":
        if luhn_ok(body + last):
            return body + last
    raise AssertionError("no Luhn digit")


def make_iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in moved)) % 97
    return f"{country}{check:02d}{bban}"


def make_inn12(body: str) -> str:
    w11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    w12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    first = sum(int(d) * w for d, w in zip(body, w11, strict=True)) % 11 % 10
    second = sum(int(d) * w for d, w in zip(body + str(first), w12, strict=True)) % 11 % 10
    return f"{body}{first}{second}"


births = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))


@settings(max_examples=200, deadline=None)
@given(births, st.integers(0, 9999))
def test_every_valid_pesel_is_found_and_a_wrong_check_digit_is_not(born: date, serial: int) -> None:
    pesel = make_pesel(born, serial)
    assert pesel_ok(pesel)
    assert [s.kind for s in find_pii(f"PESEL: {pesel}.")] == ["pesel"]
    wrong = pesel[:10] + str((int(pesel[10]) + 1) % 10)
    assert not pesel_ok(wrong)
    # Eleven digits can still be a phone written the Russian way (8 9xx …), never a PESEL.
    assert "pesel" not in {s.kind for s in find_pii(f"nr {wrong}")}


@settings(max_examples=200, deadline=None)
@given(st.text("0123456789", min_size=14, max_size=14))
def test_card_numbers_with_spaces_are_found(body: str) -> None:
    card = make_card("4" + body)
    grouped = " ".join(card[i : i + 4] for i in range(0, 16, 4))
    assert redact(f"karta {grouped} ważna") == "karta [CARD] ważna"


@settings(max_examples=100, deadline=None)
@given(st.text("0123456789", min_size=24, max_size=24))
def test_polish_ibans_and_nrb_are_found(bban: str) -> None:
    iban = make_iban("PL", bban)
    spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    assert redact(f"konto {spaced}") == "konto [IBAN]"
    assert redact(f"konto {iban[2:]}") == "konto [IBAN]"  # the NRB: the IBAN without PL


@settings(max_examples=100, deadline=None)
@given(st.text("0123456789", min_size=10, max_size=10))
def test_russian_inn_for_people(body: str) -> None:
    inn = make_inn12(body)
    assert inn_ok(inn)
    assert redact(f"ИНН {inn}") == "ИНН [INN]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Napisz na anna.nowak+cx@poczta.onet.pl!", "Napisz na [EMAIL]!"),
        ("dzwonię z 601-234-567 i +48 22 123 45 67", "dzwonię z [PHONE] i [PHONE]"),
        ("мой телефон 8 (912) 345-67-89", "мой телефон [PHONE]"),
        ("Паспорт серия 45 07 № 123456 выдан", "Паспорт серия 45 07 № 123456 выдан"),
        ("паспорт 4507 123456", "паспорт [PASSPORT]"),
        ("ИНН организации 7707083893", "ИНН организации [INN]"),
        ("GB82 WEST 1234 5698 7654 32 is my account", "[IBAN] is my account"),
    ],
)
def test_examples_in_three_languages(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Zamówienie 12345678901 na kwotę 1234,56 zł, faktura FV/2026/03/0042",
        "Order #4111111111111112 shipped on 2026-03-01 at 10:15",
        "Umowa 44051401459 z dnia 14.05.1944",  # a PESEL-like number with a wrong check digit
        "Номер заказа 1234567890, сумма 2 500 руб.",
        "Speed 600 Mb/s, ping 12 ms, version 1.2.3",
    ],
)
def test_numbers_that_are_not_personal_data_stay(text: str) -> None:
    assert redact(text) == text


def test_partial_masks_keep_the_person_able_to_recognise_it() -> None:
    text = "jan.kowalski@example.pl, 601 234 567, PESEL 44051401458, 4111 1111 1111 1111"
    assert redact(text, mode="partial") == (
        "j***@example.pl, *** *** 567, PESEL *********58, **** **** **** **11"
    )


def test_only_the_kinds_asked_for_and_unknown_kinds_refused() -> None:
    text = "a@b.pl 601 234 567"
    assert redact(text, kinds=["email"]) == "[EMAIL] 601 234 567"
    with pytest.raises(ValueError, match="unknown kinds of personal data"):
        redact(text, kinds=["shoe_size"])
    assert set(PII_KINDS) == {"email", "phone", "iban", "card", "pesel", "inn", "passport", "name"}


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Nazywam się Jan Kowalski i mam problem", "Nazywam się [NAME] i mam problem"),
        ("Pani Anna Nowak była bardzo miła", "Pani [NAME] była bardzo miła"),
        ("Меня зовут Иван Петров, пишу из Москвы", "Меня зовут [NAME], пишу из Москвы"),
        ("Kind regards,\nJohn Smith", "Kind regards,\n[NAME]"),
        # Capitalised words without a cue are places, products or sentence starts.
        ("Internet w Krakowie nie działa. Vistula Box się zawiesza.", None),
        ("Москва, Сбербанк, Apple Store", None),
    ],
)
def test_names_are_found_where_the_text_announces_one(text: str, redacted: str | None) -> None:
    assert redact(text) == (redacted or text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_redaction_never_fails_and_is_stable(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    spans = find_pii(text)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_pesel_centuries() -> None:
    for born in (date(1899, 12, 31), date(2000, 2, 29), date(2150, 1, 1)):
        assert pesel_ok(make_pesel(born, 1234))
    assert not pesel_ok(make_pesel(date(2000, 2, 28), 1)[:4] + "30" + "00010")
    assert date(2000, 2, 29) - timedelta(days=1) == date(2000, 2, 28)

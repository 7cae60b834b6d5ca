"""Who the demo company's customers are: languages, products, problems, and the hard cases.

The hard cases are deliberate: families sharing one phone number, customers whose channels
share no identifier (``quirk``), and customers picked for the broken branch → IVR → call centre
→ technician journey.
"""

from __future__ import annotations

import random

from cxm.demo import people
from cxm.demo.people import Persona
from cxm.demo.recorder import DAY

MOBILE_PLANS = (("Mobile S", 35), ("Mobile M", 55), ("Mobile L", 75))
INTERNET_PLANS = (
    ("DSL 40", 45, 40),
    ("Fibre 300", 59, 300),
    ("Fibre 600", 69, 600),
    ("Fibre 1 Gb/s", 89, 1000),
)
TV_PLANS = (("TV Start", 29), ("TV Max", 59))
# (quirk, share): why rule-based linking cannot join all of a customer's channels.
QUIRKS = (("social_only", 0.35), ("second_phone", 0.35), ("alt_email", 0.30))
QUIRK_RATE = 0.075
HOUSEHOLD_RATE = 0.005  # pairs per customer: about 1% of customers share a phone
BROKEN_JOURNEY_RATE = 0.06
# Planted churn drivers (the driver analysis must find them): of the customers who are not
# leaving anyway, these shares leave after a broken repair journey or a wrong bill.
CHURN_AFTER = {"broken_journey": 0.35, "billing_error": 0.18}
JOIN_RATE = 0.18


def _services(rng: random.Random) -> tuple[tuple[str, ...], str, int, int]:
    """(services, plan label, monthly fee in PLN, home internet speed in Mb/s)."""
    parts: list[str] = []
    labels: list[str] = []
    fee = speed = 0
    if rng.random() < 0.85:
        label, price = rng.choice(MOBILE_PLANS)
        parts.append("mobile")
        labels.append(label)
        fee += price
    if rng.random() < 0.55 or not parts:
        label, price, speed = rng.choice(INTERNET_PLANS)
        parts.append("internet")
        labels.append(label)
        fee += price
        if rng.random() < 0.5:
            label, price = rng.choice(TV_PLANS)
            parts.append("tv")
            labels.append(label)
            fee += price
    return tuple(parts), " + ".join(labels), fee, speed


def _issues(rng: random.Random, services: tuple[str, ...], traveller: bool) -> list[str]:
    """The problems this customer will run into over the year (drives texts and add-ons)."""
    found: list[str] = []
    if "internet" in services:
        if rng.random() < 0.3:
            found.append("slow_speed")
        if rng.random() < 0.2:
            found.append("outage")
    if rng.random() < 0.15:
        found.append("billing_error")
    if traveller and rng.random() < 0.55:
        found.append("roaming_charges")
    if "mobile" in services and rng.random() < 0.12:
        found.append("device_problem")
    if rng.random() < 0.08:
        found.append("price_mismatch")
    return found


def _persona(
    rng: random.Random,
    index: int,
    user_number: int,
    start_ms: int,
    end_ms: int,
    emails: set[str],
    phones: set[str],
    handles: set[str],
) -> Persona:
    roll = rng.random()
    language = "pl" if roll < 0.8 else "ru" if roll < 0.9 else "en"
    gender = rng.choice("fm")
    first, last, first_latin, last_latin = people.draw_name(rng, language, gender)
    street, city, postal = people.draw_address(rng)
    services, plan, fee, speed = _services(rng)
    digital = rng.random() if language == "pl" else 0.3 + 0.7 * rng.random()
    traveller = "mobile" in services and rng.random() < (0.25 if language == "pl" else 0.5)
    p = Persona(
        key=f"c{index:05d}",
        user_id=f"CUST-{user_number:06d}",
        language=language,
        gender=gender,
        first_name=first,
        last_name=last,
        first_latin=first_latin,
        last_latin=last_latin,
        email=people.draw_email(rng, first_latin, last_latin, language, emails),
        phone=people.draw_phone(
            rng, russian=language == "ru" and rng.random() < 0.35, taken=phones
        ),
        street=street,
        city=city,
        postal_code=postal,
        services=services,
        plan=plan,
        monthly_fee=fee,
        speed=speed,
        digital=digital,
        app_device=people.device_id(rng) if rng.random() < 0.25 + 0.6 * digital else None,
        web_devices=[people.device_id(rng) for _ in range(1 + (rng.random() < 0.4))],
        chat_id=f"lc_{rng.getrandbits(48):012x}",
        traveller=traveller,
        issues=_issues(rng, services, traveller),
    )
    if rng.random() < 0.28:
        p.social_handle = people.social_handle(rng, first_latin, last_latin, handles)
        p.social_platform = rng.choice(("facebook", "x", "instagram"))
    span = end_ms - start_ms
    if rng.random() < JOIN_RATE:
        p.join_ms = start_ms + int(span * rng.uniform(0.03, 0.85))
    if rng.random() < 0.03 + 0.04 * len(p.issues):
        earliest = (p.join_ms or start_ms) + 30 * DAY
        if earliest < end_ms - 10 * DAY:
            p.churn_ms = rng.randint(earliest, end_ms - 10 * DAY)
    return p


def _alt_email(rng: random.Random, p: Persona, emails: set[str]) -> str:
    """Another address the customer writes from, never given to the account systems."""
    first = p.first_latin
    if p.language == "ru":
        # The same name transliterated another way (Yulia → Julia), so no rule can match it.
        first = first.replace("Y", "J").replace("y", "j").replace("E", "Je", 1)
        return people.draw_email(rng, first, p.last_latin, "ru", emails)
    company = rng.choice(("firma-abc.pl", "biuro.com.pl", "globalcorp.com", "uw.edu.pl"))
    local = f"{people.ascii_slug(first)[0]}.{people.ascii_slug(p.last_latin)}"
    address = f"{local}@{company}"
    while address in emails:
        address = f"{local}{rng.randint(1, 99)}@{company}"
    emails.add(address)
    return address


def draw_population(
    rng: random.Random, count: int, start_ms: int, end_ms: int
) -> tuple[list[Persona], list[tuple[str, str, str]]]:
    """``count`` customers and the shared family phones as ``(key_a, key_b, e164)``."""
    emails: set[str] = set()
    phones: set[str] = set()
    handles: set[str] = set()
    numbers = rng.sample(range(1, 1_000_000), count)
    population = [
        _persona(rng, i + 1, numbers[i], start_ms, end_ms, emails, phones, handles)
        for i in range(count)
    ]
    shared: list[tuple[str, str, str]] = []
    pairs = round(count * HOUSEHOLD_RATE)
    order = rng.sample(range(count), count)
    used: set[int] = set()
    for a_index in order:
        if len(shared) >= pairs:
            break
        if a_index in used:
            continue
        a = population[a_index]
        partner = next(
            (
                j
                for j in order
                if j not in used and j != a_index and population[j].language == a.language
            ),
            None,
        )
        if partner is None:
            continue
        b = population[partner]
        used.update((a_index, partner))
        b.last_name, b.last_latin = people.surname_for(
            a.last_latin, a.last_name, a.language, b.gender
        )
        b.phone, b.street, b.city, b.postal_code = a.phone, a.street, a.city, a.postal_code
        a.household = b.household = f"HH-{len(shared) + 1:05d}"
        shared.append((a.key, b.key, a.phone))
    for i, p in enumerate(population):
        if i in used:
            continue
        if rng.random() < QUIRK_RATE:
            p.quirk = _pick(rng, QUIRKS)
            if p.quirk == "social_only" and p.social_handle is None:
                p.social_handle = people.social_handle(rng, p.first_latin, p.last_latin, handles)
            elif p.quirk == "second_phone":
                p.second_phone = people.draw_phone(rng, russian=False, taken=phones)
            elif p.quirk == "alt_email":
                p.alt_email = _alt_email(rng, p, emails)
        elif "internet" in p.services and rng.random() < BROKEN_JOURNEY_RATE / 0.55:
            p.broken_journey = True
    for p in population:
        _plant_churn(p, start_ms, end_ms)
    return population, shared


def _plant_churn(p: Persona, start_ms: int, end_ms: int) -> None:
    """Some customers with a broken repair journey or a billing error leave because of it.

    A separate random stream per customer, so the rest of the company stays as it was.
    """
    if p.churn_ms is not None:
        return
    rng = random.Random(f"demo-churn:{p.key}")
    for driver, share in CHURN_AFTER.items():
        exposed = p.broken_journey if driver == "broken_journey" else driver in p.issues
        if not exposed or rng.random() >= share:
            continue
        earliest = max(p.join_ms or start_ms, start_ms) + 75 * DAY
        if earliest < end_ms - 10 * DAY:
            p.churn_ms = rng.randint(earliest, end_ms - 10 * DAY)
            p.churn_driver = driver
        return


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random()
    for name, share in weighted:
        roll -= share
        if roll < 0:
            return name
    return weighted[-1][0]

"""The demo company's customers: names, contact details and how each channel writes them.

Pure and seeded: every choice comes from the ``random.Random`` passed in, never the global RNG.
Most customers are Polish; some speak Russian (their name is Cyrillic in the channels they fill
in themselves and transliterated where staff type it) and some are English-speaking expats.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

POLISH_FEMALE = (
    "Zofia", "Małgorzata", "Anna", "Katarzyna", "Agnieszka", "Barbara", "Ewa", "Krystyna",
    "Magdalena", "Joanna", "Aleksandra", "Monika", "Natalia", "Dorota", "Beata", "Jadwiga",
    "Halina", "Grażyna", "Żaneta", "Wiesława", "Urszula", "Łucja", "Jolanta", "Teresa",
    "Elżbieta", "Maja", "Zuzanna", "Julia", "Wiktoria", "Hanna",
)  # fmt: skip
POLISH_MALE = (
    "Łukasz", "Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Marcin", "Jakub",
    "Grzegorz", "Mateusz", "Wojciech", "Mariusz", "Dariusz", "Zbigniew", "Jerzy", "Maciej",
    "Rafał", "Adam", "Kamil", "Szymon", "Bartłomiej", "Jacek", "Przemysław", "Sławomir",
    "Stanisław", "Józef", "Ryszard", "Tadeusz", "Błażej",
)  # fmt: skip
# Masculine forms; -ski/-cki/-dzki take -ska/-cka/-dzka for women, the others do not change.
POLISH_SURNAMES = (
    "Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Część", "Kowalczyk", "Kamiński", "Lewandowski",
    "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur",
    "Krawczyk", "Piotrowski", "Grabowski", "Pawłowski", "Michalski", "Król", "Wieczorek",
    "Jabłoński", "Wróbel", "Majewski", "Olszewski", "Stępień", "Jaworski", "Malinowski", "Dudek",
    "Adamczyk", "Górski", "Sikora", "Walczak", "Baran", "Rutkowski", "Szewczyk", "Ostrowski",
    "Tomaszewski", "Zalewski", "Wróblewski", "Kaźmierczak", "Zając", "Bąk", "Chmielewski",
    "Włodarczyk", "Czarnecki", "Sokołowski", "Kubiak", "Szczepański", "Wilk", "Lis",
    "Wysocki", "Cieślak", "Głowacki", "Kołodziej", "Żak", "Żukowski", "Ziółkowski", "Sęk",
)  # fmt: skip
RUSSIAN_FEMALE = (
    ("Юлия", "Yulia"), ("Анна", "Anna"), ("Елена", "Elena"), ("Ольга", "Olga"),
    ("Наталья", "Natalia"), ("Татьяна", "Tatiana"), ("Екатерина", "Ekaterina"),
    ("Мария", "Maria"), ("Ирина", "Irina"), ("Светлана", "Svetlana"),
    ("Анастасия", "Anastasia"), ("Дарья", "Daria"),
)  # fmt: skip
RUSSIAN_MALE = (
    ("Алексей", "Aleksei"), ("Дмитрий", "Dmitry"), ("Сергей", "Sergei"), ("Андрей", "Andrei"),
    ("Иван", "Ivan"), ("Михаил", "Mikhail"), ("Николай", "Nikolai"), ("Владимир", "Vladimir"),
    ("Павел", "Pavel"), ("Артём", "Artyom"), ("Максим", "Maksim"), ("Евгений", "Evgeny"),
)  # fmt: skip
# Masculine forms ending -ов/-ев/-ин: the feminine adds -а / -a.
RUSSIAN_SURNAMES = (
    ("Смирнов", "Smirnov"), ("Иванов", "Ivanov"), ("Кузнецов", "Kuznetsov"), ("Попов", "Popov"),
    ("Соколов", "Sokolov"), ("Лебедев", "Lebedev"), ("Козлов", "Kozlov"),
    ("Новиков", "Novikov"), ("Морозов", "Morozov"), ("Петров", "Petrov"), ("Волков", "Volkov"),
    ("Соловьёв", "Solovyov"), ("Васильев", "Vasiliev"), ("Зайцев", "Zaitsev"),
    ("Павлов", "Pavlov"), ("Семёнов", "Semyonov"), ("Голубев", "Golubev"),
    ("Богданов", "Bogdanov"), ("Фёдоров", "Fyodorov"), ("Михайлов", "Mikhailov"),
    ("Тарасов", "Tarasov"), ("Белов", "Belov"), ("Ильин", "Ilyin"), ("Орлов", "Orlov"),
)  # fmt: skip
ENGLISH_FEMALE = (
    "Emma", "Sophie", "Charlotte", "Emily", "Hannah", "Laura", "Chloe", "Olivia", "Grace",
    "Megan", "Sarah", "Rachel",
)  # fmt: skip
ENGLISH_MALE = (
    "James", "Oliver", "Daniel", "Thomas", "Michael", "David", "Ryan", "Matthew", "Sean",
    "Patrick", "Benjamin", "Liam",
)  # fmt: skip
ENGLISH_SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Clarke",
    "O'Brien", "Murphy", "Kelly", "Walsh", "Byrne", "Anderson",
)  # fmt: skip

CITIES = (
    ("Warszawa", "00"), ("Kraków", "30"), ("Łódź", "90"), ("Wrocław", "50"), ("Poznań", "60"),
    ("Gdańsk", "80"), ("Szczecin", "70"), ("Bydgoszcz", "85"), ("Lublin", "20"),
    ("Białystok", "15"), ("Katowice", "40"), ("Gdynia", "81"), ("Częstochowa", "42"),
    ("Toruń", "87"), ("Rzeszów", "35"), ("Kielce", "25"), ("Olsztyn", "10"),
    ("Zielona Góra", "65"),
)  # fmt: skip
STREETS = (
    "Marszałkowska", "Długa", "Piękna", "Kościuszki", "Mickiewicza", "Słowackiego",
    "Żeromskiego", "Polna", "Leśna", "Ogrodowa", "Kwiatowa", "Szkolna", "Lipowa", "Brzozowa",
    "Wojska Polskiego", "Piłsudskiego", "Sienkiewicza", "Reymonta", "Łąkowa", "Źródlana",
    "Żwirki i Wigury", "Jana Pawła II", "Grunwaldzka", "Świętokrzyska",
)  # fmt: skip

_PL_MOBILE_PREFIXES = ("50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88")
_RU_MOBILE_PREFIXES = ("915", "916", "925", "926", "903", "905", "912", "921", "961", "985")
_ASCII = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")
_EMAIL_DOMAINS = {
    "pl": ("gmail.com", "wp.pl", "onet.pl", "o2.pl", "interia.pl", "op.pl"),
    "ru": ("gmail.com", "mail.ru", "yandex.ru", "wp.pl"),
    "en": ("gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "hotmail.com"),
}


@dataclass
class Persona:
    """One customer of the demo company, with everything the channels may record about them.

    ``first_name``/``last_name`` are in the customer's own script; ``*_latin`` is how Polish
    staff and systems type them. Times (``join_ms``, ``churn_ms``) are epoch milliseconds.
    """

    key: str
    user_id: str
    language: str
    gender: str
    first_name: str
    last_name: str
    first_latin: str
    last_latin: str
    email: str
    phone: str  # E.164
    street: str
    city: str
    postal_code: str
    services: tuple[str, ...]
    plan: str
    monthly_fee: int  # PLN
    speed: int  # home internet Mb/s, 0 without home internet
    digital: float  # 0..1: how much they prefer self-service and written channels
    app_device: str | None
    web_devices: list[str]
    chat_id: str
    social_handle: str | None = None
    social_platform: str = "facebook"
    traveller: bool = False
    issues: list[str] = field(default_factory=list)
    join_ms: int | None = None  # None: already a customer when the window opens
    churn_ms: int | None = None
    # What made this customer leave, when something did: "broken_journey" (they leave within
    # weeks of the repair journey) or "billing_error" (a wrong bill is the last straw).
    churn_driver: str | None = None
    quirk: str | None = None  # why rules cannot link all their channels, if they cannot
    second_phone: str | None = None
    alt_email: str | None = None
    household: str | None = None
    broken_journey: bool = False

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def birth_date(self) -> str:
        """ISO date of birth; drawn from the key alone, so other draws stay as they were."""
        draw = random.Random(f"birth-date:{self.key}")
        year, day = draw.randint(1944, 2006), draw.randint(0, 364)
        month, rest = 1, day
        for length in (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31):
            if rest < length:
                break
            rest -= length
            month += 1
        return f"{year:04d}-{month:02d}-{rest + 1:02d}"

    @property
    def name_latin(self) -> str:
        return f"{self.first_latin} {self.last_latin}"

    @property
    def locale(self) -> str:
        return {"pl": "pl-PL", "ru": "ru-RU", "en": "en-GB"}[self.language]

    @property
    def address(self) -> str:
        return f"ul. {self.street}, {self.postal_code} {self.city}"


def device_id(rng: random.Random) -> str:
    """A browser/app install id in UUID form, drawn from ``rng`` so it is reproducible."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _feminine_polish(surname: str) -> str:
    for masculine, feminine in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if surname.endswith(masculine):
            return surname[: -len(masculine)] + feminine
    return surname


def draw_name(rng: random.Random, language: str, gender: str) -> tuple[str, str, str, str]:
    """(first, last, first_latin, last_latin) for a customer of that language and gender."""
    if language == "ru":
        first, first_latin = rng.choice(RUSSIAN_FEMALE if gender == "f" else RUSSIAN_MALE)
        last, last_latin = rng.choice(RUSSIAN_SURNAMES)
        if gender == "f":
            last, last_latin = last + "а", last_latin + "a"
        return first, last, first_latin, last_latin
    if language == "en":
        first = rng.choice(ENGLISH_FEMALE if gender == "f" else ENGLISH_MALE)
        last = rng.choice(ENGLISH_SURNAMES)
        return first, last, first, last
    first = rng.choice(POLISH_FEMALE if gender == "f" else POLISH_MALE)
    last = rng.choice(POLISH_SURNAMES)
    if gender == "f":
        last = _feminine_polish(last)
    return first, last, first, last


def surname_for(surname_latin: str, native: str, language: str, gender: str) -> tuple[str, str]:
    """The family surname in ``gender``'s form: (native, latin). For household members."""
    if language == "pl":
        base = native
        for feminine, masculine in (("ska", "ski"), ("cka", "cki"), ("dzka", "dzki")):
            if base.endswith(feminine):
                base = base[: -len(feminine)] + masculine
        form = _feminine_polish(base) if gender == "f" else base
        return form, form
    if language == "ru":
        base, base_latin = native.removesuffix("а"), surname_latin.removesuffix("a")
        if gender == "f":
            return base + "а", base_latin + "a"
        return base, base_latin
    return native, surname_latin


def ascii_slug(text: str) -> str:
    return "".join(ch for ch in text.translate(_ASCII).lower() if ch.isalnum())


def draw_email(rng: random.Random, first: str, last: str, language: str, taken: set[str]) -> str:
    """A unique, plausible personal address built from the Latin form of the name."""
    f, la = ascii_slug(first), ascii_slug(last)
    domain = rng.choice(_EMAIL_DOMAINS[language])
    local = rng.choice(
        (
            f"{f}.{la}",
            f"{f[0]}{la}",
            f"{f}{la}{rng.randint(1, 99)}",
            f"{la}.{f}",
            f"{f}_{la}{rng.randint(60, 99)}",
            f"{f}.{la[0]}",
        )
    )
    email = f"{local}@{domain}"
    while email in taken:
        email = f"{local}{rng.randint(1, 999)}@{domain}"
    taken.add(email)
    return email


def draw_phone(rng: random.Random, *, russian: bool, taken: set[str]) -> str:
    """A unique mobile number in E.164: Polish, or Russian (+7 9xx) for some expats."""
    while True:
        if russian:
            number = "+7" + rng.choice(_RU_MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
        else:
            number = "+48" + rng.choice(_PL_MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
        if number not in taken:
            taken.add(number)
            return number


def format_phone(rng: random.Random, e164: str) -> str:
    """The number as a person or a silo might type it: spaces, dashes, 00 prefix, no prefix.

    Every form reads back to ``e164`` with region PL (Russian ones keep +7, 007 or a leading 8).
    """
    if e164.startswith("+48"):
        n = e164[3:]
        return rng.choice(
            (
                f"+48 {n[:3]} {n[3:6]} {n[6:]}",
                f"{n[:3]}-{n[3:6]}-{n[6:]}",
                f"0048{n}",
                n,
                e164,
                f"{n[:3]} {n[3:6]} {n[6:]}",
                f"(+48) {n[:3]} {n[3:6]} {n[6:]}",
            )
        )
    n = e164[2:]
    return rng.choice(
        (
            f"+7 {n[:3]} {n[3:6]}-{n[6:8]}-{n[8:]}",
            e164,
            f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
            f"007{n}",
            f"8 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}",
        )
    )


def draw_address(rng: random.Random) -> tuple[str, str, str]:
    """(street with number, city, postal code)."""
    city, zip_prefix = rng.choice(CITIES)
    street = f"{rng.choice(STREETS)} {rng.randint(1, 180)}"
    if rng.random() < 0.7:
        street += f"/{rng.randint(1, 120)}"
    return street, city, f"{zip_prefix}-{rng.randint(1, 999):03d}"


def written_address(rng: random.Random, p: Persona) -> str:
    """The service address as a technician's work order spells it (formats differ by silo)."""
    return rng.choice(
        (
            p.address,
            f"{p.street} {p.city}",
            f"{p.city}, {p.street}",
            f"{p.street.replace('/', ' m. ')}, {p.city}",
        )
    )


def social_handle(rng: random.Random, first: str, last: str, taken: set[str]) -> str:
    f, la = ascii_slug(first), ascii_slug(last)
    handle = rng.choice((f"{f}_{la}", f"{f}.{la[0]}{rng.randint(70, 99)}", f"{f}{la}", f"{la}_{f}"))
    while handle in taken:
        handle = f"{handle}{rng.randint(1, 9)}"
    taken.add(handle)
    return handle

"""A seeded generator of person records with realistic duplicates, for bench/linkage.py.

Originals are drawn with numpy from name, street and city vocabularies with long-tailed
frequencies (a few common surnames, many rare ones); Polish and Russian names appear in their
native spelling. About one record in ten is a duplicate of an original, with one to three
corruptions: a typo (insert, delete, substitute or transpose a letter), given and family name
swapped, diacritics dropped or another transliteration of a Cyrillic name, a field missing,
day and month transposed or a digit of the date mistyped, a postcode or house number typo, or
a move to another address. Only the duplicates need per-row work.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cxm.identity.matching.text import fold_text

GIVEN = [
    "anna",
    "maria",
    "katarzyna",
    "małgorzata",
    "agnieszka",
    "barbara",
    "ewa",
    "krystyna",
    "elżbieta",
    "zofia",
    "joanna",
    "magdalena",
    "monika",
    "teresa",
    "danuta",
    "natalia",
    "aleksandra",
    "karolina",
    "marta",
    "beata",
    "dorota",
    "halina",
    "jadwiga",
    "alicja",
    "iwona",
    "grażyna",
    "julia",
    "zuzanna",
    "łucja",
    "piotr",
    "krzysztof",
    "andrzej",
    "tomasz",
    "paweł",
    "jan",
    "michał",
    "marcin",
    "marek",
    "grzegorz",
    "józef",
    "łukasz",
    "adam",
    "zbigniew",
    "jerzy",
    "tadeusz",
    "mateusz",
    "dariusz",
    "mariusz",
    "wojciech",
    "ryszard",
    "jakub",
    "kazimierz",
    "robert",
    "rafał",
    "jacek",
    "kamil",
    "maciej",
    "john",
    "james",
    "robert",
    "michael",
    "william",
    "david",
    "richard",
    "joseph",
    "thomas",
    "charles",
    "mary",
    "patricia",
    "jennifer",
    "linda",
    "elizabeth",
    "susan",
    "jessica",
    "sarah",
    "karen",
    "nancy",
    "emma",
    "olivia",
    "sophia",
    "isabella",
    "liam",
    "noah",
    "oliver",
    "elijah",
    "lucas",
    "henry",
    "jack",
    "chloe",
    "grace",
    "ruby",
    "harley",
    "mitchell",
    "madeline",
    "юлия",
    "алексей",
    "наталья",
    "дмитрий",
    "сергей",
    "екатерина",
    "ольга",
    "татьяна",
    "ирина",
    "елена",
    "андрей",
    "михаил",
    "александр",
    "владимир",
    "николай",
    "евгений",
    "юрий",
    "ксения",
    "анастасия",
    "мария",
]

FAMILY_FIXED = [
    "nowak",
    "kowalski",
    "wiśniewski",
    "wójcik",
    "kowalczyk",
    "kamiński",
    "lewandowski",
    "zieliński",
    "szymański",
    "woźniak",
    "dąbrowski",
    "kozłowski",
    "jankowski",
    "mazur",
    "kwiatkowski",
    "krawczyk",
    "piotrowski",
    "grabowski",
    "nowakowski",
    "pawłowski",
    "michalski",
    "nowicki",
    "adamczyk",
    "dudek",
    "zając",
    "wieczorek",
    "jabłoński",
    "król",
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "wilson",
    "anderson",
    "taylor",
    "thomas",
    "moore",
    "martin",
    "jackson",
    "white",
    "harris",
    "clark",
    "lewis",
    "walker",
    "green",
    "mason",
    "hathaway",
    "mccarthy",
    "иванов",
    "смирнов",
    "кузнецов",
    "попов",
    "васильев",
    "петров",
    "соколов",
    "михайлов",
    "новиков",
    "фёдоров",
    "морозов",
    "волков",
    "алексеев",
    "лебедев",
    "семёнов",
    "егоров",
    "павлов",
    "козлов",
    "степанов",
    "николаев",
    "щукин",
    "жуков",
    "орлов",
    "киселёв",
    "макаров",
    "захаров",
    "зайцев",
    "соловьёв",
    "борисов",
    "яковлев",
    "григорьев",
    "романов",
]

_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "w",
    "z",
    "br",
    "gr",
    "kr",
    "st",
    "sz",
    "ch",
    "pr",
    "tr",
    "dr",
    "bl",
    "kl",
    "pl",
]
_VOWELS = ["a", "e", "i", "o", "u", "y", "ia", "ie", "au", "ei"]
_CODAS = ["n", "r", "l", "k", "s", "t", "m", "ck", "rt", "nd", "ng", "ll"]
_ENDINGS = [
    "ski",
    "ska",
    "son",
    "sen",
    "ner",
    "man",
    "berg",
    "er",
    "ak",
    "ek",
    "ik",
    "ow",
    "ew",
    "ova",
    "ov",
    "in",
    "ich",
    "ert",
    "ley",
    "ton",
    "ford",
]

_CYRILLIC_VARIANTS = (("kh", "h"), ("y", "i"), ("ya", "ia"), ("yu", "ju"), ("ks", "x"), ("e", "ye"))


def _zipf_weights(
    n: int, rng: np.random.Generator, exponent: float = 1.0
) -> npt.NDArray[np.float64]:
    weights = 1.0 / (np.arange(n) + 8.0) ** exponent
    rng.shuffle(weights)
    return weights / weights.sum()  # type: ignore[no-any-return]


def _syllable_words(n: int, rng: np.random.Generator, endings: list[str]) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        k = n - len(words)
        parts = [
            np.array(_ONSETS, dtype=object)[rng.integers(0, len(_ONSETS), k)],
            np.array(_VOWELS, dtype=object)[rng.integers(0, len(_VOWELS), k)],
            np.array(_CODAS, dtype=object)[rng.integers(0, len(_CODAS), k)],
            np.array(_VOWELS, dtype=object)[rng.integers(0, len(_VOWELS), k)],
            np.array(endings, dtype=object)[rng.integers(0, len(endings), k)],
        ]
        words.update((parts[0] + parts[1] + parts[2] + parts[3] + parts[4]).tolist())
    return sorted(words)[:n]


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 2:
        return word + "a"
    i = int(rng.integers(0, len(word) - 1))
    kind = int(rng.integers(0, 4))
    letter = "abcdefghijklmnopqrstuvwxyz"[int(rng.integers(0, 26))]
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + letter + word[i:]
    if kind == 2:
        return word[:i] + letter + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _variant(word: str, rng: np.random.Generator) -> str:
    """Another spelling: Latin transliteration of Cyrillic, diacritics dropped, or a typo."""
    folded = fold_text(word)
    if folded == word:
        return _typo(word, rng)
    if not word.isascii() and word[0] >= "\u0400":
        source, target = _CYRILLIC_VARIANTS[int(rng.integers(0, len(_CYRILLIC_VARIANTS)))]
        return folded.replace(source, target)
    return folded


def generate(
    n_records: int, *, seed: int = 7
) -> tuple[dict[str, list[object]], npt.NDArray[np.int64]]:
    """``n_records`` person records as columns, and the true person id of each record."""
    rng = np.random.default_rng(seed)
    n_dup = n_records // 10
    n_orig = n_records - n_dup
    family = FAMILY_FIXED + _syllable_words(40_000, rng, _ENDINGS)
    streets = [s + " street" for s in _syllable_words(6_000, rng, ["ow", "er", "ska", "ton"])]
    cities = _syllable_words(2_000, rng, ["ow", "burg", "ville", "ice", "sk", "field"])

    def pick(values: list[str], k: int, exponent: float = 1.0) -> npt.NDArray[np.object_]:
        idx = rng.choice(len(values), size=k, p=_zipf_weights(len(values), rng, exponent))
        return np.array(values, dtype=object)[idx]

    given = pick(GIVEN, n_orig, 0.6)
    surname = pick(family, n_orig)
    city_idx = rng.choice(len(cities), size=n_orig, p=_zipf_weights(len(cities), rng))
    city = np.array(cities, dtype=object)[city_idx]
    postcode = np.char.zfill((10_000 + city_idx * 7 + rng.integers(0, 7, n_orig)).astype(str), 5)
    street = pick(streets, n_orig, 0.7)
    house = (rng.zipf(1.3, n_orig) % 40 + rng.integers(0, 5, n_orig) * 40 + 1).astype(str)
    days = rng.integers(0, 365 * 70, n_orig)
    birth = np.datetime_as_string(np.datetime64("1935-01-01") + days.astype("timedelta64[D]"))
    phone = np.char.add("+48", rng.integers(500_000_000, 899_999_999, n_orig).astype(str))
    digits = rng.integers(1, 99, n_orig).astype(str)
    latin_given = [fold_text(g) for g in given.tolist()]
    latin_family = [fold_text(f) for f in surname.tolist()]
    # An address belongs to one person: a provider hands "anna.nowak" to the first Anna
    # Nowak and a numbered variant to the next, so namesakes never share an e-mail.
    taken: dict[str, int] = {}
    email = []
    for i, (g, f, d) in enumerate(zip(latin_given, latin_family, digits.tolist(), strict=True)):
        local = f"{g[0]}.{f}{d}" if i % 3 else f"{g}.{f}"
        seen = taken.get(local, 0)
        taken[local] = seen + 1
        domain = "example.com" if i % 3 else "mail.test"
        email.append(f"{local}@{domain}" if not seen else f"{local}.{seen}@{domain}")
    columns: dict[str, npt.NDArray[np.object_]] = {
        "given_name": given,
        "family_name": surname,
        "birth_date": birth.astype(object),
        "house_number": house.astype(object),
        "street": street,
        "city": city,
        "postcode": postcode.astype(object),
        "phone": phone.astype(object),
        "email": np.array(email, dtype=object),
    }
    missing_share = {"phone": 0.3, "email": 0.35, "house_number": 0.05, "birth_date": 0.05}
    for name, share in missing_share.items():
        columns[name][rng.random(n_orig) < share] = None

    source = rng.integers(0, n_orig, n_dup)
    dup = {name: values[source].copy() for name, values in columns.items()}
    corrupt = rng.integers(1, 4, n_dup)
    for row in range(n_dup):
        for _ in range(corrupt[row]):
            _corrupt(dup, row, rng, streets, cities)
    out = {name: np.concatenate([columns[name], dup[name]]).tolist() for name in columns}
    truth = np.concatenate([np.arange(n_orig), source]).astype(np.int64)
    return out, truth


def _corrupt(
    dup: dict[str, npt.NDArray[np.object_]],
    row: int,
    rng: np.random.Generator,
    streets: list[str],
    cities: list[str],
) -> None:
    kind = int(rng.integers(0, 10))
    if kind in (0, 1):
        name = ("given_name", "family_name")[kind]
        if dup[name][row]:
            dup[name][row] = _variant(str(dup[name][row]), rng)
    elif kind == 2:
        dup["given_name"][row], dup["family_name"][row] = (
            dup["family_name"][row],
            dup["given_name"][row],
        )
    elif kind == 3:
        name = ("phone", "email", "street", "house_number", "birth_date")[int(rng.integers(0, 5))]
        dup[name][row] = None
    elif kind == 4 and dup["birth_date"][row]:
        y, m, d = str(dup["birth_date"][row]).split("-")
        if int(d) <= 12 and rng.random() < 0.5:
            dup["birth_date"][row] = f"{y}-{d}-{m}"
        else:
            dup["birth_date"][row] = f"{y}-{m}-{d[0]}{int(rng.integers(0, 10))}"
    elif kind == 5:
        dup["postcode"][row] = _typo(str(dup["postcode"][row]), rng)
    elif kind == 6 and dup["house_number"][row]:
        dup["house_number"][row] = _typo(str(dup["house_number"][row]), rng)
    elif kind == 7:
        dup["street"][row] = streets[int(rng.integers(0, len(streets)))]
        dup["house_number"][row] = str(int(rng.integers(1, 250)))
        dup["phone"][row] = None
    elif kind == 8:
        dup["city"][row] = _typo(str(dup["city"][row]), rng)
    else:
        dup["street"][row] = _typo(str(dup["street"][row]), rng)

"""Keyphrases that name a group of texts, per language (class-based TF-IDF).

A phrase (one or two words, no stop words at its edges) scores high for a topic when it is
frequent in the topic's texts and rare in the others'. Polish and Russian inflect heavily
(faktura, faktury, fakturze), so words are counted by a crude stem (their first six letters)
and shown in their most frequent form.

>>> keyphrases({1: ["Faktura za wysoka", "Błąd w fakturze"], 2: ["Internet nie działa"]}, "pl")
... # doctest: +SKIP
{1: ['faktura', ...], 2: ['internet', ...]}
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "a",
            "about",
            "after",
            "again",
            "all",
            "also",
            "am",
            "an",
            "and",
            "any",
            "are",
            "as",
            "at",
            "be",
            "because",
            "been",
            "before",
            "being",
            "but",
            "by",
            "can",
            "could",
            "did",
            "do",
            "does",
            "doing",
            "don't",
            "for",
            "from",
            "had",
            "has",
            "have",
            "having",
            "he",
            "her",
            "here",
            "hers",
            "him",
            "his",
            "how",
            "i",
            "i'm",
            "if",
            "in",
            "into",
            "is",
            "it",
            "it's",
            "its",
            "just",
            "me",
            "more",
            "most",
            "my",
            "no",
            "nor",
            "not",
            "of",
            "off",
            "on",
            "once",
            "only",
            "or",
            "other",
            "our",
            "out",
            "over",
            "own",
            "same",
            "she",
            "should",
            "so",
            "some",
            "such",
            "than",
            "that",
            "the",
            "their",
            "them",
            "then",
            "there",
            "these",
            "they",
            "this",
            "those",
            "through",
            "to",
            "too",
            "under",
            "until",
            "up",
            "very",
            "was",
            "we",
            "were",
            "what",
            "when",
            "where",
            "which",
            "while",
            "who",
            "whom",
            "why",
            "will",
            "with",
            "would",
            "you",
            "your",
            "yours",
            "please",
            "thanks",
            "thank",
            "hi",
            "hello",
            "dear",
            "get",
            "got",
            "still",
            "already",
            "one",
            "two",
            "day",
            "days",
        ]
    ),
    "pl": frozenset(
        [
            "a",
            "aby",
            "ale",
            "albo",
            "ani",
            "az",
            "bardzo",
            "bez",
            "bo",
            "by",
            "byc",
            "byl",
            "byla",
            "bylo",
            "byly",
            "być",
            "był",
            "była",
            "było",
            "były",
            "chce",
            "czy",
            "dla",
            "do",
            "dlaczego",
            "gdy",
            "gdzie",
            "go",
            "i",
            "ich",
            "ile",
            "im",
            "iz",
            "jak",
            "jaki",
            "jakie",
            "jako",
            "je",
            "jeden",
            "jest",
            "jestem",
            "jeszcze",
            "jej",
            "jego",
            "już",
            "juz",
            "kiedy",
            "kto",
            "ktora",
            "ktore",
            "ktory",
            "która",
            "które",
            "który",
            "ma",
            "mam",
            "mi",
            "mnie",
            "mną",
            "moj",
            "moja",
            "moje",
            "mój",
            "może",
            "mozna",
            "można",
            "na",
            "nad",
            "nam",
            "nas",
            "nawet",
            "nic",
            "nie",
            "niz",
            "niż",
            "o",
            "od",
            "oraz",
            "po",
            "pod",
            "poniewaz",
            "ponieważ",
            "przez",
            "przy",
            "sa",
            "sie",
            "się",
            "są",
            "ta",
            "tak",
            "tam",
            "te",
            "tego",
            "tej",
            "ten",
            "teraz",
            "też",
            "tez",
            "to",
            "tu",
            "tylko",
            "tym",
            "u",
            "w",
            "we",
            "wiec",
            "więc",
            "wszystko",
            "z",
            "za",
            "ze",
            "że",
            "żeby",
            "zeby",
            "proszę",
            "prosze",
            "dzień",
            "dziękuję",
            "dziekuje",
            "dzień",
            "dobry",
            "witam",
            "pan",
            "pani",
            "państwo",
            "razy",
        ]
    ),
    "ru": frozenset(
        [
            "а",
            "без",
            "более",
            "бы",
            "был",
            "была",
            "были",
            "было",
            "быть",
            "в",
            "вам",
            "вас",
            "весь",
            "во",
            "вот",
            "все",
            "всё",
            "всего",
            "вы",
            "где",
            "да",
            "даже",
            "для",
            "до",
            "его",
            "ее",
            "её",
            "если",
            "есть",
            "еще",
            "ещё",
            "же",
            "за",
            "здесь",
            "и",
            "из",
            "или",
            "им",
            "их",
            "к",
            "как",
            "когда",
            "кто",
            "ли",
            "либо",
            "мне",
            "может",
            "мой",
            "мы",
            "на",
            "над",
            "надо",
            "не",
            "нет",
            "ни",
            "них",
            "но",
            "ну",
            "о",
            "об",
            "однако",
            "он",
            "она",
            "они",
            "оно",
            "от",
            "очень",
            "по",
            "под",
            "при",
            "с",
            "со",
            "так",
            "также",
            "такой",
            "там",
            "те",
            "тем",
            "то",
            "того",
            "тоже",
            "той",
            "только",
            "том",
            "ты",
            "у",
            "уже",
            "хотя",
            "чем",
            "что",
            "чтобы",
            "эта",
            "эти",
            "это",
            "этот",
            "я",
            "мой",
            "моя",
            "мне",
            "меня",
            "вами",
            "нам",
            "нас",
            "пожалуйста",
            "спасибо",
            "здравствуйте",
            "день",
            "раз",
        ]
    ),
}
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:[-'][^\W\d_]+)*")
STEM = 6


def _terms(text: str, language: str) -> list[tuple[str, str]]:
    """(stem key, surface form) of each candidate unigram and bigram."""
    stops = STOP_WORDS.get(language, frozenset())
    words = [w.lower() for w in _WORD.findall(text)]
    out: list[tuple[str, str]] = []
    for i, w in enumerate(words):
        if w in stops or len(w) < 3:
            continue
        out.append((w[:STEM], w))
        if i + 1 < len(words):
            nxt = words[i + 1]
            if nxt not in stops and len(nxt) >= 3:
                out.append((f"{w[:STEM]} {nxt[:STEM]}", f"{w} {nxt}"))
    return out


def keyphrases(
    groups: dict[int, list[str]], language: str, *, top: int = 5, min_texts: int = 3
) -> dict[int, list[str]]:
    """The ``top`` keyphrases of each group of texts in ``language`` (groups with fewer than
    ``min_texts`` texts get none)."""
    counts: dict[int, Counter[str]] = {}
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    for group, texts in groups.items():
        c: Counter[str] = Counter()
        for text in texts:
            for key, surface in set(_terms(text, language)):  # document frequency in a group
                c[key] += 1
                surfaces[key][surface] += 1
        counts[group] = c
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    mean_size = sum(len(t) for t in groups.values()) / max(len(groups), 1)
    out: dict[int, list[str]] = {}
    for group, c in counts.items():
        if len(groups[group]) < min_texts:
            out[group] = []
            continue
        size = len(groups[group])
        scored = sorted(
            (
                (n / size) * math.log(1 + mean_size / total[key]) * (1.3 if " " in key else 1.0),
                key,
            )
            for key, n in c.items()
            if n >= 2
        )
        picked: list[str] = []
        seen_words: set[str] = set()
        for _, key in reversed(scored):
            words = set(key.split())
            if words & seen_words and " " not in key:
                continue  # a word already inside a chosen bigram
            picked.append(surfaces[key].most_common(1)[0][0])
            seen_words |= words
            if len(picked) == top:
                break
        out[group] = picked
    return out

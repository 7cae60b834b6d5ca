"""Emotion: anger, joy, sadness, fear, surprise, trust, or neutral.

No labelled emotion data in Polish and Russian ships with a usable licence, so emotion is read
by similarity to *prototypes*: short statements of each emotion, written for this module in
the three languages, encoded with the same multilingual encoder as the texts. The sentiment
decides the family (a negative text is angry, sad, afraid or surprised; a positive one joyful,
trusting or surprised) and the nearest prototype within it names the emotion; a neutral text is
neutral unless it is clearly closer to a prototype than to the neutral ones.

This is a reading aid for verbatims, not a measured model: ``docs/text.md`` says so, and the
pages show emotion beside sentiment, never instead of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from cxm.text.encoders import encoder

EMOTIONS = ("anger", "joy", "sadness", "fear", "surprise", "trust", "neutral")
NEGATIVE_FAMILY = ("anger", "sadness", "fear", "surprise")
POSITIVE_FAMILY = ("joy", "trust", "surprise")

PROTOTYPES: dict[str, tuple[str, ...]] = {
    "anger": (
        "I am furious, this is outrageous and unacceptable.",
        "You cheated me and I am really angry about it.",
        "Jestem wściekły, to skandal i oszustwo.",
        "Mam dość, to jest nie do przyjęcia, jestem zła.",
        "Я в бешенстве, это возмутительно и недопустимо.",
        "Вы меня обманули, я очень зол.",
    ),
    "joy": (
        "I am so happy, this is wonderful, thank you!",
        "Great news, I love it, everything works perfectly.",
        "Jestem bardzo zadowolona, wszystko działa świetnie, dziękuję!",
        "Super, cieszę się, to wspaniała wiadomość.",
        "Я очень рад, всё отлично, спасибо!",
        "Замечательно, я в восторге, всё работает прекрасно.",
    ),
    "sadness": (
        "I am disappointed and sad, I expected much more.",
        "It is a pity, I feel let down and helpless.",
        "Jestem rozczarowany i jest mi przykro, spodziewałam się więcej.",
        "Szkoda, czuję się zawiedziony i bezradny.",
        "Я разочарован и расстроен, ожидал большего.",
        "Очень жаль, чувствую себя беспомощной и обманутой в ожиданиях.",
    ),
    "fear": (
        "I am worried that my data was stolen and I am afraid of losing money.",
        "I am scared, what will happen to my account?",
        "Boję się, że ktoś ukradł moje dane i stracę pieniądze.",
        "Martwię się, co będzie z moim kontem, jestem przerażona.",
        "Я боюсь, что мои данные украли и я потеряю деньги.",
        "Я волнуюсь, что будет с моим счётом, мне страшно.",
    ),
    "surprise": (
        "I was surprised, I did not expect that at all.",
        "Wow, how is that even possible? Unexpected.",
        "Jestem zaskoczony, zupełnie się tego nie spodziewałem.",
        "Nie do wiary, jak to w ogóle możliwe?",
        "Я удивлён, совсем этого не ожидал.",
        "Неожиданно! Как такое вообще возможно?",
    ),
    "trust": (
        "I trust you, you are reliable and I will stay with you.",
        "Professional and competent staff, I can count on them.",
        "Ufam Wam, jesteście solidni i zostaję z Wami.",
        "Profesjonalna i kompetentna obsługa, można na nich polegać.",
        "Я вам доверяю, вы надёжная компания, остаюсь с вами.",
        "Профессиональный и компетентный персонал, на них можно положиться.",
    ),
    "neutral": (
        "I would like to ask about the opening hours.",
        "Please send me the invoice for last month.",
        "Chciałbym zapytać o godziny otwarcia.",
        "Proszę o przesłanie faktury za zeszły miesiąc.",
        "Хочу узнать часы работы.",
        "Пришлите, пожалуйста, счёт за прошлый месяц.",
    ),
}
# How much closer than to the neutral prototypes a neutral text must be to get an emotion.
NEUTRAL_MARGIN = 0.08


@dataclass(frozen=True)
class Emotion:
    label: str
    score: float  # cosine similarity to the emotion's prototypes


@cache
def _prototype_matrix() -> tuple[tuple[str, ...], np.ndarray]:
    names = tuple(PROTOTYPES)
    vectors = []
    for name in names:
        v = encoder("use").encode(list(PROTOTYPES[name])).mean(axis=0)
        vectors.append(v / np.linalg.norm(v))
    return names, np.vstack(vectors)


def read_emotions(use_vectors: np.ndarray, sentiments: list[str]) -> list[Emotion]:
    """The emotion of each text from its USE vector and its sentiment label."""
    if len(use_vectors) == 0:
        return []
    names, protos = _prototype_matrix()
    sims = use_vectors @ protos.T
    index = {n: i for i, n in enumerate(names)}
    out = []
    for row, sentiment in zip(sims, sentiments, strict=True):
        if sentiment == "negative":
            family: tuple[str, ...] = NEGATIVE_FAMILY
        elif sentiment == "positive":
            family = POSITIVE_FAMILY
        elif sentiment == "mixed":
            family = tuple(e for e in EMOTIONS if e != "neutral")
        else:
            best = max((e for e in EMOTIONS if e != "neutral"), key=lambda e: row[index[e]])
            if row[index[best]] - row[index["neutral"]] >= NEUTRAL_MARGIN:
                out.append(Emotion(best, round(float(row[index[best]]), 4)))
            else:
                out.append(Emotion("neutral", round(float(row[index["neutral"]]), 4)))
            continue
        best = max(family, key=lambda e: row[index[e]])
        out.append(Emotion(best, round(float(row[index[best]]), 4)))
    return out

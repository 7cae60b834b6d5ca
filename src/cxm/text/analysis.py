"""The analysis of a batch of free texts, without storage: checks, language, personal data,
vectors, sentiment and emotion. Enrichment (``cxm.text.enrich``) stores what this returns; the
API's ``POST /api/text/analyse`` returns it directly.

Bad texts never stop a batch: an empty, binary or letterless text gets a ``flag`` saying why
it was not (fully) analysed, and the others go on.

>>> [a.sentiment.label for a in analyse_texts(["Świetna obsługa!", "Нет интернета третий день"])]
... # doctest: +SKIP
['positive', 'negative']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxm.text.emotion import Emotion, read_emotions
from cxm.text.encoders import MAX_CHARS, encode_batched, encoder
from cxm.text.language import UNDETERMINED, detect_languages
from cxm.text.redaction import find_pii
from cxm.text.sentiment import Sentiment, SentimentModel

FLAGS = ("empty", "binary", "no_letters", "truncated")
# Personal data is looked for in this much of a text (a 1 MB paste is scanned at its start).
PII_SCAN_CHARS = 200_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class TextAnalysis:
    text_hash: str
    chars: int
    language: str
    language_confidence: float
    pii: tuple[str, ...]
    flag: str | None
    sentiment: Sentiment | None
    emotion: Emotion | None
    vector: np.ndarray | None  # the USE vector (topics and search read it)

    def readings(self) -> dict[str, Any]:
        """The analysis as flat fields (the columns of ``text_items``, the API's body)."""
        s, e = self.sentiment, self.emotion
        return {
            "chars": self.chars,
            "language": self.language,
            "language_confidence": self.language_confidence,
            "sentiment": s.label if s else None,
            "sentiment_score": s.score if s else None,
            "sentiment_confidence": s.confidence if s else None,
            "sentiment_model": s.model if s else None,
            "emotion": e.label if e else None,
            "emotion_score": e.score if e else None,
            "flag": self.flag,
        }

    @classmethod
    def from_readings(
        cls, text_hash: str, pii: tuple[str, ...], vector: np.ndarray | None, r: Any
    ) -> TextAnalysis:
        """The analysis back from its ``readings()`` (a stored ``text_items`` row)."""
        sentiment = None
        if r.sentiment is not None:
            sentiment = Sentiment(
                r.sentiment, r.sentiment_score, r.sentiment_confidence, r.sentiment_model
            )
        return cls(
            text_hash=text_hash,
            chars=r.chars,
            language=r.language,
            language_confidence=r.language_confidence,
            pii=pii,
            flag=r.flag,
            sentiment=sentiment,
            emotion=Emotion(r.emotion, r.emotion_score) if r.emotion is not None else None,
            vector=vector,
        )


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def check_text(text: str) -> str | None:
    """Why ``text`` cannot be analysed (a flag), or None."""
    if not text.strip():
        return "empty"
    sample = text[:10_000]
    if "\x00" in sample or "\ufffd" * 3 in sample:
        return "binary"
    if len(_CONTROL.findall(sample)) > max(2, len(sample) // 100):
        return "binary"
    return None


def analyse_texts(
    texts: list[str],
    *,
    model: SentimentModel,
    known_vectors: Callable[[list[str]], dict[str, np.ndarray]] | None = None,
    known: Callable[[list[str]], dict[str, TextAnalysis]] | None = None,
) -> list[TextAnalysis]:
    """Analyse ``texts``; ``known_vectors(hashes)`` returns cached USE vectors by hash, and
    ``known(hashes)`` analyses already made by this same model (enrichment reads them back from
    storage).

    A text is analysed once however often it repeats (an analysis depends on the text alone):
    short answers such as "Dziękuję" or "OK" come again and again, and the e5 stage costs
    ~20 ms a text.
    """
    hashes = [text_hash(t) for t in texts]
    first: dict[str, int] = {}
    for i, h in enumerate(hashes):
        first.setdefault(h, i)
    done = known(list(first)) if known and first else {}
    todo = [h for h in first if h not in done]
    if len(todo) == len(texts):
        return _analyse_unique(texts, hashes, model, known_vectors)
    fresh = (
        _analyse_unique([texts[first[h]] for h in todo], todo, model, known_vectors) if todo else []
    )
    done = {**done, **dict(zip(todo, fresh, strict=True))}
    return [done[h] for h in hashes]


def _analyse_unique(
    texts: list[str],
    hashes: list[str],
    model: SentimentModel,
    known_vectors: Callable[[list[str]], dict[str, np.ndarray]] | None,
) -> list[TextAnalysis]:
    flags: list[str | None] = [check_text(t) for t in texts]
    live = [i for i, f in enumerate(flags) if f is None]
    for i in live:
        if not _LETTER.search(texts[i][:MAX_CHARS]):
            flags[i] = "no_letters"
        elif len(texts[i]) > MAX_CHARS:
            flags[i] = "truncated"
    cut = [texts[i][:MAX_CHARS] for i in live]
    languages = detect_languages(cut)
    cached = known_vectors([hashes[i] for i in live]) if known_vectors and live else {}
    vectors = np.zeros((len(live), encoder("use").dim), dtype=np.float32)
    missing = [j for j, i in enumerate(live) if hashes[i] not in cached]
    for j, i in enumerate(live):
        if hashes[i] in cached:
            vectors[j] = cached[hashes[i]]
    if missing:
        fresh = encode_batched(encoder("use"), [cut[j] for j in missing])
        for k, j in enumerate(missing):
            vectors[j] = fresh[k]
    sentiments = model.predict(cut, vectors, [lang.code for lang in languages])
    emotions = read_emotions(vectors, [s.label for s in sentiments])
    out: list[TextAnalysis] = []
    by_live = {i: j for j, i in enumerate(live)}
    for i, text in enumerate(texts):
        pii = tuple(sorted({s.kind for s in find_pii(text[:PII_SCAN_CHARS])})) if text else ()
        at = by_live.get(i)
        if at is None:
            out.append(
                TextAnalysis(
                    hashes[i], len(text), UNDETERMINED, 0.0, pii, flags[i], None, None, None
                )
            )
            continue
        out.append(
            TextAnalysis(
                text_hash=hashes[i],
                chars=len(text),
                language=languages[at].code,
                language_confidence=languages[at].confidence,
                pii=pii,
                flag=flags[i],
                sentiment=sentiments[at],
                emotion=emotions[at],
                vector=vectors[at],
            )
        )
    return out

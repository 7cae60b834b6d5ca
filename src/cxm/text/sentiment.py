"""Sentiment: negative / neutral / positive (and ``mixed`` where the training data has it), with
a calibrated score.

Three base models read three views of a text, and a small stacked model combines them:

- **n-grams**: character 2–5-grams, hashed TF-IDF (``cxm.text.ngrams``); thousands of texts a
  second; strong where the words are the training data's words;
- **USE**: the Universal Sentence Encoder vector every text gets anyway (topics and search use
  it); ~500 short texts a second on one core;
- **e5**: multilingual-e5-small; the most accurate view and ~10x slower than USE.

The default model is a *cascade*: the n-gram and USE views are combined first (the *fast*
stage); a text whose fast probability does not exceed ``threshold`` is encoded with e5 and
decided by the *full* stage, which combines all three. So most texts cost one fast encoding and
the hard ones get the better model. ``model="use"`` runs the fast stage only, ``model="e5"`` the
full stage for every text (``CXM_TEXT_MODEL``).

Each stage's combiner is trained on out-of-fold probabilities of the base models and calibrated
(``cxm.text.heads``), so a confidence of 0.8 means right about 80% of the time. The score is
``P(positive) − P(negative)`` in [−1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cxm.errors import InvalidInput
from cxm.text.encoders import encode_batched, encoder
from cxm.text.heads import LinearHead
from cxm.text.ngrams import NgramHead, ngram_counts

ModelChoice = Literal["cascade", "use", "e5"]
MODEL_CHOICES: tuple[str, ...] = ("cascade", "use", "e5")
SHIPPED = Path(__file__).parent / "models"
LABELS = ("negative", "neutral", "positive", "mixed")
FILES = {
    "ngrams": "sentiment-ngrams.npz",
    "use": "sentiment-use.npz",
    "e5": "sentiment-e5.npz",
    "fast": "sentiment-fast.npz",
    "full": "sentiment-full.npz",
}


@dataclass(frozen=True)
class Sentiment:
    label: str
    score: float  # P(positive) - P(negative)
    confidence: float  # the probability of the label
    model: str  # which stage decided: "fast" or "full"


def stack_features(probabilities: list[np.ndarray]) -> np.ndarray:
    """What a combiner reads: the base models' log-probabilities side by side."""
    return np.hstack([np.log(np.clip(p, 1e-6, 1.0)) for p in probabilities])


@dataclass
class SentimentModel:
    ngrams: NgramHead
    use: LinearHead
    e5: LinearHead
    fast: LinearHead  # combines n-grams + USE
    full: LinearHead  # combines n-grams + USE + e5
    choice: str = "cascade"
    threshold: float = 0.6

    @property
    def version(self) -> str:
        """Names the trained models, so stored scores say which model gave them."""
        trained = self.full.metrics.get("version", "unversioned")
        if self.choice == "cascade":
            return f"cascade@{self.threshold:g}:{trained}"
        return f"{'fast' if self.choice == 'use' else 'full'}:{trained}"

    @property
    def classes(self) -> tuple[str, ...]:
        return self.full.classes

    def fast_probabilities(self, texts: list[str], use_vectors: np.ndarray) -> np.ndarray:
        views = [
            self.ngrams.predict_proba(ngram_counts(texts)),
            self.use.predict_proba(use_vectors),
        ]
        return self.fast.predict_proba(stack_features(views))

    def full_probabilities(
        self, texts: list[str], use_vectors: np.ndarray, e5_vectors: np.ndarray
    ) -> np.ndarray:
        views = [
            self.ngrams.predict_proba(ngram_counts(texts)),
            self.use.predict_proba(use_vectors),
            self.e5.predict_proba(e5_vectors),
        ]
        return self.full.predict_proba(stack_features(views))

    def predict(self, texts: list[str], use_vectors: np.ndarray | None = None) -> list[Sentiment]:
        """Sentiment of each text; ``use_vectors`` (already computed) saves encoding twice."""
        if not texts:
            return []
        if use_vectors is None:
            use_vectors = encode_batched(encoder("use"), texts)
        out: list[Sentiment | None] = [None] * len(texts)
        if self.choice != "e5":
            probs = self.fast_probabilities(texts, use_vectors)
            for i, p in enumerate(probs):
                if self.choice == "use" or p.max() > self.threshold:
                    out[i] = _reading(self.fast.classes, p, "fast")
        hard = [i for i, r in enumerate(out) if r is None]
        if hard:
            hard_texts = [texts[i] for i in hard]
            e5 = encode_batched(encoder("e5"), hard_texts, batch=32)
            probs = self.full_probabilities(hard_texts, use_vectors[hard], e5)
            for i, p in zip(hard, probs, strict=True):
                out[i] = _reading(self.full.classes, p, "full")
        return [r for r in out if r is not None]

    def save(self, directory: Path) -> list[Path]:
        paths = []
        for key, filename in FILES.items():
            path = directory / filename
            part: Any = getattr(self, key)
            part.save(path)
            paths.append(path)
        return paths


def _reading(classes: tuple[str, ...], p: np.ndarray, model: str) -> Sentiment:
    by = dict(zip(classes, p.tolist(), strict=True))
    best = int(np.argmax(p))
    return Sentiment(
        label=classes[best],
        score=round(by.get("positive", 0.0) - by.get("negative", 0.0), 4),
        confidence=round(float(p[best]), 4),
        model=model,
    )


def load_model(
    directory: Path, *, choice: str = "cascade", threshold: float = 0.6
) -> SentimentModel:
    parts: dict[str, Any] = {}
    for key, filename in FILES.items():
        path = directory / filename
        parts[key] = NgramHead.load(path) if key == "ngrams" else LinearHead.load(path)
    return SentimentModel(**parts, choice=choice, threshold=threshold)


def sentiment_model(
    choice: str = "cascade", threshold: float = 0.6, models_dir: Path | None = None
) -> SentimentModel:
    """The sentiment model: one trained in the workspace (``models_dir``, written by
    ``cxm text train``) wins over the one shipped with cxm. Loaded once per process, and again
    when the workspace's model is retrained."""
    if choice not in MODEL_CHOICES:
        raise InvalidInput(
            f"unknown sentiment model {choice!r}; choose from {', '.join(MODEL_CHOICES)}"
        )
    local = models_dir / FILES["full"] if models_dir is not None else None
    if local is not None and local.exists():
        return _loaded(local.parent, local.stat().st_mtime_ns, choice, threshold)
    return _loaded(SHIPPED, 0, choice, threshold)


@cache
def _loaded(directory: Path, version: int, choice: str, threshold: float) -> SentimentModel:
    return load_model(directory, choice=choice, threshold=threshold)

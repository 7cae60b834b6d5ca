"""Sentiment: negative / neutral / positive (and ``mixed`` where the training data has it), with
a calibrated score.

The default model is a cascade of two heads (see ``cxm.text.heads``):

1. the *fast* head reads the Universal Sentence Encoder vector every text gets anyway (topics
   and search use it too);
2. texts the fast head is unsure about (its top probability below ``threshold``) are encoded
   again with multilingual-e5 and decided by the *accurate* head, which reads both vectors.

So most texts cost one fast encoding, and the hard ones get the better model. ``model="use"``
or ``model="e5"`` runs one head only (the setting ``CXM_TEXT_MODEL``).

The score is ``P(positive) − P(negative)`` in [−1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np

from cxm.errors import InvalidInput
from cxm.text.encoders import encode_batched, encoder
from cxm.text.heads import LinearHead

ModelChoice = Literal["cascade", "use", "e5"]
MODEL_CHOICES: tuple[str, ...] = ("cascade", "use", "e5")
SHIPPED = Path(__file__).parent / "models"
LABELS = ("negative", "neutral", "positive", "mixed")


@dataclass(frozen=True)
class Sentiment:
    label: str
    score: float  # P(positive) - P(negative)
    confidence: float  # the probability of the label
    model: str  # which head decided: "use" or "e5"


@dataclass
class SentimentModel:
    fast: LinearHead
    accurate: LinearHead
    choice: str = "cascade"
    threshold: float = 0.8

    @property
    def version(self) -> str:
        """Names the heads, so stored scores say which model gave them."""
        fast = self.fast.metrics.get("version", "unversioned")
        accurate = self.accurate.metrics.get("version", "unversioned")
        if self.choice == "use":
            return f"use:{fast}"
        if self.choice == "e5":
            return f"e5:{accurate}"
        return f"cascade@{self.threshold:g}:{fast}+{accurate}"

    def predict(self, texts: list[str], use_vectors: np.ndarray | None = None) -> list[Sentiment]:
        """Sentiment of each text; ``use_vectors`` (already computed) saves encoding twice."""
        if not texts:
            return []
        if use_vectors is None:
            use_vectors = encode_batched(encoder("use"), texts)
        out: list[Sentiment | None] = [None] * len(texts)
        if self.choice != "e5":
            probs = self.fast.predict_proba(use_vectors)
            for i, p in enumerate(probs):
                if self.choice == "use" or p.max() >= self.threshold:
                    out[i] = _reading(self.fast.classes, p, "use")
        hard = [i for i, r in enumerate(out) if r is None]
        if hard:
            e5 = encode_batched(encoder("e5"), [texts[i] for i in hard], batch=32)
            features = _features(self.accurate, e5, use_vectors[hard])
            for i, p in zip(hard, self.accurate.predict_proba(features), strict=True):
                out[i] = _reading(self.accurate.classes, p, "e5")
        return [r for r in out if r is not None]


def _features(head: LinearHead, e5: np.ndarray, use: np.ndarray) -> np.ndarray:
    parts = {"e5": e5, "use": use}
    return np.hstack([parts[name] for name in head.encoders])


def _reading(classes: tuple[str, ...], p: np.ndarray, model: str) -> Sentiment:
    by = dict(zip(classes, p.tolist(), strict=True))
    best = int(np.argmax(p))
    return Sentiment(
        label=classes[best],
        score=round(by.get("positive", 0.0) - by.get("negative", 0.0), 4),
        confidence=round(float(p[best]), 4),
        model=model,
    )


@cache
def sentiment_model(
    choice: str = "cascade", threshold: float = 0.8, models_dir: Path | None = None
) -> SentimentModel:
    """The sentiment model: heads trained in the workspace (``models_dir``, written by
    ``cxm text train``) win over the heads shipped with cxm."""
    if choice not in MODEL_CHOICES:
        raise InvalidInput(
            f"unknown sentiment model {choice!r}; choose from {', '.join(MODEL_CHOICES)}"
        )
    heads = {}
    for name in ("sentiment-fast", "sentiment-accurate"):
        local = models_dir / f"{name}.npz" if models_dir else None
        heads[name] = LinearHead.load(
            local if local and local.exists() else SHIPPED / f"{name}.npz"
        )
    return SentimentModel(
        fast=heads["sentiment-fast"],
        accurate=heads["sentiment-accurate"],
        choice=choice,
        threshold=threshold,
    )

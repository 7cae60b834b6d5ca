"""Sentiment: negative / neutral / positive (and ``mixed`` where the training data has it), with
a calibrated score.

Three base models read three views of a text, and a small stacked model combines them:

- **n-grams**: character 2–5-grams, hashed TF-IDF (``cxm.text.ngrams``); thousands of texts a
  second; strong where the words are the training data's words;
- **USE**: the Universal Sentence Encoder vector every text gets anyway (topics and search use
  it); ~500 short texts a second on one core;
- **e5**: multilingual-e5-small; the most accurate view and ~10x slower than USE.

The n-gram and USE views combined are the *fast* stage; all three combined are the *full*
stage. A model may also carry e5 fine-tuned for sentiment (``cxm.text.tuning``: adapters and a
head of its own, trained with ``cxm text train --tune``; the shipped model has none); its
probabilities are then averaged with the full stage's, and that average is the full stage's
answer. The default (``model="e5"``) decides every text by the full stage. ``model="cascade"``
decides a text by the fast stage when its probability exceeds ``threshold`` and sends only the
rest to e5; ``model="use"`` runs the fast stage alone (``CXM_TEXT_MODEL``). With e5 on
OpenVINO (``cxm.text.e5``) the full stage runs at ~290 short texts a second on two cores, so
the cascade is a trade of accuracy for speed that few workspaces need.

Each stage's combiner is trained on out-of-fold probabilities of the base models and calibrated
(``cxm.text.heads``), so a confidence of 0.8 means right about 80% of the time. Each language
the training data had enough texts of gets combiners of its own (how far to trust the n-grams
differs between Polish and English); other languages use the combiners of all of them. The
score is ``P(positive) − P(negative)`` in [−1, 1].
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cxm.errors import InvalidInput
from cxm.text.e5 import FEATURE_DIM as E5_FEATURES
from cxm.text.encoders import encode_batched, encoder
from cxm.text.heads import LinearHead
from cxm.text.ngrams import NgramHead, ngram_counts
from cxm.text.tuning import FILE as TUNED_FILE
from cxm.text.tuning import TunedE5

log = logging.getLogger(__name__)
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
    choice: str = "e5"
    threshold: float = 0.6
    # Combiners of one language ("pl": (fast, full)); a text in another language uses the
    # combiners above.
    by_language: dict[str, tuple[LinearHead, LinearHead]] = field(default_factory=dict)
    # e5 fine-tuned for sentiment; when present, the full stage averages its probabilities
    # with the combiner's.
    tuned: TunedE5 | None = None

    @property
    def version(self) -> str:
        """Names the trained models, so stored scores say which model gave them."""
        trained = self.full.metrics.get("version", "unversioned")
        if self.tuned is not None and self.choice != "use":
            trained += "+tuned"
        if self.choice == "cascade":
            return f"cascade@{self.threshold:g}:{trained}"
        return f"{'fast' if self.choice == 'use' else 'full'}:{trained}"

    @property
    def classes(self) -> tuple[str, ...]:
        return self.full.classes

    def fast_probabilities(
        self, texts: list[str], use_vectors: np.ndarray, languages: list[str] | None = None
    ) -> np.ndarray:
        views = [
            self.ngrams.predict_proba(ngram_counts(texts)),
            self.use.predict_proba(use_vectors),
        ]
        return self._combined(stack_features(views), languages, stage=0)

    def full_probabilities(
        self,
        texts: list[str],
        use_vectors: np.ndarray,
        e5_vectors: np.ndarray,
        languages: list[str] | None = None,
    ) -> np.ndarray:
        """The full stage: the combiner's probabilities, averaged with the tuned e5's where
        the model has one."""
        views = [
            self.ngrams.predict_proba(ngram_counts(texts)),
            self.use.predict_proba(use_vectors),
            self.e5.predict_proba(e5_vectors),
        ]
        out = self._combined(stack_features(views), languages, stage=1)
        if self.tuned is None:
            return out
        tuned = aligned(self.tuned.classes, self.classes, self.tuned.probabilities(texts))
        return (out + tuned) / 2

    def _combined(self, x: np.ndarray, languages: list[str] | None, stage: int) -> np.ndarray:
        """Each text through its language's combiner of ``stage`` (0 fast, 1 full), or the
        combiner of all languages; columns in the order of ``classes``."""
        shared = (self.fast, self.full)[stage]
        out = shared.predict_proba(x)
        if not languages or not self.by_language:
            return out
        langs = np.asarray(languages)
        for lang, heads in self.by_language.items():
            rows = np.flatnonzero(langs == lang)
            if len(rows):
                head = heads[stage]
                out[rows] = aligned(head.classes, shared.classes, head.predict_proba(x[rows]))
        return out

    def predict(
        self,
        texts: list[str],
        use_vectors: np.ndarray | None = None,
        languages: list[str] | None = None,
    ) -> list[Sentiment]:
        """Sentiment of each text; ``use_vectors`` (already computed) saves encoding twice, and
        ``languages`` (ISO codes, one per text) picks each language's combiners."""
        if not texts:
            return []
        if use_vectors is None:
            use_vectors = encode_batched(encoder("use"), texts)
        out: list[Sentiment | None] = [None] * len(texts)
        if self.choice != "e5":
            probs = self.fast_probabilities(texts, use_vectors, languages)
            for i, p in enumerate(probs):
                if self.choice == "use" or p.max() > self.threshold:
                    out[i] = _reading(self.classes, p, "fast")
        hard = [i for i, r in enumerate(out) if r is None]
        if hard:
            hard_texts = [texts[i] for i in hard]
            e5 = encode_batched(encoder("e5"), hard_texts)
            hard_langs = [languages[i] for i in hard] if languages else None
            probs = self.full_probabilities(hard_texts, use_vectors[hard], e5, hard_langs)
            for i, p in zip(hard, probs, strict=True):
                out[i] = _reading(self.classes, p, "full")
        return [r for r in out if r is not None]

    def save(self, directory: Path) -> list[Path]:
        paths = []
        for key, filename in FILES.items():
            path = directory / filename
            part: Any = getattr(self, key)
            part.save(path)
            paths.append(path)
        for old in directory.glob("sentiment-f*.*.npz"):  # a retrained model's languages
            old.unlink()
        for lang, heads in sorted(self.by_language.items()):
            for key, head in zip(("fast", "full"), heads, strict=True):
                path = directory / _language_file(key, lang)
                head.save(path)
                paths.append(path)
        tuned = directory / TUNED_FILE
        if self.tuned is not None:
            self.tuned.save(tuned)
            paths.append(tuned)
        elif tuned.exists():  # retrained without fine-tuning: an old tuned e5 does not belong
            tuned.unlink()
        return paths


def _language_file(stage: str, language: str) -> str:
    return FILES[stage].replace(".npz", f".{language}.npz")


def aligned(have: tuple[str, ...], want: tuple[str, ...], p: np.ndarray) -> np.ndarray:
    """Probabilities with columns in the order of ``want``; a label ``have`` lacks (a language,
    or a training fold, without "mixed") gets a floor of 1e-6."""
    if have == want:
        return p
    out = np.full((p.shape[0], len(want)), 1e-6)
    for j, label in enumerate(have):
        out[:, want.index(label)] = p[:, j]
    return out / out.sum(axis=1, keepdims=True)


def _reading(classes: tuple[str, ...], p: np.ndarray, model: str) -> Sentiment:
    by = dict(zip(classes, p.tolist(), strict=True))
    best = int(np.argmax(p))
    return Sentiment(
        label=classes[best],
        score=round(by.get("positive", 0.0) - by.get("negative", 0.0), 4),
        confidence=round(float(p[best]), 4),
        model=model,
    )


def load_model(directory: Path, *, choice: str = "e5", threshold: float = 0.6) -> SentimentModel:
    parts: dict[str, Any] = {}
    for key, filename in FILES.items():
        path = directory / filename
        parts[key] = NgramHead.load(path) if key == "ngrams" else LinearHead.load(path)
    by_language = {}
    for path in sorted(directory.glob(_language_file("fast", "*"))):
        lang = path.name.split(".")[-2]
        full = directory / _language_file("full", lang)
        if full.exists():
            by_language[lang] = (LinearHead.load(path), LinearHead.load(full))
    tuned = TunedE5.load(directory / TUNED_FILE) if (directory / TUNED_FILE).exists() else None
    return SentimentModel(
        **parts, choice=choice, threshold=threshold, by_language=by_language, tuned=tuned
    )


def sentiment_model(
    choice: str = "e5", threshold: float = 0.6, models_dir: Path | None = None
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
        tuned = local.parent / TUNED_FILE
        version = max(local.stat().st_mtime_ns, tuned.stat().st_mtime_ns if tuned.exists() else 0)
        if _reads_current_e5(local.parent, version):
            return _loaded(local.parent, version, choice, threshold)
    return _loaded(SHIPPED, 0, choice, threshold)


@cache
def _reads_current_e5(directory: Path, version: int) -> bool:
    """Whether the model in ``directory`` reads e5's current features. One trained before e5's
    middle layers were read (384 numbers) gives way to the shipped model until
    `cxm text train` is run again; said once per model file, not at every enrichment run."""
    dim = LinearHead.load(directory / FILES["e5"]).dim
    if dim != E5_FEATURES:
        log.warning(
            "the workspace's sentiment model in %s reads %d-d e5 features, e5 now gives %d; "
            "using the shipped model until `cxm text train` retrains it",
            directory, dim, E5_FEATURES,
        )  # fmt: skip
    return dim == E5_FEATURES


@cache
def _loaded(directory: Path, version: int, choice: str, threshold: float) -> SentimentModel:
    return load_model(directory, choice=choice, threshold=threshold)

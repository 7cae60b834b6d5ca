"""Character n-grams: the fastest sentiment signal, and a strong one where training and texts
share a domain (the words customers use for "invoice" or "outage" in any inflection).

Texts become hashed TF-IDF vectors of their character 2- to 5-grams (within word boundaries):
no vocabulary to store, any language, misspellings and inflections share most of their
n-grams. A linear head (``cxm.text.heads``) reads them; the idf weights are fitted with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxm.text.heads import LinearHead, fit_head, save_npz, softmax

N_FEATURES = 2**18
NGRAMS = (2, 5)


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, n_features=N_FEATURES,
        alternate_sign=False, norm=None, lowercase=True, dtype=np.float32,
    )  # fmt: skip


def ngram_counts(texts: list[str]) -> Any:
    """Sparse n-gram counts (rows: texts) for :meth:`NgramHead.predict_proba`."""
    return _vectorizer().transform([t[:5000] for t in texts])


@dataclass
class NgramHead:
    idf: np.ndarray  # (N_FEATURES,)
    head: LinearHead
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.head.classes

    def features(self, counts: Any) -> Any:
        from sklearn.preprocessing import normalize

        x = counts.copy()
        x.data = 1 + np.log(x.data)  # sublinear term frequency
        x = x.multiply(self.idf).tocsr()
        return normalize(x)

    def predict_proba(self, counts: Any) -> np.ndarray:
        x = self.features(counts)
        logits = np.asarray(x @ self.head.weights) + self.head.bias
        return softmax(logits / self.head.temperature)

    def save(self, path: Path) -> None:
        # Most n-gram weights are tiny: float16 keeps the file small at no cost in accuracy.
        meta = {"classes": list(self.classes), "temperature": self.head.temperature,
                "metrics": self.metrics}  # fmt: skip
        save_npz(path, meta, idf=self.idf.astype(np.float16),
                 weights=self.head.weights.astype(np.float16),
                 bias=self.head.bias.astype(np.float32))  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> NgramHead:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            head = LinearHead(
                classes=tuple(meta["classes"]), weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32), temperature=float(meta["temperature"]),
                encoders=("ngrams",),
            )  # fmt: skip
            return cls(idf=data["idf"].astype(np.float32), head=head, metrics=meta["metrics"])


def fit_ngram_head(
    texts: list[str], labels: np.ndarray, *, c: float = 10.0,
    sample_weight: np.ndarray | None = None,
) -> NgramHead:  # fmt: skip
    counts = ngram_counts(texts)
    df = np.bincount(counts.indices, minlength=N_FEATURES).astype(np.float64)
    idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
    probe = NgramHead(idf=idf, head=LinearHead((), np.zeros((N_FEATURES, 0)), np.zeros(0)))
    x = probe.features(counts)
    head = fit_head(x, labels, encoders=("ngrams",), c=c, sample_weight=sample_weight)
    return NgramHead(idf=idf, head=head)

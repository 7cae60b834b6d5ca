"""Linear classifiers over sentence vectors ("heads"): trained by cxm, stored as small ``.npz``
files with their measured metrics, applied with numpy alone.

A head is multinomial logistic regression with a temperature fitted on held-out data, so its
probabilities are calibrated (a 0.8 means right about 80% of the time), which is what lets the
sentiment cascade trust a confident answer and lets the pages show a score, not just a label.

>>> head = fit_head(X, y)                       # doctest: +SKIP
>>> head.predict_proba(X[:2]).round(2)          # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxm.errors import InvalidInput


@dataclass
class LinearHead:
    classes: tuple[str, ...]
    weights: np.ndarray  # (dim, classes)
    bias: np.ndarray  # (classes,)
    temperature: float = 1.0
    encoders: tuple[str, ...] = ("use",)  # the features: these encoders' vectors, side by side
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def logits(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != self.dim:
            raise InvalidInput(
                f"this head expects {self.dim}-d vectors from {'+'.join(self.encoders)}, "
                f"got {x.shape[1]}-d"
            )
        return (x @ self.weights + self.bias) / self.temperature

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.logits(x))

    def save(self, path: Path) -> None:
        meta = {"classes": list(self.classes), "temperature": self.temperature,
                "encoders": list(self.encoders), "metrics": self.metrics}  # fmt: skip
        save_npz(path, meta, weights=self.weights.astype(np.float32),
                 bias=self.bias.astype(np.float32))  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                classes=tuple(meta["classes"]),
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                temperature=float(meta["temperature"]),
                encoders=tuple(meta["encoders"]),
                metrics=meta.get("metrics", {}),
            )


def save_npz(path: Path, meta: dict[str, Any], **arrays: np.ndarray) -> None:
    """Arrays and JSON metadata in one compressed ``.npz``, written atomically (a reader never
    sees half a model)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_head(
    x: np.ndarray,
    y: list[str] | np.ndarray,
    *,
    encoders: tuple[str, ...] = ("use",),
    c: float = 1.0,
    sample_weight: np.ndarray | None = None,
    calibration_share: float = 0.15,
    seed: int = 7,
) -> LinearHead:
    """Fit a head on vectors ``x`` and labels ``y``; the temperature is fitted on a held-out
    ``calibration_share`` and the weights are then refitted on everything."""
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(y).astype(str)
    classes = sorted(set(labels.tolist()))
    if len(classes) < 2:
        raise InvalidInput(f"a classifier needs at least two labels; got only {classes}")
    if len(labels) != x.shape[0]:
        raise InvalidInput(f"{x.shape[0]} vectors but {len(labels)} labels")
    rng = np.random.default_rng(seed)
    held = rng.random(len(labels)) < calibration_share
    weights = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight)

    def fit(mask: np.ndarray) -> Any:
        model = LogisticRegression(C=c, max_iter=500)
        model.fit(x[mask], labels[mask], sample_weight=weights[mask])
        return model

    temperature = 1.0
    if (
        calibration_share > 0
        and held.sum() >= 20
        and len(set(labels[~held].tolist())) == len(classes)
    ):
        probe = fit(~held)
        z = probe.decision_function(x[held])
        if z.ndim == 1:  # binary: sklearn gives one logit; make it two
            z = np.stack([-z / 2, z / 2], axis=1)
        truth = np.searchsorted(np.asarray(probe.classes_), labels[held])
        temperature = fit_temperature(z, truth)
    model = fit(np.ones(len(labels), dtype=bool))
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return LinearHead(
        classes=tuple(str(c) for c in model.classes_),
        weights=coef.T.astype(np.float32),
        bias=intercept.astype(np.float32),
        temperature=temperature,
        encoders=encoders,
    )


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood (a 1-d golden-section
    search; the loss is convex in log T)."""

    def nll(log_t: float) -> float:
        p = softmax(logits / np.exp(log_t))
        return float(-np.log(np.clip(p[np.arange(len(truth)), truth], 1e-12, 1)).mean())

    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    for _ in range(60):
        if nll(a) < nll(b):
            hi = b
        else:
            lo = a
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    return float(np.exp((lo + hi) / 2))

"""Training the sentiment heads from labelled texts, and measuring them.

``cxm text train FILE`` (a CSV with text and label columns, in any of the languages) trains
both heads of the cascade on the workspace's own labelled data and stores them, with their
cross-validated metrics, under ``models/`` in the workspace, where they replace the heads
shipped with cxm. The benchmark (``bench/text.py``) trains the shipped heads the same way.

Labels are normalised to ``negative``, ``neutral``, ``positive`` and ``mixed``; common spellings
(``neg``, ``-1``, ``0``, ``1``, ``pos``, ``ambivalent`` …) are accepted.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from cxm.errors import ErrorDetail, InvalidInput
from cxm.text.encoders import encode_batched, encoder
from cxm.text.heads import LinearHead, fit_head

LABEL_ALIASES = {
    "negative": "negative", "neg": "negative", "-1": "negative", "minus": "negative",
    "neutral": "neutral", "neu": "neutral", "0": "neutral", "zero": "neutral",
    "positive": "positive", "pos": "positive", "1": "positive", "plus": "positive",
    "+1": "positive", "mixed": "mixed", "amb": "mixed", "ambivalent": "mixed",
}  # fmt: skip
MIN_PER_LABEL = 20
# The accurate head needs e5 vectors, which cost ~20 ms a text on two cores: it learns from a
# sample this large per language at most.
ACCURATE_SAMPLE = 4000


@dataclass
class LabelledTexts:
    texts: list[str]
    labels: list[str]
    languages: list[str] = field(default_factory=list)
    rejected: list[ErrorDetail] = field(default_factory=list)


def normalise_label(raw: str) -> str | None:
    return LABEL_ALIASES.get(raw.strip().lower())


def read_labelled_csv(
    data: bytes, *, text_column: str = "text", label_column: str = "label", filename: str = "file"
) -> LabelledTexts:
    """Rows with a text and a known label; each bad row is reported with its line, the rest
    are kept."""
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{filename} is not UTF-8 text: {exc}") from exc
    missing = {text_column, label_column} - set(reader.fieldnames or [])
    if missing:
        raise InvalidInput(
            f"{filename} has no column {', '.join(sorted(missing))}; its columns are "
            f"{', '.join(reader.fieldnames or []) or 'none'}"
        )
    out = LabelledTexts([], [])
    for line, row in enumerate(reader, start=2):
        text = (row.get(text_column) or "").strip()
        label = normalise_label(row.get(label_column) or "")
        if not text:
            out.rejected.append(ErrorDetail((filename, line, text_column), "empty text"))
        elif label is None:
            out.rejected.append(
                ErrorDetail(
                    (filename, line, label_column),
                    f"unknown label {row.get(label_column)!r}; use negative, neutral, "
                    "positive or mixed",
                )
            )
        else:
            out.texts.append(text)
            out.labels.append(label)
    return out


def check_training_labels(labels: list[str]) -> None:
    counts = Counter(labels)
    thin = {k: v for k, v in counts.items() if v < MIN_PER_LABEL}
    if len(counts) < 2 or thin:
        raise InvalidInput(
            "training needs at least two labels with at least "
            f"{MIN_PER_LABEL} texts each; got {dict(counts) or 'no texts'}"
        )


@dataclass
class TrainedHeads:
    fast: LinearHead
    accurate: LinearHead


def train_heads(
    texts: list[str],
    labels: list[str],
    *,
    languages: list[str] | None = None,
    use_vectors: np.ndarray | None = None,
    e5_vectors: dict[int, np.ndarray] | None = None,
    version: str | None = None,
    c_fast: float = 1.0,
    c_accurate: float = 1.0,
    seed: int = 7,
) -> TrainedHeads:
    """Train the fast head (USE vectors, every text) and the accurate head (e5 + USE vectors,
    a sample of ``ACCURATE_SAMPLE`` per language). Precomputed vectors may be passed in
    (``e5_vectors`` by text index) to save encoding time."""
    check_training_labels(labels)
    y = np.asarray(labels)
    if use_vectors is None:
        use_vectors = encode_batched(encoder("use"), texts)
    langs = np.asarray(languages if languages else ["*"] * len(texts))
    # Every language and label weighs the same in the loss, whatever its share of the data.
    weights = _balance(langs, y)
    fast = fit_head(use_vectors, y, encoders=("use",), c=c_fast, sample_weight=weights)
    sample = sample_per_language(langs, ACCURATE_SAMPLE, seed)
    known = e5_vectors or {}
    todo = [i for i in sample if i not in known]
    fresh = encode_batched(encoder("e5"), [texts[i] for i in todo], batch=32)
    e5 = {**known, **dict(zip(todo, fresh, strict=True))}
    features = np.hstack([np.vstack([e5[i] for i in sample]), use_vectors[sample]])
    accurate = fit_head(
        features, y[sample], encoders=("e5", "use"), c=c_accurate, sample_weight=weights[sample]
    )
    stamp = version or datetime.now(UTC).strftime("%Y%m%d%H%M")
    fast.metrics["version"] = f"fast-{stamp}"
    accurate.metrics["version"] = f"accurate-{stamp}"
    for head, n in ((fast, len(texts)), (accurate, len(sample))):
        head.metrics["trained_on"] = n
        head.metrics["labels"] = dict(Counter(y.tolist()))
    return TrainedHeads(fast=fast, accurate=accurate)


def _balance(langs: np.ndarray, y: np.ndarray) -> np.ndarray:
    w = np.ones(len(y))
    groups = Counter(zip(langs.tolist(), y.tolist(), strict=True))
    per_language = Counter(langs.tolist())
    for i, key in enumerate(zip(langs.tolist(), y.tolist(), strict=True)):
        labels_here = sum(1 for (lang, _) in groups if lang == key[0])
        w[i] = per_language[key[0]] / (labels_here * groups[key])
    return w * len(y) / w.sum()


def sample_per_language(langs: np.ndarray, cap: int, seed: int = 7) -> list[int]:
    """At most ``cap`` indexes per language, drawn with ``seed`` (the accurate head's sample)."""
    rng = np.random.default_rng(seed)
    out: list[int] = []
    for lang in sorted(set(langs.tolist())):
        idx = np.flatnonzero(langs == lang)
        if len(idx) > cap:
            idx = np.sort(rng.choice(idx, size=cap, replace=False))
        out.extend(int(i) for i in idx)
    return sorted(out)


def save_heads(heads: TrainedHeads, models_dir: Path) -> list[Path]:
    paths = [models_dir / "sentiment-fast.npz", models_dir / "sentiment-accurate.npz"]
    heads.fast.save(paths[0])
    heads.accurate.save(paths[1])
    return paths


def evaluate_heads(
    texts: list[str],
    labels: list[str],
    *,
    languages: list[str] | None = None,
    threshold: float = 0.8,
    holdout: float = 0.2,
    seed: int = 11,
) -> dict[str, float]:
    """Train on ``1 − holdout`` of the texts and measure on the rest: the fast head's and the
    cascade's accuracy and macro-F1 (stored with the heads, shown by ``cxm text models``)."""
    check_training_labels(labels)
    rng = np.random.default_rng(seed)
    test = rng.random(len(texts)) < holdout
    train_idx = np.flatnonzero(~test)
    test_idx = np.flatnonzero(test)
    if len(test_idx) < 10:
        raise InvalidInput("too few texts to measure a model: give at least 50")
    langs = languages or ["*"] * len(texts)
    use = encode_batched(encoder("use"), texts)
    heads = train_heads(
        [texts[i] for i in train_idx], [labels[i] for i in train_idx],
        languages=[langs[i] for i in train_idx], use_vectors=use[train_idx],
    )  # fmt: skip
    from cxm.text.sentiment import SentimentModel

    model = SentimentModel(heads.fast, heads.accurate, threshold=threshold)
    truth = [labels[i] for i in test_idx]
    fast_pred = [
        heads.fast.classes[int(j)] for j in heads.fast.predict_proba(use[test_idx]).argmax(axis=1)
    ]
    cascade = model.predict([texts[i] for i in test_idx], use[test_idx])
    cascade_pred = [r.label for r in cascade]
    return {
        "held_out": len(test_idx),
        "fast_accuracy": round(_accuracy(truth, fast_pred), 4),
        "fast_macro_f1": round(macro_f1(truth, fast_pred), 4),
        "cascade_accuracy": round(_accuracy(truth, cascade_pred), 4),
        "cascade_macro_f1": round(macro_f1(truth, cascade_pred), 4),
        "routed_to_e5": round(sum(r.model == "e5" for r in cascade) / len(cascade), 4),
    }


def _accuracy(truth: list[str], pred: list[str]) -> float:
    return sum(a == b for a, b in zip(truth, pred, strict=True)) / len(truth)


def macro_f1(truth: list[str], pred: list[str], labels: tuple[str, ...] | None = None) -> float:
    """The unweighted mean of each label's F1 (over ``labels``, default: those in ``truth``)."""
    scores = []
    for label in labels or tuple(sorted(set(truth))):
        tp = sum(1 for t, p in zip(truth, pred, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(truth, pred, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, pred, strict=True) if t == label and p != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores)) if scores else 0.0

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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from cxm.errors import ErrorDetail, InvalidInput
from cxm.text.encoders import encode_batched, encoder
from cxm.text.heads import fit_head
from cxm.text.ngrams import fit_ngram_head, ngram_counts
from cxm.text.sentiment import SentimentModel, aligned, stack_features
from cxm.text.tuning import TORCH_MISSING, torch_available, tune_e5

LABEL_ALIASES = {
    "negative": "negative", "neg": "negative", "-1": "negative", "minus": "negative",
    "neutral": "neutral", "neu": "neutral", "0": "neutral", "zero": "neutral",
    "positive": "positive", "pos": "positive", "1": "positive", "plus": "positive",
    "+1": "positive", "mixed": "mixed", "amb": "mixed", "ambivalent": "mixed",
}  # fmt: skip
MIN_PER_LABEL = 20
MIN_LANGUAGE_TEXTS = 300  # a language with fewer labelled texts uses the shared combiners


@dataclass
class LabelledTexts:
    texts: list[str]
    labels: list[str]
    rejected: list[ErrorDetail] = field(default_factory=list)
    sources: list[str] | None = None  # where each text came from, when a column says so


def normalise_label(raw: str) -> str | None:
    return LABEL_ALIASES.get(raw.strip().lower())


def read_labelled_csv(
    data: bytes,
    *,
    text_column: str = "text",
    label_column: str = "label",
    source_column: str | None = None,
    filename: str = "file",
) -> LabelledTexts:
    """Rows with a text and a known label; each bad row is reported with its line, the rest
    are kept. ``source_column`` (optional) names where each text came from (a channel, a
    data set): training then holds out whole sources to fit its combiners."""
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{filename} is not UTF-8 text: {exc}") from exc
    wanted = {text_column, label_column} | ({source_column} if source_column else set())
    missing = wanted - set(reader.fieldnames or [])
    if missing:
        raise InvalidInput(
            f"{filename} has no column {', '.join(sorted(missing))}; its columns are "
            f"{', '.join(reader.fieldnames or []) or 'none'}"
        )
    out = LabelledTexts([], [], sources=[] if source_column else None)
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
            if out.sources is not None and source_column:
                out.sources.append((row.get(source_column) or "").strip() or "-")
    return out


def check_training_labels(labels: list[str]) -> None:
    counts = Counter(labels)
    thin = {k: v for k, v in counts.items() if v < MIN_PER_LABEL}
    if len(counts) < 2 or thin:
        raise InvalidInput(
            "training needs at least two labels with at least "
            f"{MIN_PER_LABEL} texts each; got {dict(counts) or 'no texts'}"
        )


def train_sentiment(
    texts: list[str],
    labels: list[str],
    *,
    languages: list[str] | None = None,
    sources: list[str] | None = None,
    use_vectors: np.ndarray | None = None,
    e5_vectors: np.ndarray | None = None,
    version: str | None = None,
    folds: int = 3,
    c_ngrams: float = 10.0,
    c_use: float = 10.0,
    c_e5: float = 1.0,  # four layers of e5 (1,536 numbers) need more regularisation than one
    seed: int = 7,
    min_language_texts: int = MIN_LANGUAGE_TEXTS,
    on_stage: Callable[[str], None] | None = None,
    tune: bool = False,
    on_tuning: Callable[[int, int], None] | None = None,
) -> SentimentModel:
    """Train the three base models and the two combiners (see ``cxm.text.sentiment``).

    The combiners learn from *out-of-fold* probabilities: each base model is trained ``folds``
    times on the other folds and predicts the held-out one, so the combiners see how the base
    models do on texts they were not trained on. ``tune`` also fine-tunes e5 on the texts
    (``cxm.text.tuning``, needs PyTorch; ``on_tuning(step, steps)`` reports its progress).
    Where a language's texts come from several
    ``sources`` (data sets, channels), a fold holds out whole sources: the combiners then learn
    how far each view carries to texts unlike its training texts (n-grams learnt on film
    reviews say little about product reviews), which is what they meet in use. Each language
    with at least ``min_language_texts`` texts gets combiners of its own beside the shared
    ones. Precomputed vectors save encoding time.
    """
    check_training_labels(labels)
    if tune and not torch_available():
        raise InvalidInput(TORCH_MISSING)
    say = on_stage or (lambda _stage: None)
    y = np.asarray(labels)
    langs = np.asarray(languages if languages else ["*"] * len(texts))
    weights = _balance(langs, y)
    if use_vectors is None:
        say("Encoding (USE)")
        use_vectors = encode_batched(encoder("use"), texts)
    if e5_vectors is None:
        say("Encoding (e5)")
        e5_vectors = encode_batched(encoder("e5"), texts)
    counts = ngram_counts(texts)
    classes = tuple(sorted(set(y.tolist())))
    oof = {k: np.zeros((len(y), len(classes))) for k in ("ngrams", "use", "e5")}
    fold_of = _folds(langs, y, np.asarray(sources) if sources else None, folds, seed)
    for fold in range(folds):
        say(f"Training fold {fold + 1} of {folds}")
        train, held = fold_of != fold, fold_of == fold
        if not held.any():  # two sources and three folds: this fold holds nothing out
            continue
        texts_train = [t for t, keep in zip(texts, train, strict=True) if keep]
        ng = fit_ngram_head(texts_train, y[train], c=c_ngrams, sample_weight=weights[train])
        oof["ngrams"][held] = aligned(ng.classes, classes, ng.predict_proba(counts[held]))
        for key, x, c in (("use", use_vectors, c_use), ("e5", e5_vectors, c_e5)):
            head = fit_head(x[train], y[train], c=c, sample_weight=weights[train],
                            calibration_share=0)  # fmt: skip
            oof[key][held] = aligned(head.classes, classes, head.predict_proba(x[held]))
    say("Training the combiners")
    fast_x = stack_features([oof["ngrams"], oof["use"]])
    full_x = stack_features([oof["ngrams"], oof["use"], oof["e5"]])
    fast = fit_head(fast_x, y, encoders=("stack",), sample_weight=weights)
    full = fit_head(full_x, y, encoders=("stack",), sample_weight=weights)
    by_language = {}
    for lang, count in Counter(langs.tolist()).items():
        rows = langs == lang
        if lang == "*" or count < min_language_texts or len(set(y[rows].tolist())) < 2:
            continue
        by_language[lang] = (
            fit_head(fast_x[rows], y[rows], encoders=("stack",)),
            fit_head(full_x[rows], y[rows], encoders=("stack",)),
        )
    say("Training on everything")
    model = SentimentModel(
        ngrams=fit_ngram_head(texts, y, c=c_ngrams, sample_weight=weights),
        use=fit_head(use_vectors, y, encoders=("use",), c=c_use, sample_weight=weights),
        e5=fit_head(e5_vectors, y, encoders=("e5",), c=c_e5, sample_weight=weights),
        fast=fast,
        full=full,
        by_language=by_language,
    )
    if tune:
        say("Fine-tuning e5")
        model.tuned = tune_e5(texts, labels, seed=seed, on_progress=on_tuning)
    stamp = version or datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    model.full.metrics.update(
        version=stamp, trained_on=len(texts), labels=dict(Counter(y.tolist())),
        languages=dict(Counter(langs.tolist())),
    )  # fmt: skip
    return model


def _folds(
    langs: np.ndarray, y: np.ndarray, sources: np.ndarray | None, folds: int, seed: int
) -> np.ndarray:
    """The fold of each text: whole sources where a language has several, else a stratified
    random split within the language and label."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=int)
    for lang in sorted(set(langs.tolist())):
        in_lang = langs == lang
        names = sorted(set(sources[in_lang].tolist())) if sources is not None else []
        if len(names) >= 2:
            for k, name in enumerate(names):
                fold_of[in_lang & (sources == name)] = k % folds
            continue
        for label in sorted(set(y[in_lang].tolist())):
            idx = np.flatnonzero(in_lang & (y == label))
            fold_of[idx] = rng.permutation(len(idx)) % folds
    return fold_of


def _balance(langs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Every language weighs the same in the loss, whatever its share of the data; within a
    language, labels keep their natural shares (weighting rare labels up makes a model call
    too many texts "mixed")."""
    counts = Counter(langs.tolist())
    w = np.array([1.0 / counts[lang] for lang in langs.tolist()])
    return w * len(y) / w.sum()


def evaluate_sentiment(
    texts: list[str],
    labels: list[str],
    *,
    languages: list[str] | None = None,
    sources: list[str] | None = None,
    threshold: float = 0.6,
    holdout: float = 0.2,
    seed: int = 11,
    tune: bool = False,
    on_tuning: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """Train on ``1 − holdout`` of the texts and measure on the rest: the full stage's (the
    default model's), the fast stage's and the cascade's accuracy and macro-F1 (stored with
    the heads, shown by ``cxm text model``). With ``tune``, e5 is fine-tuned on the training
    part too, and the full stage without it is measured beside (``untuned_full_*``)."""
    check_training_labels(labels)
    rng = np.random.default_rng(seed)
    test = rng.random(len(texts)) < holdout
    train_idx = np.flatnonzero(~test)
    test_idx = np.flatnonzero(test)
    if len(test_idx) < 10:
        raise InvalidInput("too few texts to measure a model: give at least 50")
    langs = languages or ["*"] * len(texts)
    use = encode_batched(encoder("use"), texts)
    e5 = encode_batched(encoder("e5"), texts)
    model = train_sentiment(
        [texts[i] for i in train_idx], [labels[i] for i in train_idx],
        languages=[langs[i] for i in train_idx],
        sources=[sources[i] for i in train_idx] if sources else None, use_vectors=use[train_idx],
        e5_vectors=e5[train_idx], tune=tune, on_tuning=on_tuning,
    )  # fmt: skip
    model.threshold = threshold
    truth = [labels[i] for i in test_idx]
    held_texts = [texts[i] for i in test_idx]
    held_langs = [langs[i] for i in test_idx]
    fast = model.fast_probabilities(held_texts, use[test_idx], held_langs)
    fast_pred = [model.classes[int(j)] for j in fast.argmax(axis=1)]
    full = model.full_probabilities(held_texts, use[test_idx], e5[test_idx], held_langs)
    full_pred = [model.classes[int(j)] for j in full.argmax(axis=1)]
    model.choice = "cascade"
    cascade = model.predict(held_texts, use[test_idx], held_langs)
    cascade_pred = [r.label for r in cascade]
    untuned: dict[str, float] = {}
    if model.tuned is not None:
        model.tuned = None
        plain = model.full_probabilities(held_texts, use[test_idx], e5[test_idx], held_langs)
        plain_pred = [model.classes[int(j)] for j in plain.argmax(axis=1)]
        untuned = {
            "untuned_full_accuracy": round(_accuracy(truth, plain_pred), 4),
            "untuned_full_macro_f1": round(macro_f1(truth, plain_pred), 4),
        }
    return {
        **untuned,
        "held_out": len(test_idx),
        "full_accuracy": round(_accuracy(truth, full_pred), 4),
        "full_macro_f1": round(macro_f1(truth, full_pred), 4),
        "fast_accuracy": round(_accuracy(truth, fast_pred), 4),
        "fast_macro_f1": round(macro_f1(truth, fast_pred), 4),
        "cascade_accuracy": round(_accuracy(truth, cascade_pred), 4),
        "cascade_macro_f1": round(macro_f1(truth, cascade_pred), 4),
        "routed_to_e5": round(sum(r.model == "full" for r in cascade) / len(cascade), 4),
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

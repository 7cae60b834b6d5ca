"""The labelled sets ``bench/text.py`` reads, and a vector cache so each text is encoded once.

English: the VADER ground truth shipped in ``bench/data/vader`` (MIT). Polish and Russian:
``../shared/data/sentiment`` beside the project (see its README); absent sets are skipped with a
message.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
VADER = BENCH_DIR / "data" / "vader"
SHARED = BENCH_DIR.parent.parent / "shared" / "data" / "sentiment"
CACHE = BENCH_DIR / ".data" / "text"
csv.field_size_limit(sys.maxsize)


@dataclass
class Corpus:
    name: str
    language: str
    texts: list[str]
    labels: list[str]
    scores: list[float] | None = None  # VADER: the raters' mean, −4…4


def _rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def vader(name: str) -> Corpus:
    texts, scores = [], []
    with (VADER / f"{name}_GroundTruth.txt").open(encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                scores.append(float(parts[1]))
                texts.append(parts[2])
    # Three classes for training: a mean rating within ±0.5 of zero is neutral.
    labels = ["positive" if s >= 0.5 else "negative" if s <= -0.5 else "neutral" for s in scores]
    return Corpus(name, "en", texts, labels, scores)


def polemo_train() -> Corpus | None:
    path = SHARED / "pl-polemo2-medicine-sentences-train" / "text_label.csv"
    if not path.exists():
        return None
    rows = _rows(path)
    names = {"z_minus_m": "negative", "z_plus_m": "positive", "z_zero": "neutral", "z_amb": "mixed"}
    return Corpus(
        "polemo-train", "pl", [r["text"] for r in rows], [names[r["label"]] for r in rows]
    )


def polemo_in_dev() -> Corpus | None:
    path = SHARED / "pl-polemo2-in-dev" / "dev.tsv"
    if not path.exists():
        return None
    rows = _rows(path, "\t")
    names = {
        "__label__meta_minus_m": "negative", "__label__meta_plus_m": "positive",
        "__label__meta_zero": "neutral", "__label__meta_amb": "mixed",
    }  # fmt: skip
    return Corpus("polemo-in-dev", "pl", [r["sentence"] for r in rows],
                  [names[r["target"]] for r in rows])  # fmt: skip


def rusentitweet(split: str) -> Corpus | None:
    path = SHARED / "ru-rusentitweet" / f"rusentitweet_{split}.csv"
    if not path.exists():
        return None
    # The three sentiment classes; "speech" (speech acts) and "skip" (unclear) are left out.
    rows = [r for r in _rows(path) if r["label"] in ("negative", "neutral", "positive")]
    return Corpus(f"rusentitweet-{split}", "ru", [r["text"] for r in rows],
                  [r["label"] for r in rows])  # fmt: skip


def sentirueval() -> Corpus | None:
    texts, labels = [], []
    for name in ("banks", "tkk"):
        path = (
            SHARED
            / "ru-sentirueval2016-banks-telecom"
            / f"{name}_test_etalon.derived_text_label.csv"
        )
        if not path.exists():
            return None
        for r in _rows(path):
            if r["label"] in ("negative", "neutral", "positive"):  # "mixed": companies disagree
                texts.append(r["text"])
                labels.append(r["label"])
    return Corpus("sentirueval-2016", "ru", texts, labels)


def cached(encoder_name: str, corpus: str, texts: list[str], encode) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``encode(texts)``, remembered under bench/.data/text by the texts' digest."""
    digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{encoder_name}-{corpus}-{digest}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    vectors = encode(texts)
    np.save(path, vectors)
    return vectors

"""How the fine-tuned e5 (``cxm.text.tuning``) is best combined with the other stages: its
own head, and its probabilities mixed with the full stage's or the fast stage's at several
weights, on the bench's test sets.

    pip install torch   # the CPU build; an optional dependency of cxm (cxm[tune])
    .venv/bin/python bench/text_tune.py

Needs the model and the tuned e5 that ``bench/text.py`` trains and keeps under bench/.data
(it trains them where they are missing). The product averages the tuned head with the full
stage at equal weights; this script is how that choice was measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import text as bench  # noqa: E402
import text_data  # noqa: E402
from cxm.text.e5 import engine  # noqa: E402
from cxm.text.sentiment import aligned, load_model  # noqa: E402
from cxm.text.training import macro_f1  # noqa: E402


def main() -> None:
    model_dir = text_data.CACHE / f"model-all-sets-3-{engine().precision}"
    tuned_path = text_data.CACHE / "tuned-all-sets-1.npz"
    if not model_dir.exists():
        bench.say("run bench/text.py first: it trains the model this script reads")
        return
    model = load_model(model_dir)
    corpora = [text_data.vader(n) for n in ("tweets", "movieReviewSnippets",
                                            "nytEditorialSnippets")]  # fmt: skip
    corpora += [c for c in (text_data.polemo_train(), text_data.rusentitweet("train")) if c]
    texts = [t for c in corpora for t in c.texts]
    labels = [label for c in corpora for label in c.labels]
    tuned = bench.fine_tuned(tuned_path, texts, labels)
    if tuned is None:
        return
    tests = {"pl": text_data.polemo_in_dev(), "en": text_data.vader("amazonReviewSnippets"),
             "ru": text_data.rusentitweet("test"), "sre": text_data.sentirueval()}  # fmt: skip
    for key, corpus in tests.items():
        if corpus is None:
            continue
        probs = bench.Probs(model, corpus, 0.6)  # the model without the tuned e5
        own = aligned(tuned.classes, model.classes, tuned.probabilities(corpus.texts))
        bench.say(f"BENCH text_tune.{key}_tuned={score(key, corpus, own, model.classes):.4f}")
        for w in (0.3, 0.4, 0.5, 0.6, 0.7):
            for name, other in (("full", probs.full), ("fast", probs.fast)):
                mixed = score(key, corpus, w * own + (1 - w) * other, model.classes)
                bench.say(f"BENCH text_tune.{key}_tuned{w:g}_and_{name}={mixed:.4f}")


def score(key: str, c: text_data.Corpus, probs: np.ndarray, classes: tuple[str, ...]) -> float:
    if key == "pl":
        pred = bench.pick(probs, classes, ("negative", "neutral", "positive", "mixed"))
        return float(np.mean([a == b for a, b in zip(pred, c.labels, strict=True)]))
    if key == "en":
        return bench.en_accuracy(probs, classes, c.scores or [])[""]
    pred = bench.pick(probs, classes, ("negative", "neutral", "positive"))
    wanted = ("negative", "neutral", "positive") if key == "ru" else ("positive", "negative")
    return macro_f1(c.labels, pred, wanted)


if __name__ == "__main__":
    main()

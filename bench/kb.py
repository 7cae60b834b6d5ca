"""Benchmark: knowledge-base search across languages.

    .venv/bin/python bench/kb.py

The demo's knowledge base (``src/cxm/demo/kb.yaml``: 14 articles, 40 language versions in
Polish, English and Russian) is loaded into a fresh SQLite workspace through ``cxm.kb``. Each
article comes with two questions per language, written the way customers ask, not the way the
article is titled (84 questions in all). Every question is asked with the versions in its own
language left out of the ranking, so the answer can only come from another language: the
case of a Polish question with only a Russian or English article.

- ``kb.cross_language_recall_at_5``: the share of questions whose article is among the first
  five (target ≥ 0.9);
- ``kb.cross_language_recall_at_1``: … first;
- ``kb.same_language_recall_at_1``: every version in the index, the question's own included;
- ``kb.e5_only_cross_recall_at_1`` and ``kb.use_only_cross_recall_at_1``: each encoder alone,
  the baselines for ranking by both;
- ``kb.search_ms_p50``: the time of one search (two encoders and the ranking).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from cxm.config import Settings
from cxm.kb.search import embed_query, search_kb
from cxm.kb.service import do_load_kb
from cxm.workspace import Workspace

KB_FILE = Path(__file__).parents[1] / "src" / "cxm" / "demo" / "kb.yaml"


def say(*parts: object) -> None:
    print(*parts, flush=True)  # noqa: T201


def main() -> None:
    data = yaml.safe_load(KB_FILE.read_text(encoding="utf-8"))
    questions = [(a["id"], lang, q) for a in data["articles"]
                 for lang, asked in a["questions"].items() for q in asked]  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as tmp,
        Workspace.open(settings=Settings(workspace=Path(tmp))) as ws,
    ):
        ws.initialise()
        with ws.session() as s:
            report = do_load_kb(s, text=KB_FILE.read_text(encoding="utf-8"), actor="bench")
        say(f"{len(report.saved)} articles, {report.new_versions} versions; "
            f"{len(questions)} questions")  # fmt: skip
        cross1 = cross5 = same1 = 0
        times = []
        with ws.session() as s:
            for article, lang, question in questions:
                started = time.perf_counter()
                hits = search_kb(s, question, language=lang, exclude_languages=(lang,))
                times.append(time.perf_counter() - started)
                ranked = [h.article for h in hits]
                cross1 += ranked[:1] == [article]
                cross5 += article in ranked[:5]
                if article not in ranked[:5]:
                    say(f"  missed ({lang}): {question!r} → {ranked[:3]}")
                same = [h.article for h in search_kb(s, question, language=lang)]
                same1 += same[:1] == [article]
            alone = _single_encoders(s, questions)
    n = len(questions)
    say(f"BENCH kb.cross_language_recall_at_5={cross5 / n:.3f}")
    say(f"BENCH kb.cross_language_recall_at_1={cross1 / n:.3f}")
    say(f"BENCH kb.same_language_recall_at_1={same1 / n:.3f}")
    say(f"BENCH kb.e5_only_cross_recall_at_1={alone['e5']:.3f}")
    say(f"BENCH kb.use_only_cross_recall_at_1={alone['use']:.3f}")
    say(f"BENCH kb.search_ms_p50={statistics.median(times) * 1000:.1f}")


def _single_encoders(s: object, questions: list[tuple[str, str, str]]) -> dict[str, float]:
    """Top-1 across languages with one encoder's similarity alone (the same index)."""
    from cxm.kb.search import _index

    index = _index(s)  # type: ignore[arg-type]
    out = {}
    for name in ("e5", "use"):
        right = 0
        for article, lang, question in questions:
            q_e5, q_use = embed_query(question)
            sims = index.matrix @ q_e5 if name == "e5" else index.use @ q_use
            best: dict[str, float] = {}
            for i, a in enumerate(index.articles):
                if index.languages[i] != lang:
                    best[a] = max(best.get(a, -np.inf), float(sims[i]))
            right += max(best, key=lambda k: best[k]) == article
        out[name] = right / len(questions)
    return out


if __name__ == "__main__":
    main()

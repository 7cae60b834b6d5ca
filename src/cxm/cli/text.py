"""``cxm text``: enrich free texts, look at topics and verbatims, search, train the sentiment
model on your own labelled data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace
from cxm.cli.progress import progress_bar
from cxm.errors import InvalidInput

out = Console()
err = Console(stderr=True)
text_app = typer.Typer(
    help="Text analytics: language, sentiment, emotion, topics, personal data, search.",
    no_args_is_help=True,
)
topics_app = typer.Typer(help="Topics: discover, list, rename, merge, pin.", no_args_is_help=True)
text_app.add_typer(topics_app, name="topics")


def register(app: typer.Typer) -> None:
    app.add_typer(text_app, name="text")


@text_app.command("enrich")
def enrich(
    full: Annotated[
        bool, typer.Option("--full", help="Analyse every text again (after a model change).")
    ] = False,
) -> None:
    """Analyse every text not analysed yet (event properties, anonymous survey answers)."""
    from cxm.text.enrich import pending_texts

    ws = open_workspace()
    with ws.session() as s:
        total = pending_texts(s, full=full)
    with progress_bar() as bar:
        bar.stage("Analysing texts (events)", total)
        report = ws.text.enrich(full=full, progress=bar.advance)
    flagged = ", ".join(f"{k} {v}" for k, v in sorted(report.flagged.items())) or "none"
    langs = ", ".join(
        f"{k} {v}" for k, v in sorted(report.by_language.items(), key=lambda kv: -kv[1])
    )
    out.print(
        f"analysed {report.texts} texts ({langs or 'none'}); flagged: {flagged}; "
        f"{report.routed_to_e5} read by e5"
    )


@text_app.command("status")
def status() -> None:
    """How many texts are analysed, by language, sentiment and flag, and with which model."""
    ws = open_workspace()
    summary = ws.text.summary()
    out.print(f"analysed texts: {summary['texts']} ({summary['with_pii']} with personal data, "
              f"{summary['unassigned']} in no topic)")  # fmt: skip
    for key in ("languages", "sentiment", "flags", "models"):
        values = ", ".join(f"{k} {v}" for k, v in summary[key].items()) or "none"
        out.print(f"{key}: {escape(values)}")


@text_app.command("model")
def model() -> None:
    """Which sentiment model reads this workspace's texts, and its measured accuracy."""
    ws = open_workspace()
    card = ws.text.model_card()
    where = "this workspace's own (cxm text train)" if card["source"] == "workspace" else (
        "shipped with cxm (docs/text.md)"
    )  # fmt: skip
    out.print(f"sentiment model: {escape(card['version'])}, {where}")
    stage = {"e5": "the full stage for every text", "use": "the fast stage alone"}.get(
        card["model"], f"the cascade at threshold {card.get('threshold')}"
    )
    out.print(f"reads with: {stage} (CXM_TEXT_MODEL={card['model']})")
    out.print(f"e5 runs on: {card['e5']['engine']} ({card['e5']['precision']})")
    tuned = card["tuned_e5"]
    if tuned:
        out.print(f"fine-tuned e5: rank {tuned['rank']}, trained on {tuned.get('trained_on')} "
                  "texts, averaged with the full stage")  # fmt: skip
    elif card["model"] != "use":
        out.print("fine-tuned e5: none (cxm text train --tune adds one)")
    if card["trained_on"]:
        labels = ", ".join(f"{k} {v}" for k, v in card["labels"].items())
        langs = ", ".join(f"{k} {v}" for k, v in card["languages"].items())
        out.print(f"trained on: {card['trained_on']} texts ({escape(labels)}; {escape(langs)})")
    if card["own_combiners"]:
        out.print(f"own combiners for: {', '.join(card['own_combiners'])}")
    measured = card["measured"] or {}
    if card["source"] == "workspace" and measured:
        table = Table(f"held out ({measured.get('held_out')} texts)", "accuracy", "macro-F1")
        names = {"full": "full", "untuned_full": "full without the tuned e5", "fast": "fast",
                 "cascade": "cascade"}  # fmt: skip
        for stage_name, shown in names.items():
            if f"{stage_name}_accuracy" in measured:
                table.add_row(shown, f"{measured[f'{stage_name}_accuracy']:.3f}",
                              f"{measured[f'{stage_name}_macro_f1']:.3f}")  # fmt: skip
        out.print(table)
    elif measured:
        table = Table("benchmark test set (bench/text.py)", "fast", "full", "cascade")
        for key, name in BENCH_SETS.items():
            cells = [
                measured.get(f"{key}_{stage_name}") for stage_name in ("fast", "full", "cascade")
            ]
            if any(c is not None for c in cells):
                table.add_row(name, *("-" if c is None else f"{c:.3f}" for c in cells))
        out.print(table)


# The test sets of bench/text.py, as the shipped model's figures name them.
BENCH_SETS = {
    "pl": "PolEmo 2.0-IN dev (accuracy)",
    "en": "VADER Amazon snippets (binary accuracy)",
    "en_nonzero": "the same, every non-zero rating",
    "ru": "RuSentiTweet test (macro-F1)",
    "sre": "SentiRuEval-2016 (F1 of pos, neg)",
}


@text_app.command("analyse")
def analyse(texts: Annotated[list[str], typer.Argument(help="Texts to analyse.")]) -> None:
    """Analyse texts given on the command line (nothing is stored)."""
    ws = open_workspace()
    table = Table("text", "language", "sentiment", "score", "emotion", "personal data", "flag")
    for text, a in zip(texts, ws.text.analyse(list(texts)), strict=True):
        table.add_row(
            escape(text[:60]), a.language,
            a.sentiment.label if a.sentiment else "-",
            f"{a.sentiment.score:+.2f}" if a.sentiment else "-",
            a.emotion.label if a.emotion else "-", ", ".join(a.pii) or "-", a.flag or "-",
        )  # fmt: skip
    out.print(table)


@text_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in any language.")],
    limit: Annotated[int, typer.Option(help="Most hits.")] = 10,
    show_pii: Annotated[
        bool, typer.Option("--show-pii", help="Show personal data instead of redacting it.")
    ] = False,
) -> None:
    """Texts nearest in meaning to QUERY, in every language."""
    ws = open_workspace()
    table = Table("similarity", "language", "sentiment", "when", "text")
    for similarity, copies, v in ws.text.search(query, can_see_pii=show_pii, limit=limit):
        extra = f" (×{copies})" if copies > 1 else ""
        table.add_row(f"{similarity:.2f}", v.language, v.sentiment or "-",
                      v.occurred_at.date().isoformat(), escape(v.text[:120]) + extra)  # fmt: skip
    out.print(table)


@topics_app.command("list")
def topics_list() -> None:
    """Every topic with its texts, sentiment and keyphrases per language."""
    ws = open_workspace()
    table = Table("id", "topic", "texts", "negative", "positive", "neg. share (95%)", "languages")
    for t in ws.text.topics():
        share = t.negative_share
        table.add_row(
            str(t.id), escape(t.name) + (" (pinned)" if t.pinned else ""), str(t.texts),
            str(t.sentiment["negative"]), str(t.sentiment["positive"]),
            f"{share.estimate:.0%} ({share.low:.0%}–{share.high:.0%})" if share.n else "-",
            ", ".join(f"{k} {v}" for k, v in t.languages.items()),
        )  # fmt: skip
    out.print(table)


@topics_app.command("discover")
def topics_discover(
    k: Annotated[
        int | None, typer.Option("--topics", "-k", help="How many topics (default: chosen).")
    ] = None,
) -> None:
    """Cluster the analysed texts into topics; named and pinned topics are kept."""
    ws = open_workspace()
    report = ws.text.discover_topics(actor=cli_actor(), k=k)
    out.print(f"{report.topics} topics from {report.texts} texts ({report.kept} kept; "
              f"silhouette {report.silhouette:.2f})")  # fmt: skip


@topics_app.command("rename")
def topics_rename(topic_id: int, name: str) -> None:
    """Give topic TOPIC_ID a name (kept by later discoveries)."""
    open_workspace().text.rename_topic(topic_id, name, actor=cli_actor())
    out.print(f"topic {topic_id} is now {escape(name)!r}")


@topics_app.command("merge")
def topics_merge(into: int, others: list[int]) -> None:
    """Merge OTHERS into topic INTO."""
    open_workspace().text.merge_topics(into, list(others), actor=cli_actor())
    out.print(f"merged {', '.join(map(str, others))} into {into}")


@topics_app.command("pin")
def topics_pin(
    topic_id: int,
    unpin: Annotated[bool, typer.Option("--unpin", help="Unpin instead.")] = False,
) -> None:
    """Pin a topic (rediscovery never drops it)."""
    open_workspace().text.pin_topic(topic_id, pinned=not unpin, actor=cli_actor())
    out.print(f"topic {topic_id} {'unpinned' if unpin else 'pinned'}")


@contextmanager
def tuning_progress(tune: bool, what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar for fine-tuning e5 (``on_tuning(step, steps)``), or None without it."""
    if not tune:
        yield None
        return
    done = [0]
    with progress_bar() as bar:

        def advance(step: int, steps: int) -> None:
            if not done[0]:
                bar.stage(f"Fine-tuning e5 ({what})", steps)
            bar.advance(step - done[0])
            done[0] = step

        yield advance


@text_app.command("train")
def train(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="CSV with a text and a label column.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),  # fmt: skip
    ],
    text_column: Annotated[str, typer.Option(help="The column holding texts.")] = "text",
    label_column: Annotated[
        str, typer.Option(help="The column holding labels (negative/neutral/positive/mixed).")
    ] = "label",
    source_column: Annotated[
        str | None,
        typer.Option(
            help="A column saying where each text came from (channel, data set); "
            "training then holds out whole sources to fit its combiners."
        ),
    ] = None,  # fmt: skip
    tune: Annotated[
        bool,
        typer.Option(
            "--tune",
            help="Also fine-tune e5 on the texts (needs PyTorch; for 47,000 short texts on two "
            "cores ~11 minutes with AMX, an hour without; twice: to measure, then to keep).",
        ),
    ] = False,  # fmt: skip
) -> None:
    """Train the sentiment model on your labelled texts; it replaces the shipped one here."""
    from cxm.text.training import evaluate_sentiment, read_labelled_csv, train_sentiment
    from cxm.text.tuning import TORCH_MISSING, torch_available

    if tune and not torch_available():
        raise InvalidInput(TORCH_MISSING)
    ws = open_workspace()
    data = read_labelled_csv(file.read_bytes(), text_column=text_column,
                             label_column=label_column, source_column=source_column,
                             filename=file.name)  # fmt: skip
    for problem in data.rejected[:20]:
        err.print(f"  skipped {':'.join(map(str, problem.loc))}: {problem.message}")
    if data.rejected:
        err.print(f"{len(data.rejected)} row(s) skipped; {len(data.texts)} kept")
    from cxm.text.language import detect_languages

    languages = [lang.code for lang in detect_languages(data.texts)]
    with tuning_progress(tune, "measuring") as on_tuning:
        metrics = evaluate_sentiment(data.texts, data.labels, languages=languages,
                                     sources=data.sources, tune=tune,
                                     on_tuning=on_tuning)  # fmt: skip
    with tuning_progress(tune, "training") as on_tuning:
        model = train_sentiment(data.texts, data.labels, languages=languages,
                                sources=data.sources, tune=tune, on_tuning=on_tuning)  # fmt: skip
    model.full.metrics["held_out"] = metrics
    paths = model.save(ws.path / "models" / "text")
    out.print(f"trained on {len(data.texts)} texts; held-out accuracy "
              f"{metrics['full_accuracy']:.3f} (fast stage {metrics['fast_accuracy']:.3f}, "
              f"cascade {metrics['cascade_accuracy']:.3f}"
              + (f", without the tuned e5 {metrics['untuned_full_accuracy']:.3f}"
                 if "untuned_full_accuracy" in metrics else "")
              + f"); saved {', '.join(str(p) for p in paths)}")  # fmt: skip
    out.print("run `cxm text enrich --full` to analyse stored texts with it")

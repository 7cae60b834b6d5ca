"""``cxm kb``: the knowledge base: load articles from a file, list them, search them across
languages, and what the help centre's traffic says (content gaps, deflection)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace, print_rejected

out = Console()
kb_app = typer.Typer(help="The knowledge base and the help centre.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")


@kb_app.command("load")
def load(
    path: Annotated[Path, typer.Argument(help="A YAML or JSON file with 'articles:'.")],
) -> None:
    """Save every article of FILE (a changed language gets a new version); bad articles are
    listed with where and why, and the good ones are saved."""
    from cxm.kb.service import do_load_kb

    ws = open_workspace()
    with ws.session() as s:
        report = do_load_kb(s, text=path.read_text(encoding="utf-8"), actor=cli_actor())
    out.print(f"{len(report.saved)} articles saved, {report.new_versions} new versions")
    print_rejected(out, report.rejected)


@kb_app.command("list")
def list_() -> None:
    """Every published article with its languages."""
    from cxm.kb.articles import list_articles

    ws = open_workspace()
    with ws.session() as s:
        found = list_articles(s)
    table = Table(title=f"{len(found)} articles")
    for column in ("id", "kind", "touchpoint", "department", "languages", "title"):
        table.add_column(column)
    for a in found:
        first = a.versions.get("en") or next(iter(a.versions.values()))
        table.add_row(a.id, a.kind, a.touchpoint or "", a.department or "",
                      " ".join(a.languages), first.title)  # fmt: skip
    out.print(table)


@kb_app.command("search")
def search(
    question: Annotated[str, typer.Argument(help="The question, in any language.")],
    lang: Annotated[str | None, typer.Option(help="The asker's language (pl, en, ru).")] = None,
) -> None:
    """The articles nearest in meaning to QUESTION, shown in the asker's language if they
    have it."""
    from cxm.kb.search import search_kb

    ws = open_workspace()
    with ws.session() as s:
        hits = search_kb(s, question, language=lang)
    for h in hits:
        note = (
            f" [yellow](no {h.asked_language} version: {h.language})[/yellow]" if h.fallback else ""
        )
        out.print(f"{h.score:6.2f}  [bold]{escape(h.title)}[/bold] ({h.article}){note}")


@kb_app.command("gaps")
def gaps(days: Annotated[int, typer.Option(help="Days back.")] = 90) -> None:
    """Help-centre searches nobody opened an article after, and untranslated articles."""
    from cxm.kb.insights import content_gaps
    from cxm.store.metadata import utcnow

    ws = open_workspace()
    end = utcnow() + timedelta(days=1)
    with ws.session() as s:
        report = content_gaps(s, start=end - timedelta(days=days + 1), end=end)
    out.print(f"{report['searches']} searches, {report['answered']} answered "
              f"(an article opened within {report['answer_minutes']} minutes)")  # fmt: skip
    table = Table(title="unanswered searches")
    for column in ("language", "query", "unanswered", "searches", "offered first"):
        table.add_column(column)
    for g in report["gaps"]:
        table.add_row(g["language"], g["query"], str(g["unanswered"]), str(g["searches"]),
                      g["offered"] or "")  # fmt: skip
    out.print(table)
    for item in report["untranslated"]:
        out.print(f"untranslated: {item['article']} (no {', '.join(item['missing'])})")


@kb_app.command("deflection")
def deflection_(
    days: Annotated[int, typer.Option(help="Days after the help visit.")] = 7,
    period: Annotated[int, typer.Option(help="Days of help-centre traffic.")] = 90,
) -> None:
    """Contacts after self-service against after a search alone (observational)."""
    from cxm.kb.insights import deflection
    from cxm.store.metadata import utcnow

    ws = open_workspace()
    end = utcnow() + timedelta(days=1)
    with ws.session() as s:
        r = deflection(s, start=end - timedelta(days=period + 1), end=end, days=days)
    out.print(f"self-served: {r.self_served_contacted}/{r.self_served} contacted within {days} "
              f"days; searched only: {r.comparison_contacted}/{r.comparison}")  # fmt: skip
    if r.deflection is not None:
        out.print(f"deflection {r.deflection:+.1%} (95% interval {r.low:+.1%} to {r.high:+.1%}), "
                  f"p = {r.p_value:.3g}")  # fmt: skip
    out.print(r.note)

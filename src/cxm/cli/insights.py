"""``cxm insights``: what the data says that nobody asked about yet."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import open_workspace
from cxm.errors import InvalidInput

out = Console()
insights_app = typer.Typer(help="Insights: association rules.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(insights_app, name="insights")


def _day(text: str | None, default: date, flag: str) -> datetime:
    try:
        chosen = date.fromisoformat(text) if text else default
    except ValueError as exc:
        raise InvalidInput(f"--{flag} takes a date YYYY-MM-DD, got {text!r}") from exc
    return datetime.combine(chosen, time(), tzinfo=UTC)


@insights_app.command("associations")
def associations(
    start: Annotated[str | None, typer.Option(help="First UTC day (default: a year ago).")] = None,
    end: Annotated[str | None, typer.Option(help="First UTC day excluded.")] = None,
    min_customers: Annotated[int, typer.Option(help="Fewest customers per item.")] = 10,
    min_both: Annotated[int, typer.Option(help="Fewest customers with both.")] = 5,
    alpha: Annotated[float, typer.Option(help="False discovery rate.")] = 0.05,
    show_all: Annotated[bool, typer.Option("--all", help="Not only significant rules.")] = False,
) -> None:
    """Problems customers report → what they buy after: support, confidence, lift, q-value."""
    from cxm.insights import association_report

    ws = open_workspace()
    ws.catch_up()
    ws.sync_lake()
    finish = _day(end, datetime.now(UTC).date() + timedelta(days=1), "end")
    begin = _day(start, (finish - timedelta(days=365)).date(), "start")
    with ws.session() as s:
        report = association_report(s, ws.query_engine(), start=begin, end=finish,
                                    min_customers=min_customers, min_both=min_both,
                                    alpha=alpha)  # fmt: skip
    table = Table(
        title=f"{report.customers} customers, {report.reporters} reported a problem, "
        f"{report.buyers} bought; {report.tested} pairs tested"
    )
    for column in ("problem (topic)", "→ bought after", "both", "confidence", "lift", "q",
                   "median days"):  # fmt: skip
        table.add_column(column)
    for r in report.rules:
        if not (r.significant or show_all):
            continue
        table.add_row(escape(f"{r.problem_id}: {r.problem}"[:60]), escape(r.product),
                      f"{r.both}/{r.with_problem}", f"{r.confidence:.0%}", f"{r.lift:.1f}",
                      f"{r.q_value:.2g}", f"{r.median_days_after:.0f}")  # fmt: skip
    out.print(table)

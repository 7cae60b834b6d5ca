"""``cxm metrics``: the metric catalogue and survey metrics with their intervals."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cxm.cli.context import open_workspace, parse_day

out = Console()
metrics_app = typer.Typer(help="Experience metrics: the catalogue, values with intervals.")


def register(app: typer.Typer) -> None:
    app.add_typer(metrics_app, name="metrics")


@metrics_app.command("list")
def list_metrics() -> None:
    """Every metric in the catalogue: unit, which direction is better, formula."""
    from cxm.metrics.catalogue import CATALOGUE

    table = Table(title="Metrics")
    for column in ("id", "name", "unit", "better", "formula"):
        table.add_column(column)
    for m in CATALOGUE:
        table.add_row(m.id, m.name, m.unit, m.direction, m.formula)
    out.print(table)


@metrics_app.command("show")
def show(
    metric: Annotated[str, typer.Argument(help="A metric id (cxm metrics list).")],
    by: Annotated[
        str, typer.Option(help="none, touchpoint, month, department, survey or language.")
    ] = "none",
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="First day excluded (YYYY-MM-DD).")] = None,
    survey: Annotated[str | None, typer.Option(help="Only this survey's answers.")] = None,
) -> None:
    """A metric per group with its 95% interval; groups below the minimum sample say why."""
    from cxm.metrics.surveys import survey_metric

    ws = open_workspace()
    with ws.session() as session:
        rows = survey_metric(
            session,
            metric=metric,
            by=by,  # type: ignore[arg-type]  # checked by survey_metric, with a clear message
            start=parse_day(start, "start"),
            end=parse_day(end, "end"),
            survey=survey,
        )
    table = Table(title=f"{metric} by {by}")
    for column in ("group", "n", "value", "95% interval", "note"):
        table.add_column(column, justify="right" if column in ("n", "value") else "left")
    for row in rows:
        shown = row.reportable and row.estimate is not None
        table.add_row(
            row.group or "all",
            str(row.n),
            f"{row.estimate:.1f}" if shown and row.estimate is not None else "—",
            f"{row.low:.1f} … {row.high:.1f}"
            if shown and row.low is not None and row.high is not None
            else "—",
            row.reason or "",
        )
    out.print(table)

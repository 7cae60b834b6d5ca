"""``cxm metrics``: the metric catalogue, survey metrics with their intervals, and the lake
metrics: every metric by dimension (``catalogue``), what moved (``movers``), the behavioural
effort index (``effort``) and retention by cohort (``retention``).

The lake commands sync the lake first (``--no-sync`` skips it) and print a table, or the
DataFrame as CSV or JSON lines (``--format``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cxm.cli.context import open_workspace, parse_day
from cxm.errors import InvalidInput
from cxm.metrics.catalogue import CATALOGUE, format_change, format_value
from cxm.metrics.queries import DIMENSIONS_HELP

ROW_COLUMNS = ("metric", "n", "estimate", "low", "high", "reportable", "reason")

out = Console()
metrics_app = typer.Typer(help="Experience metrics: the catalogue, values with intervals.")


def register(app: typer.Typer) -> None:
    app.add_typer(metrics_app, name="metrics")


@metrics_app.command("list")
def list_metrics() -> None:
    """Every metric in the catalogue: unit, which direction is better, formula."""

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


# --- lake metrics: the catalogue by dimension, movers, effort, retention ----------------------

Format = Annotated[str, typer.Option("--format", help="table, csv or json (JSON lines).")]
Start = Annotated[str | None, typer.Option(help="First day included (YYYY-MM-DD, UTC).")]
End = Annotated[str | None, typer.Option(help="First day excluded (YYYY-MM-DD, UTC).")]
Sync = Annotated[bool, typer.Option("--sync/--no-sync", help="Sync the lake first.")]
Metrics = Annotated[
    list[str] | None,
    typer.Option("--metric", help="A lake metric id (repeat for more); default: all of them."),
]


@metrics_app.command("catalogue")
def catalogue(
    metric: Metrics = None,
    by: Annotated[
        list[str] | None,
        typer.Option(help=f"Group by (repeat, up to 3): {DIMENSIONS_HELP}."),
    ] = None,
    start: Start = None,
    end: End = None,
    repeat_days: Annotated[int, typer.Option(help="Same matter within this many days.")] = 7,
    min_sample: Annotated[int, typer.Option(help="Fewer observations: no value.")] = 30,
    sync: Sync = True,
    fmt: Format = "table",
) -> None:
    """Every lake metric (surveys and behaviour) per group, with its 95% interval."""
    from cxm.api.metric_reads import catalogue_query

    query = catalogue_query(
        {
            "metrics": metric or None,
            "by": by or (),
            "start": parse_day(start, "start"),
            "end": parse_day(end, "end"),
            "repeat_days": repeat_days,
            "min_sample": min_sample,
        },
        where="option",
    )
    ws = _ready(sync, fmt)
    frame = ws.metrics.catalogue(**query.model_dump())
    if fmt != "table":
        _export(frame, fmt)
        return
    table = Table(title="Metrics" + (f" by {', '.join(query.by)}" if query.by else ""))
    groups = [c for c in frame.columns if c not in ROW_COLUMNS]
    for column in ("metric", *groups, "n", "value", "95% interval", "note"):
        table.add_column(column, justify="right" if column in ("n", "value") else "left")
    for row in frame.to_dict("records"):
        metric_id = row["metric"]
        shown = row["reportable"] and row["estimate"] is not None
        table.add_row(
            metric_id,
            *(str(row[g]) for g in groups),
            f"{row['n']:,}",
            format_value(metric_id, row["estimate"]) if shown else "—",
            f"{format_value(metric_id, row['low'])} … {format_value(metric_id, row['high'])}"
            if shown and row["low"] is not None
            else "—",
            row["reason"] or "",
        )
    out.print(table)


@metrics_app.command("movers")
def movers(
    by: Annotated[str | None, typer.Option(help=f"One of {DIMENSIONS_HELP}.")] = None,
    metric: Metrics = None,
    q: Annotated[float, typer.Option(help="False discovery rate of the movers.")] = 0.05,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every comparison, not only the movers.")
    ] = False,
    sync: Sync = True,
    fmt: Format = "table",
) -> None:
    """What moved from the month before last to the last whole month (Benjamini-Hochberg)."""
    from cxm.api.metric_reads import movers_query

    query = movers_query({"by": by, "metrics": metric or None, "q": q}, where="option")
    ws = _ready(sync, fmt)
    frame = ws.metrics.movers(**query.model_dump())
    if fmt != "table":
        _export(frame if show_all else frame[frame["moved"]], fmt)
        return
    if not len(frame):
        out.print("nothing to compare: the lake has no two whole months with enough data")
        return
    periods = f"{frame['a_period'].iloc[0]} → {frame['b_period'].iloc[0]}"
    moved = frame[frame["moved"]]
    shown = frame if show_all else moved
    if not len(moved):
        out.print(
            f"no change survived the false-discovery control (q={q}) among {len(frame)} "
            f"comparisons of {periods}"
        )
        if not show_all:
            return
    table = Table(title=f"Movers {periods}" + (f" by {by}" if by else ""))
    for column in ("metric", "group", "before", "after", "change", "95% interval", "adj. p"):
        table.add_column(column, justify="left" if column in ("metric", "group") else "right")
    table.add_column("moved")
    for row in shown.to_dict("records"):
        m = row["metric"]
        table.add_row(
            m,
            str(row["group"] or "all"),
            format_value(m, row["a"]),
            format_value(m, row["b"]),
            format_change(m, row["difference"]),
            f"{format_change(m, row['low'])} … {format_change(m, row['high'])}",
            f"{row['adjusted_p']:.3f}",
            ("better" if row["better"] else "worse") if row["moved"] else "",
        )
    out.print(table)


@metrics_app.command("effort")
def effort(
    top: Annotated[int, typer.Option(help="How many customers, hardest first.")] = 10,
    start: Start = None,
    end: End = None,
    sync: Sync = True,
    fmt: Format = "table",
) -> None:
    """The behavioural effort index: its agreement with CES and NPS, the hardest customers
    (profile ids) and the mean effort per touchpoint."""
    query = parse_period(start, end)
    ws = _ready(sync, fmt)
    report = ws.metrics.effort(start=query.start, end=query.end)
    if fmt != "table":
        _export(report.customer_effort.head(top), fmt)
        return
    out.print(report.summary())
    customers = Table(title=f"The {top} customers with the most effort")
    columns = ["rank", "customer_id", "effort", "matters", "contacts", "repeat_contacts",
               "channel_hops", "handoffs", "asked_again", "reopened", "decile"]  # fmt: skip
    for column in columns:
        customers.add_column(column, justify="left" if column == "customer_id" else "right")
    for row in report.customer_effort.head(top).to_dict("records"):
        customers.add_row(*(_cell(row[c]) for c in columns))
    out.print(customers)
    touchpoints = Table(title="Effort by touchpoint where matters began (worst first)")
    tp_columns = ["touchpoint", "matters", "effort", "repeat_contacts", "channel_hops",
                  "handoffs", "reopen_rate", "resolution_h"]  # fmt: skip
    for column in tp_columns:
        touchpoints.add_column(column, justify="left" if column == "touchpoint" else "right")
    for row in report.touchpoint_effort.to_dict("records"):
        cells = [_cell(row[c]) for c in tp_columns]
        if not row["reportable"]:
            cells[2] = f"({cells[2]}, too few matters)"
        touchpoints.add_row(*cells)
    out.print(touchpoints)


@metrics_app.command("retention")
def retention(sync: Sync = True, fmt: Format = "table") -> None:
    """Of the customers first seen in each month, the share active 1, 2, … months later."""
    ws = _ready(sync, fmt)
    frame = ws.metrics.retention()
    if fmt != "table":
        _export(frame, fmt)
        return
    if not len(frame):
        out.print("no events in the lake yet")
        return
    horizon = int(frame["months_since"].max())
    table = Table(title="Retention by cohort (% active k months later)")
    table.add_column("cohort")
    table.add_column("customers", justify="right")
    for k in range(1, horizon + 1):
        table.add_column(f"+{k}", justify="right")
    for cohort, rows in frame.groupby("cohort", sort=True):
        by_k = dict(zip(rows["months_since"], rows["retention"], strict=True))
        cells = [f"{100 * by_k[k]:.1f}" if k in by_k else "" for k in range(1, horizon + 1)]
        table.add_row(str(cohort), f"{int(rows['cohort_size'].iloc[0]):,}", *cells)
    out.print(table)


def parse_period(start: str | None, end: str | None) -> Any:
    from cxm.api.metric_reads import catalogue_query

    values = {"start": parse_day(start, "start"), "end": parse_day(end, "end")}
    return catalogue_query(values, where="option")


def _ready(sync: bool, fmt: str) -> Any:
    if fmt not in ("table", "csv", "json"):
        raise InvalidInput(f"--format {fmt!r}: use table, csv or json")
    ws = open_workspace()
    if sync:
        ws.catch_up()
        ws.sync_lake()
    return ws


def _export(frame: Any, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        frame.to_json(sys.stdout, orient="records", lines=True, date_format="iso")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@metrics_app.command("departments")
def departments(
    department: Annotated[
        str | None, typer.Argument(help="A department of the journey map (default: all).")
    ] = None,
    months: Annotated[int, typer.Option(help="Whole months in the period.")] = 12,
    cx_metric: Annotated[
        str | None, typer.Option(help="The monthly customer measure set beside eNPS.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the view as JSON.")] = False,
) -> None:
    """Each department's CX beside its staff's eNPS (Total Experience); one department: its
    touchpoints, the two month by month and their correlation."""
    import orjson

    ws = open_workspace()
    ws.sync_lake()
    if department is None:
        frame = ws.metrics.departments(months=months)
        if as_json:
            sys.stdout.write(frame.to_json(orient="records", force_ascii=False) + "\n")
            return
        table = Table(title=f"departments, last {months} months")
        for column in ("department", "owns", "CSAT", "NPS", "eNPS", "open cases"):
            table.add_column(column)
        for row in frame.to_dict(orient="records"):
            table.add_row(row["id"], str(row["owns"]), _shown(row["csat.estimate"], 2),
                          _shown(row["nps.estimate"], 0), _shown(row["enps.estimate"], 0),
                          str(row["open_cases"]))  # fmt: skip
        out.print(table)
        return
    view = ws.metrics.department(department, months=months, cx_metric=cx_metric)
    if as_json:
        sys.stdout.write(orjson.dumps(view.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(f"[bold]{view.name}[/bold] ({view.start} to {view.end}); eNPS "
              f"{_shown(view.ex.estimate, 0)} from {view.ex.n} answers")  # fmt: skip
    table = Table(title=f"{view.link.cx_metric} beside eNPS, month by month")
    for column in ("month", view.link.cx_metric, "n", "eNPS", "n "):
        table.add_column(column)
    for m in view.monthly:
        table.add_row(m.month, _shown(m.cx.estimate, 2), str(m.cx.n), _shown(m.ex.estimate, 0),
                      str(m.ex.n))  # fmt: skip
    out.print(table)
    link = view.link
    if link.r is None:
        out.print(f"no correlation: {link.reason}")
    else:
        out.print(f"r = {link.r:.2f} (95% interval {link.low:.2f} to {link.high:.2f}) over "
                  f"{link.months} months, p = {link.p_value:.3g}")  # fmt: skip


def _shown(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{float(value):.{digits}f}"

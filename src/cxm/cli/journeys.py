"""``cxm lake`` (the analytical copy) and ``cxm journeys`` (journey analytics over it).

Every analysis syncs the lake first (quick when nothing is new; ``--no-sync`` skips it) and
prints a table, or the DataFrame as CSV or JSON lines for other programs (``--format``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cxm.cli.context import open_workspace, parse_day
from cxm.cli.progress import progress_bar
from cxm.errors import InvalidInput

out = Console()
lake_app = typer.Typer(help="The lake: the Parquet copy of the store that analytics read.")
journeys_app = typer.Typer(help="Journey analytics: funnels, paths, stages, touchpoints.")

Format = Annotated[str, typer.Option("--format", help="table, csv or json (JSON lines).")]
Start = Annotated[str | None, typer.Option(help="First day included (YYYY-MM-DD, UTC).")]
End = Annotated[str | None, typer.Option(help="First day excluded (YYYY-MM-DD, UTC).")]
Sync = Annotated[bool, typer.Option("--sync/--no-sync", help="Sync the lake first.")]


def register(app: typer.Typer) -> None:
    app.add_typer(lake_app, name="lake")
    app.add_typer(journeys_app, name="journeys")


# --- the lake ---------------------------------------------------------------------------------


@lake_app.command("sync")
def lake_sync() -> None:
    """Copy new events (and customers whose events moved by merges) from the store."""
    ws = open_workspace()
    with progress_bar() as bar:
        bar.stage("Copying to the lake", None)
        report = ws.sync_lake()
    out.print(
        f"{report.events} new events, {report.moved_customers} customers moved "
        f"({report.rewritten_buckets} buckets rewritten), {report.compacted_buckets} compacted, "
        f"in {report.seconds:.2f} s; the lake holds every event up to #{report.events_seq}"
    )


@lake_app.command("rebuild")
def lake_rebuild() -> None:
    """Delete the lake's files and copy the whole store again."""
    ws = open_workspace()
    with progress_bar() as bar:
        bar.stage("Rebuilding the lake", None)
        report = ws.lake.rebuild(ws.engine)
    out.print(
        f"copied {report.events} events in {report.seconds:.2f} s "
        f"({report.events_per_s:,.0f} events/s)"
    )


@lake_app.command("compact")
def lake_compact() -> None:
    """Rewrite every bucket as one file sorted by customer and time."""
    ws = open_workspace()
    out.print(f"compacted {ws.lake.compact()} buckets")


@lake_app.command("status")
def lake_status() -> None:
    """What the lake holds and how far it has read the store."""
    ws = open_workspace()
    s = ws.lake.status()
    out.print(
        f"{ws.lake.root}: {s.events:,} events up to #{s.events_seq} in {s.files} files "
        f"({s.bytes / 1e6:.1f} MB, {s.buckets} buckets)"
    )


# --- journey analytics ------------------------------------------------------------------------


@journeys_app.command("funnel")
def funnel(
    steps: Annotated[
        list[str], typer.Argument(help="Touchpoint ids in order, or event:NAME for an event.")
    ],
    window_days: Annotated[float, typer.Option(help="Conversion window from step 1.")] = 7.0,
    breakdown: Annotated[
        str | None, typer.Option(help="channel, or trait:KEY (e.g. trait:city).")
    ] = None,
    start: Start = None,
    end: End = None,
    sync: Sync = True,
    fmt: Format = "table",
) -> None:
    """How many customers went through the steps in order within the window."""
    parsed: list[Any] = [
        {"event": s.removeprefix("event:")} if s.startswith("event:") else s for s in steps
    ]
    ws = _ready(sync)
    frame = ws.journeys.funnel(
        parsed,
        window_days=window_days,
        breakdown=breakdown,
        start=parse_day(start, "start"),
        end=parse_day(end, "end"),
    )
    _show(frame, fmt, title="Funnel")


@journeys_app.command("paths")
def paths(
    touchpoint: Annotated[str, typer.Argument(help="The touchpoint paths start (or end) at.")],
    direction: Annotated[str, typer.Option(help="out (after it) or in (before it).")] = "out",
    depth: Annotated[int, typer.Option(help="Touchpoints per path (1-5).")] = 3,
    top: Annotated[int, typer.Option(help="How many paths.")] = 10,
    start: Start = None,
    end: End = None,
    sync: Sync = True,
    fmt: Format = "table",
) -> None:
    """The commonest paths out of (or into) a touchpoint."""
    ws = _ready(sync)
    frame = ws.journeys.paths(
        touchpoint,
        direction=direction,
        depth=depth,
        top=top,
        start=parse_day(start, "start"),
        end=parse_day(end, "end"),
    )
    frame["path"] = [" → ".join(p) for p in frame["path"]]
    _show(frame, fmt, title=f"Paths {direction} of {touchpoint}")


@journeys_app.command("stages")
def stages(
    stall_days: Annotated[float, typer.Option(help="In a stage longer than this: stalled.")] = 30,
    transitions: Annotated[
        bool, typer.Option("--transitions", help="Moves between stages instead.")
    ] = False,
    start: Start = None,
    end: End = None,
    sync: Sync = True,
    fmt: Format = "table",
) -> None:
    """Stage progression: time in stage, stalls, regressions (or the moves between stages)."""
    ws = _ready(sync)
    options: dict[str, Any] = {
        "stall_days": stall_days,
        "start": parse_day(start, "start"),
        "end": parse_day(end, "end"),
    }
    if transitions:
        _show(ws.journeys.transitions(**options), fmt, title="Moves between stages")
    else:
        _show(ws.journeys.progression(**options), fmt, title="Stage progression")


@journeys_app.command("scorecard")
def scorecard(
    stage: Annotated[str | None, typer.Option(help="Only this stage's touchpoints.")] = None,
    repeat_days: Annotated[float, typer.Option(help="Horizon of the rates.")] = 7.0,
    start: Start = None,
    end: End = None,
    sync: Sync = True,
    fmt: Format = "table",
) -> None:
    """Per touchpoint: visits, customers, repeat rate, contact-after rate, health."""
    ws = _ready(sync)
    frame = ws.journeys.scorecard(
        stage=stage,
        repeat_days=repeat_days,
        start=parse_day(start, "start"),
        end=parse_day(end, "end"),
    )
    _show(frame, fmt, title="Touchpoint scorecard")


@journeys_app.command("department")
def department(
    department_id: Annotated[str, typer.Argument(metavar="DEPARTMENT", help="Department id.")],
    start: Start = None,
    end: End = None,
    sync: Sync = True,
    fmt: Format = "table",
) -> None:
    """Every touchpoint a department influences, weighted by its influence."""
    ws = _ready(sync)
    frame = ws.journeys.department(
        department_id, start=parse_day(start, "start"), end=parse_day(end, "end")
    )
    _show(frame, fmt, title=f"Touchpoints influenced by {department_id}")


def _ready(sync: bool) -> Any:
    ws = open_workspace()
    if sync:
        ws.catch_up()
        ws.sync_lake()
    return ws


def _show(frame: Any, fmt: str, *, title: str) -> None:
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        frame.to_json(sys.stdout, orient="records", lines=True, date_format="iso")
    elif fmt == "table":
        table = Table(title=title)
        for column in frame.columns:
            table.add_column(str(column), justify="right" if _numeric(frame[column]) else "left")
        durations = [str(c).endswith("seconds_to_convert") for c in frame.columns]
        for row in frame.itertuples(index=False):
            table.add_row(
                *(_duration(v) if d else _cell(v) for v, d in zip(row, durations, strict=True))
            )
        out.print(table)
    else:
        raise InvalidInput(f"--format {fmt!r}: use table, csv or json")


def _duration(seconds: Any) -> str:
    if seconds is None or seconds != seconds:
        return "–"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _numeric(column: Any) -> bool:
    return str(column.dtype).startswith(("int", "float"))


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)

"""``cxm journey``: the journey map (stages, touchpoints, department influence) and its versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace
from cxm.errors import NotFound
from cxm.journeys import (
    JourneyMap,
    JourneyMapInvalid,
    Touchpoint,
    do_save_journey_map,
    latest_journey_map,
    list_journey_map_versions,
    parse_journey_map,
    stored_journey_map,
    telecom_yaml,
)

out = Console()
err = Console(stderr=True)
journey_app = typer.Typer(
    help="The journey map: stages, touchpoints and department influence, versioned.",
    no_args_is_help=True,
)

MapFile = Annotated[
    Path,
    typer.Argument(
        metavar="FILE", help="A journey map in YAML.", exists=True, dir_okay=False, readable=True
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(journey_app, name="journey")


@journey_app.command("show")
def show(
    yaml: Annotated[bool, typer.Option("--yaml", help="Print the YAML as written.")] = False,
    version: Annotated[
        int | None, typer.Option(help="A saved version (default: the current one).")
    ] = None,
    example: Annotated[
        bool, typer.Option("--example", help="The demo company's map shipped with cxm.")
    ] = False,
) -> None:
    """Show the current journey map: stages in order, touchpoints, owners and influence."""
    if example:
        source, journey, title = telecom_yaml(), None, "example"
    else:
        ws = open_workspace()
        with ws.session() as session:
            stored = (
                stored_journey_map(session, version)
                if version is not None
                else latest_journey_map(session)
            )
        if stored is None:
            raise NotFound(
                "no journey map is saved yet: `cxm journey load FILE` saves one "
                "(`cxm journey show --example --yaml` prints the demo company's map)"
            )
        source, journey, title = stored.source, stored.journey, f"version {stored.info.version}"
    if yaml:
        sys.stdout.write(source if source.endswith("\n") else source + "\n")
        return
    _print_map(journey or parse_journey_map(source, filename="telecom.yaml"), title)


@journey_app.command("load")
def load(
    file: MapFile,
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
) -> None:
    """Check a journey map file and save it as the next version."""
    source = file.read_text(encoding="utf-8")
    ws = open_workspace()
    with ws.session() as session:
        version = do_save_journey_map(
            session=session, source=source, actor=cli_actor(), note=note, filename=file.name
        )
    journey = parse_journey_map(source, filename=file.name)
    out.print(
        f"journey map [bold]{escape(journey.name)}[/bold] saved as version {version}: "
        f"{len(journey.stages)} stages, {len(journey.touchpoints)} touchpoints"
    )


@journey_app.command("validate")
def validate(file: MapFile) -> None:
    """Check a journey map file without saving it: every problem with its line (exit 2)."""
    try:
        journey = parse_journey_map(file.read_text(encoding="utf-8"), filename=file.name)
    except JourneyMapInvalid as exc:
        for detail in exc.errors:
            err.print(detail.message, markup=False, highlight=False)
        err.print(f"{len(exc.errors)} problem(s); nothing was saved", style="red")
        raise typer.Exit(2) from exc
    out.print(
        f"{file.name}: valid: {len(journey.stages)} stages, {len(journey.touchpoints)} "
        f"touchpoints, {len(journey.departments)} departments"
    )


@journey_app.command("versions")
def versions() -> None:
    """List the saved versions of the journey map, newest first."""
    ws = open_workspace()
    with ws.session() as session:
        items = list_journey_map_versions(session)
    table = Table("version", "saved at", "by", "name", "note")
    for item in items:
        table.add_row(
            str(item.version),
            item.created_at.strftime("%Y-%m-%d %H:%M"),
            item.actor,
            item.name,
            item.note or "",
        )
    out.print(table)
    out.print(f"{len(items)} version(s)")


def _print_map(journey: JourneyMap, title: str) -> None:
    out.print(f"[bold]{escape(journey.name)}[/bold] ({title})")
    owners = {d.id: d.name for d in journey.departments}
    for stage in journey.stages:
        table = Table(
            "touchpoint",
            "events",
            "owner",
            "influence",
            title=f"{stage.rank + 1}. {escape(stage.name)}",
        )
        for tp in journey.touchpoints_in(stage.id):
            table.add_row(
                f"{escape(tp.name)}\n[dim]{tp.id}[/dim]",
                escape(_pattern(tp)),
                f"{escape(tp.owner_name)}\n[dim]{escape(owners[tp.owner])}[/dim]",
                ", ".join(f"{d} {w:g}" for d, w in tp.influence.items()),
            )
        out.print(table)


def _pattern(tp: Touchpoint) -> str:
    names = ", ".join(tp.match.events) if tp.match.events else "any name"
    channels = ", ".join(tp.match.channels) if tp.match.channels else "any channel"
    return f"{'/'.join(tp.match.types)}: {names} ({channels})"

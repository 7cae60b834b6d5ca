"""``cxm segments``: named sets of customers by their traits and recent activity."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace
from cxm.cli.surveys import read_definition_file, refuse

if TYPE_CHECKING:
    from cxm.segments import SegmentDefinition

out = Console()
segments_app = typer.Typer(
    help="Segments: customers by traits (equal, one of, known) and recent activity.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(segments_app, name="segments")


@segments_app.command("create")
def create(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A definition in YAML (.yaml, .yml) or JSON (.json).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a segment of the same name.")
    ] = False,
) -> None:
    """Check a segment definition file and save it; prints how many customers are in it."""
    from cxm.segments import SegmentDefinitionInvalid, do_save_segment, segment_members
    from cxm.store.metadata import utcnow

    data = read_definition_file(file)
    ws = open_workspace()
    try:
        with ws.session() as session:
            segment = do_save_segment(
                session=session, actor=cli_actor(), data=data, replace=replace
            )
    except SegmentDefinitionInvalid as exc:
        raise refuse(exc) from exc
    ws.catch_up()
    with ws.session() as session:
        members = segment_members(session, segment.definition, now=utcnow())
    out.print(f"segment [bold]{segment.name}[/bold] saved: {len(members)} customer(s) in it now")


@segments_app.command("list")
def list_() -> None:
    """Every segment and its conditions."""
    from cxm.segments import list_segments

    ws = open_workspace()
    with ws.session() as session:
        found = list_segments(session)
    table = Table("segment", "conditions", "saved", "by", title="Segments")
    for s in found:
        table.add_row(
            s.name, escape(_conditions(s.definition)), f"{s.updated_at:%Y-%m-%d %H:%M}", s.actor
        )
    out.print(table)
    out.print(f"{len(found)} segment(s)")


@segments_app.command("show")
def show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The segment's name.")],
    limit: Annotated[int, typer.Option(help="Members listed.")] = 20,
) -> None:
    """A segment's conditions and its members now."""
    from sqlalchemy import select

    from cxm.identity.tables import profiles
    from cxm.segments import get_segment, segment_members
    from cxm.store.metadata import utcnow

    ws = open_workspace()
    ws.catch_up()
    with ws.session() as session:
        segment = get_segment(session, name)
        members = segment_members(session, segment.definition, now=utcnow())
        shown = members[:limit]
        names = dict(
            session.execute(
                select(profiles.c.id, profiles.c.display_name).where(profiles.c.id.in_(shown))
            ).all()
        )
    out.print(
        f"[bold]{segment.name}[/bold]: {escape(_conditions(segment.definition))}"
        + (f"\n{escape(segment.definition.description)}" if segment.definition.description else "")
    )
    table = Table("profile", "name")
    for pid in shown:
        table.add_row(pid, escape(names.get(pid) or ""))
    out.print(table)
    out.print(f"{len(members)} customer(s) in the segment now")


def _conditions(definition: SegmentDefinition) -> str:
    parts = []
    for c in definition.conditions:
        if c.op == "exists":
            parts.append(f"{c.trait} {'known' if c.value else 'unknown'}")
        elif c.op == "one_of":
            parts.append(f"{c.trait} in ({', '.join(map(str, c.value))})")
        else:
            parts.append(f"{c.trait} = {c.value}")
    if definition.active_days is not None:
        parts.append(f"active in the last {definition.active_days} days")
    return "; ".join(parts)

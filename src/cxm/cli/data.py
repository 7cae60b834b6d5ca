"""``cxm import``, ``profile``, ``sources``, ``tokens`` and ``rebuild``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cxm.auth import ROLES, SCOPES, do_create_token
from cxm.cli.context import cli_actor, open_workspace
from cxm.cli.progress import progress_bar
from cxm.config import CHANNELS
from cxm.errors import InvalidInput
from cxm.ingest import ColumnMapping, do_create_source, do_import_file, get_source, list_sources
from cxm.profiles import get_profile, get_timeline, rebuild_profiles, what_we_know

out = Console()
sources_app = typer.Typer(
    help="Sources: where events come from (each has a channel).", no_args_is_help=True
)
tokens_app = typer.Typer(
    help="API tokens for the REST API and the dashboard.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)
    app.command()(profile)
    app.command()(rebuild)
    app.add_typer(sources_app, name="sources")
    app.add_typer(tokens_app, name="tokens")


def import_file(
    file: Annotated[Path, typer.Argument(help="CSV, TSV or JSONL export to import.")],
    source: Annotated[str, typer.Option(help="Name of the source the rows come from.")],
    mapping: Annotated[
        Path | None, typer.Option(help="TOML column mapping (\\[columns] and \\[defaults] tables).")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="target=Column, e.g. --map userId=Account (repeatable)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="target=value constant, e.g. --set event='Call Handled'."),
    ] = None,
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format", help="csv or jsonl (default: by extension; .tsv is tab-separated)."
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(help="CSV column separator: , ; | or tab (default: read from the header)."),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding of a CSV, e.g. cp1250 or cp1251 (default: UTF-8)."),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            help="strptime format of the timestamp column, e.g. '%d.%m.%Y %H:%M' "
            "(default: ISO 8601)."
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Time zone of timestamps without an offset, e.g. Europe/Warsaw (default: UTC)."
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Where to write rejected rows (default FILE.errors.jsonl).")
    ] = None,
) -> None:
    """Import an interaction export; bad rows are reported, good rows kept, re-runs skip dupes."""
    ws = open_workspace()
    with ws.session() as session:
        src = get_source(session, source)
    column_mapping = None
    if mapping is not None:
        column_mapping = ColumnMapping.from_file(mapping)
    elif map_ or set_:
        column_mapping = ColumnMapping.from_pairs(map_ or [], set_ or [])
    if any(value is not None for value in (delimiter, encoding, date_format, timezone)):
        column_mapping = (column_mapping or ColumnMapping()).written_as(
            delimiter=delimiter, encoding=encoding, date_format=date_format, timezone=timezone
        )
    total = _count_lines(file)
    with progress_bar() as bar:
        bar.stage(f"Importing {file.name}", total)
        result, report_path = do_import_file(
            ws.engine,
            source=src,
            path=file,
            mapping=column_mapping,
            file_format=file_format,
            report_path=report,
            never_store=ws.settings.never_store,
            max_event_bytes=ws.settings.max_event_bytes,
            region=ws.settings.default_region,
            on_progress=bar.advance,
        )
    out.print(
        f"{result.stored} new events stored, {result.duplicates} already present, "
        f"{len(result.rejected)} rows rejected"
    )
    for rejection in result.rejected[:10]:
        out.print(f"  [red]{rejection['where']}[/red]: {rejection['message']}")
    if report_path is not None:
        out.print(f"every rejected row with its reason: {report_path}")
        raise typer.Exit(1 if result.accepted == 0 else 0)


def profile(
    ref: Annotated[str, typer.Argument(help="Profile id, e-mail, phone or user id.")],
    limit: Annotated[int, typer.Option(help="Timeline items to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a customer: what we already know, identifiers, traits and the timeline."""
    ws = open_workspace()
    ws.catch_up()
    with ws.session() as session:
        found = get_profile(session, ref)
        brief = what_we_know(session, found.id)
        items = get_timeline(session, found.id, limit=limit)
    if as_json:
        body = {
            "profile": asdict(found),
            "summary": asdict(brief),
            "timeline": [asdict(i) for i in items],
        }
        out.print_json(json.dumps(body, default=str, ensure_ascii=False))
        return
    out.rule(f"[bold]{found.display_name or found.id}[/bold]  ({found.id})")
    out.print(brief.headline)
    facts = Table("what we already know", "value", "from", "when", box=None)
    for fact in brief.facts:
        facts.add_row(
            fact.field,
            fact.value if fact.value is not None else f"(already given in {fact.channel})",
            f"{fact.source} ({fact.channel})",
            f"{fact.at:%Y-%m-%d}",
        )
    out.print(facts)
    idents = Table("identifier", "value", "first seen in", box=None)
    for ident in found.identifiers:
        idents.add_row(ident.kind, ident.value, ident.source or "")
    out.print(idents)
    timeline = Table("when (UTC)", "channel", "what", "text", box=None)
    for item in items:
        timeline.add_row(
            f"{item.at:%Y-%m-%d %H:%M}",
            item.channel,
            item.event or item.type,
            (item.text or "")[:90],
        )
    out.print(timeline)


def rebuild() -> None:
    """Drop every derived profile and replay the whole event log (same answers, by design)."""
    ws = open_workspace()
    with progress_bar() as bar:
        bar.stage("Rebuilding profiles", None)
        result = rebuild_profiles(
            ws.engine,
            region=ws.settings.default_region,
            policy=ws.settings.identity_policy,
            on_progress=bar.advance,
        )
    out.print(
        f"replayed {result.events} events: {result.profiles_created} profiles, "
        f"{result.merges} merges"
    )


@sources_app.command("list")
def sources_list() -> None:
    """List sources with their channel and write-key prefix."""
    ws = open_workspace()
    with ws.session() as session:
        rows = list_sources(session)
    table = Table("name", "channel", "label", "write key", "created")
    for s in rows:
        table.add_row(
            s.name, s.channel, s.label or "", s.write_key_prefix + "…", f"{s.created_at:%Y-%m-%d}"
        )
    out.print(table)


@sources_app.command("create")
def sources_create(
    name: Annotated[str, typer.Argument(help="Slug, e.g. website or call-centre.")],
    channel: Annotated[str, typer.Option(help=f"One of: {', '.join(CHANNELS)}.")],
    label: Annotated[str | None, typer.Option(help="Human-readable label.")] = None,
) -> None:
    """Create a source and print its write key (shown once)."""
    ws = open_workspace()
    with ws.session() as session:
        source, key = do_create_source(
            session, actor=cli_actor(), name=name, channel=channel, label=label
        )
    out.print(f"source [bold]{source.name}[/bold] ({source.channel}) created; write key:")
    out.print(f"  [bold green]{key}[/bold green]")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="Who or what will use the token.")],
    scope: Annotated[
        list[str] | None, typer.Option(help=f"Scopes ({', '.join(SCOPES)}); default admin.")
    ] = None,
    role: Annotated[
        str | None, typer.Option(help=f"A role instead of scopes: {', '.join(ROLES)}.")
    ] = None,
    department: Annotated[
        str | None,
        typer.Option(
            help="Hold an agent's or viewer's token to one department of the journey "
            "map (its customers and its touchpoints' figures only)."
        ),
    ] = None,
) -> None:
    """Create an API token and print it (shown once)."""
    if role is not None and scope:
        raise InvalidInput("give a --role or --scope options, not both")
    if role is not None and role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; the roles are {', '.join(ROLES)}")
    scopes = ROLES[role] if role is not None else tuple(scope or ["admin"])
    ws = open_workspace()
    with ws.session() as session:
        _, token = do_create_token(session, actor=cli_actor(), name=name, scopes=scopes,
                                   department=department)  # fmt: skip
    out.print(f"[bold green]{token}[/bold green]")


def _count_lines(path: Path) -> int | None:
    try:
        with path.open("rb") as handle:
            return max(sum(1 for _ in handle) - (1 if path.suffix.lower() == ".csv" else 0), 0)
    except OSError:
        return None

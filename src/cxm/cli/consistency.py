"""``cxm consistency``: the canonical facts, the conflicts between channels (most exposed
first) and customers forced into duplicate accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace, print_rejected

out = Console()
consistency_app = typer.Typer(help="One truth across channels: facts and conflicts.",
                              no_args_is_help=True)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(consistency_app, name="consistency")


@consistency_app.command("load")
def load(path: Annotated[Path, typer.Argument(help="A YAML or JSON file with 'facts:'.")]) -> None:
    """Save every fact of FILE; bad ones are listed with where and why."""
    from cxm.consistency import do_load_facts

    ws = open_workspace()
    with ws.session() as s:
        report = do_load_facts(s, text=path.read_text(encoding="utf-8"), actor=cli_actor())
    out.print(f"{len(report.saved)} facts saved")
    print_rejected(out, report.rejected)


@consistency_app.command("check")
def check(
    department: Annotated[str | None, typer.Option(help="Only this department's.")] = None,
) -> None:
    """Conflicts between what each channel says and the canonical facts, most exposed first."""
    from cxm.consistency import duplicate_accounts, find_conflicts

    ws = open_workspace()
    ws.sync_lake()
    report = find_conflicts(ws)
    found = [c for c in report.conflicts if department in (None, c.department)]
    table = Table(title=f"{len(found)} conflicts in {report.facts} facts")
    for column in ("fact", "conflict", "channel", "where", "lang", "says", "should say",
                   "customers", "department"):  # fmt: skip
        table.add_column(column)
    for c in found:
        table.add_row(c.fact, c.kind, c.channel, c.where, c.language or "", c.stated or "",
                      c.expected or "", "–" if c.exposure is None else str(c.exposure),
                      c.department or "")  # fmt: skip
    out.print(table)
    with ws.session() as s:
        duplicates = duplicate_accounts(s)
    out.print(f"duplicate accounts: {duplicates.with_duplicates} of {duplicates.people} people "
              f"opened a second account within {duplicates.within_days} days")  # fmt: skip

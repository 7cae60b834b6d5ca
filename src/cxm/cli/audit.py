"""``cxm audit``: read the audit log, check its hash chain, export it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import select

from cxm.cli.context import open_workspace

out = Console()
audit_app = typer.Typer(help="The audit log: verify its hash chain, export it.",
                        no_args_is_help=True)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify() -> None:
    """Seal what is settled, then check every entry's link, hash and digest; prints the head
    (write it down elsewhere: a log rewritten from the start would not reproduce it)."""
    from cxm.audit import seal_chain, verify_chain
    from cxm.store.engine import write_intent

    ws = open_workspace()
    with write_intent(), ws.session() as s:
        sealed = seal_chain(s)
        report = verify_chain(s)
    out.print(f"{report.sealed} entries in the chain ({sealed} sealed now, {report.unsealed} "
              f"too recent to seal), {report.redacted} redacted by erasures")  # fmt: skip
    out.print(f"head: position {report.head_seal}, hash {report.head_hash}")
    if report.problems:
        for problem in report.problems:
            out.print(f"[red]{escape(problem)}[/red]")
        raise typer.Exit(1)
    out.print("the chain is intact")


@audit_app.command("export")
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="The JSON Lines file to write.")],
) -> None:
    """Every entry with its chain fields, oldest first, one JSON object per line."""
    from cxm.audit.tables import audit_log

    ws = open_workspace()
    count = 0
    with ws.session() as s, output.open("wb") as handle:
        for row in s.execute(select(audit_log).order_by(audit_log.c.id)):
            entry = dict(row._mapping)
            entry["details"] = orjson.loads(entry["details"])
            handle.write(orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n")
            count += 1
    out.print(f"wrote {count} entries to {output}")

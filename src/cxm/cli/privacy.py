"""``cxm privacy``: a person's data exported or erased everywhere, tombstones lifted, and the
retention policy applied."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from cxm.cli.context import cli_actor, open_workspace

out = Console()
privacy_app = typer.Typer(help="Personal data: export, erasure, tombstones.",
                          no_args_is_help=True)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


@privacy_app.command("export")
def export(
    customer: Annotated[str, typer.Argument(help="Profile id, e-mail, phone or user id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip file to write.")],
    reason: Annotated[str, typer.Option(help="The request (date, reference); kept in the log.")],
) -> None:
    """Everything cxm holds on one person, as a zip of JSON files (the right of access)."""
    from cxm.privacy import do_export

    ws = open_workspace()
    data, counts = do_export(ws, ref=customer, actor=cli_actor(), reason=reason)
    output.write_bytes(data)
    held = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    out.print(f"wrote {output} ({len(data):,} bytes): {escape(held)}")


@privacy_app.command("erase")
def erase(
    customer: Annotated[str, typer.Argument(help="Profile id, e-mail, phone or user id.")],
    reason: Annotated[str, typer.Option(help="The request (date, reference); kept in the log.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase one person everywhere (store, lake, texts, scores, audit details) and keep
    tombstones so their old events cannot recreate them; prints the proof."""
    from cxm.privacy import do_erase, find_subject

    ws = open_workspace()
    with ws.session() as s:
        subject = find_subject(s, customer)
    if not yes:
        typer.confirm(
            f"erase {subject.profile_id} ({len(subject.seqs)} events, {len(subject.identifiers)} "
            "identifiers) for good?",
            abort=True,
        )
    report = do_erase(ws, ref=customer, actor=cli_actor(), reason=reason)
    removed = ", ".join(f"{table} {n}" for table, n in sorted(report.removed.items()))
    out.print(f"erasure request {report.request_id}: removed {escape(removed)}")
    out.print(f"lake rows: {report.lake_rows_before} before, {report.lake_rows_after} after; "
              f"{report.redacted_audit_entries} audit entries redacted; "
              f"{report.tombstones} tombstones")  # fmt: skip
    if report.shared_identifiers_kept:
        out.print(f"{report.shared_identifiers_kept} identifiers shared with other customers "
                  "were kept (and are not blocked)")  # fmt: skip
    if report.traces:
        out.print(f"[red]traces left: {report.traces}[/red]")
        raise typer.Exit(1)
    out.print("no trace of them is left in the store or the lake")


@privacy_app.command("allow")
def allow(
    kind: Annotated[str, typer.Argument(help="email, phone, user_id, anonymous_id …")],
    value: Annotated[str, typer.Argument(help="The identifier.")],
    basis: Annotated[str, typer.Option(help="The new lawful basis (contract, consent …).")],
) -> None:
    """Take events with this identifier again: an erased person is back under a new basis."""
    from cxm.privacy.tombstones import do_allow

    ws = open_workspace()
    secret = ws.secret_key
    with ws.session() as s:
        do_allow(s, secret=secret, kind=kind, value=value, basis=basis,
                 actor=cli_actor(), region=ws.settings.default_region)  # fmt: skip
    out.print(f"events with this {kind} are taken again")


@privacy_app.command("retention")
def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what falls past the policy; remove nothing.")
    ] = False,
) -> None:
    """Apply the retention policy (CXM_RETENTION) now; the worker applies it every day."""
    from cxm.privacy.retention import apply_retention

    ws = open_workspace()
    if not ws.settings.retention:
        out.print("no retention policy: set CXM_RETENTION (e.g. customers=1095,events=730)")
        return
    report = apply_retention(ws, actor=cli_actor(), dry_run=dry_run)
    for kind, cutoff in report.cutoffs.items():
        n = report.found.get(kind, 0)
        verb = "would remove" if dry_run else "removed"
        out.print(f"{kind}: older than {cutoff[:10]}: {verb} {n:,}")
    if report.removed:
        out.print("rows: " + escape(", ".join(f"{t} {n:,}" for t, n in report.removed.items())))
    if report.request_id is not None:
        out.print(f"recorded as retention run {report.request_id}")

"""``cxm cases``: build cases from the event log, list and show them, open and update them,
import a helpdesk export, and see where customers are asked again for what we knew."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace
from cxm.cli.progress import progress_bar

out = Console()
cases_app = typer.Typer(
    help="Omnichannel cases: build, list, show, open, update, import, asked-again.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")


@cases_app.command("build")
def build(
    full: Annotated[
        bool,
        typer.Option("--full", help="Place every event again (after a journey map change)."),
    ] = False,
) -> None:
    """Place the events that arrived since the last run into cases."""
    from cxm.cases import pending_events

    ws = open_workspace()
    ws.catch_up()
    with ws.session() as s:
        total = pending_events(s)
    with progress_bar() as bar:
        bar.stage("Placing events into cases", total)
        report = ws.build_cases(full=full, progress=bar.advance)
    out.print(
        f"read {report.events} events: {report.placed} placed, {report.opened} cases opened, "
        f"{report.data_requests} requests for data, {report.refreshed} cases updated"
    )


@cases_app.command("list")
def list_(
    status: Annotated[
        list[str] | None, typer.Option(help="open, pending, resolved, closed (repeatable).")
    ] = None,
    department: Annotated[str | None, typer.Option(help="Department id.")] = None,
    channel: Annotated[str | None, typer.Option(help="Channel the case was opened in.")] = None,
    customer: Annotated[str | None, typer.Option(help="Profile id, e-mail, phone …")] = None,
    breached: Annotated[bool, typer.Option(help="Only cases past a due time.")] = False,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The inbox: open and pending cases (or those you ask for), most recently active first."""
    from cxm.cases import CaseFilter, list_cases
    from cxm.profiles import resolve_profile_id
    from cxm.store.metadata import utcnow

    ws = open_workspace()
    with ws.session() as s:
        profile_id = resolve_profile_id(s, customer) if customer else None
        extra = {"status": status} if status else {}
        query = CaseFilter(**extra, department=department, channel=channel,
                           profile_id=profile_id, breached=breached, limit=limit)  # fmt: skip
        page = list_cases(s, query)
    now = utcnow()
    if as_json:
        body = {"total": page.total, "cases": [c.to_dict(now=now) for c in page.cases]}
        typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"{page.total} cases")
    for column in ("ref", "status", "priority", "department", "customer", "title", "contacts",
                   "handoffs", "asked again", "late"):  # fmt: skip
        table.add_column(column)
    for c in page.cases:
        table.add_row(c.ref, c.status, c.priority, c.department or "-",
                      escape(c.customer_name or c.profile_id), escape(c.title[:60]),
                      str(c.contacts), str(c.handoffs), str(c.asked_again),
                      ", ".join(c.breaches(now)) or "-")  # fmt: skip
    out.print(table)


@cases_app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="The case's reference.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One case with everything that happened in it, across every channel."""
    from cxm.store.metadata import utcnow

    ws = open_workspace()
    case = ws.case(ref)
    if as_json:
        typer.echo(orjson.dumps(case.to_dict(now=utcnow()), option=orjson.OPT_INDENT_2).decode())
        return
    out.print(f"[bold]{escape(case.ref)}[/bold] {escape(case.title)}")
    out.print(
        f"{case.status} · {case.priority} · held by {case.department or '-'} · "
        f"{case.contacts} contacts in {case.channels} channels · {case.handoffs} handoffs · "
        f"asked again {case.asked_again}× · reopened {case.reopened}×"
    )
    late = ", ".join(case.breaches(utcnow()))
    if late:
        out.print(f"[red]past due: {late}[/red]")
    for a in case.activity:
        what = a.event or a.kind
        extra = {k: v for k, v in a.detail.items() if k not in ("response",)}
        out.print(
            f"  {a.at:%Y-%m-%d %H:%M}  {a.kind:<12} {a.channel or '-':<13} "
            f"{a.department or '-':<16} {escape(what)} {escape(str(extra)) if extra else ''}"
        )


@cases_app.command("open")
def open_(
    customer: Annotated[str, typer.Argument(help="Profile id, user id, e-mail or phone.")],
    title: Annotated[str, typer.Argument(help="What the case is about.")],
    priority: Annotated[str, typer.Option(help="urgent, high, normal or low.")] = "normal",
    department: Annotated[str | None, typer.Option(help="Who holds it.")] = None,
    ref: Annotated[str | None, typer.Option(help="Your reference (default: cxm's).")] = None,
    note: Annotated[str | None, typer.Option(help="A first note.")] = None,
) -> None:
    """Open a case by hand."""
    from cxm.cases import do_open_case
    from cxm.profiles import resolve_profile_id

    ws = open_workspace()
    ws.catch_up()
    with ws.session() as s:
        profile_id = resolve_profile_id(s, customer)
        case = do_open_case(session=s, actor=cli_actor(), policy=ws.case_policy,
                            profile_id=profile_id, title=title, priority=priority,
                            department=department, ref=ref, note=note)  # fmt: skip
    out.print(f"opened {case.ref}")


@cases_app.command("update")
def update(
    ref: Annotated[str, typer.Argument(help="The case's reference.")],
    status: Annotated[str | None, typer.Option(help="open, pending, resolved, closed.")] = None,
    priority: Annotated[str | None, typer.Option(help="urgent, high, normal, low.")] = None,
    department: Annotated[str | None, typer.Option(help="Hand it to this department.")] = None,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    note: Annotated[str | None, typer.Option(help="Add a note.")] = None,
) -> None:
    """Change a case's status, priority, department or title, or add a note."""
    from cxm.cases import do_update_case

    ws = open_workspace()
    with ws.session() as s:
        case = do_update_case(session=s, actor=cli_actor(), policy=ws.case_policy, ref=ref,
                              status=status, priority=priority, department=department,
                              title=title, note=note)  # fmt: skip
    out.print(f"{case.ref}: {case.status}, {case.priority}, held by {case.department or '-'}")


@cases_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The helpdesk's CSV export.")],
    helpdesk: Annotated[str, typer.Option(help="zendesk, freshdesk or generic.")] = "generic",
    source: Annotated[
        str | None, typer.Option(help="Source to store under (default helpdesk-NAME).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Where to write rejected rows (default FILE.errors.jsonl).")
    ] = None,
) -> None:
    """Import a helpdesk export: each ticket becomes (or moves on) its case."""
    from cxm.cases.helpdesk import do_import_helpdesk

    ws = open_workspace()
    result, report_path = do_import_helpdesk(
        ws.engine, session=ws.session, actor=cli_actor(), path=file, preset=helpdesk,
        source=source, report_path=report, max_event_bytes=ws.settings.max_event_bytes,
            never_store=ws.settings.never_store,
        region=ws.settings.default_region,
    )  # fmt: skip
    ws.catch_up()
    built = ws.build_cases()
    out.print(
        f"{result.stored} tickets stored, {result.duplicates} already present, "
        f"{len(result.rejected)} rejected; {built.opened} cases opened"
    )
    for rejection in result.rejected[:10]:
        out.print(f"  [red]{rejection['where']}[/red]: {escape(str(rejection['message']))}")
    if report_path is not None:
        out.print(f"every rejected row with its reason: {report_path}")
        raise typer.Exit(1 if result.accepted == 0 else 0)


@cases_app.command("asked-again")
def asked_again(
    by: Annotated[str, typer.Option(help="touchpoint, department or channel.")] = "touchpoint",
) -> None:
    """Where customers are asked for data the company already held, worst first."""
    from cxm.cases import asked_again_report

    ws = open_workspace()
    with ws.session() as s:
        rows = asked_again_report(s, by=by)
    table = Table(title=f"Asked again, by {by}")
    for column in (by, "requests", "asked again", "share", "95% interval", "fields"):
        table.add_column(column)
    for r in rows:
        interval = f"{r.low:.0%}–{r.high:.0%}" if r.low is not None and r.high is not None else "-"
        table.add_row(str(r.key or "-"), str(r.requests), str(r.repeated),
                      f"{r.share:.0%}" if r.share is not None else "-", interval,
                      ", ".join(f"{f} {n}" for f, n in r.top_fields))  # fmt: skip
    out.print(table)

"""``cxm automation``: load rules from YAML, list and show them, try them (dry run, simulation
over past data), run them once, and look after the dead letters."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import orjson
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace
from cxm.errors import InvalidInput

out = Console()
automation_app = typer.Typer(
    help="Automation rules: load, list, show, enable, disable, dry-run, simulate, run, jobs.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(automation_app, name="automation")


def _echo(data: object) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode())


@automation_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="A rule in YAML (or JSON); a list of rules too.")],
    replace: Annotated[bool, typer.Option(help="Replace rules of the same name.")] = False,
) -> None:
    """Check and store rules; every problem is listed with where it is."""
    from cxm.automation import do_save_rule

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot read {file}: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    ws = open_workspace()
    with ws.session() as s:
        for item in items:
            stored = do_save_rule(session=s, actor=cli_actor(), data=item, replace=replace)
            state = "enabled" if stored.enabled else "disabled"
            out.print(f"saved {stored.rule.name} (version {stored.version}, {state})")


@automation_app.command("list")
def list_() -> None:
    """Every rule, its trigger and its firings in the last 30 days."""
    from datetime import timedelta

    from cxm.automation import list_rules
    from cxm.automation.queries import rule_stats
    from cxm.store.metadata import utcnow

    ws = open_workspace()
    table = Table(title="Automation rules")
    for column in ("rule", "enabled", "trigger", "actions", "fired 30d", "suppressed 30d", "dead"):
        table.add_column(column)
    with ws.session() as s:
        for r in list_rules(s):
            stats = rule_stats(s, r.rule.name, since=utcnow() - timedelta(days=30))
            table.add_row(
                r.rule.name, "yes" if r.enabled else "no",
                escape(orjson.dumps(r.rule.trigger.to_data()).decode()),
                ", ".join(a.kind for a in r.rule.actions),
                str(stats["firings"].get("fired", 0)), str(stats["firings"].get("suppressed", 0)),
                str(stats["jobs"].get("dead", 0)),
            )  # fmt: skip
    out.print(table)


@automation_app.command("show")
def show(name: Annotated[str, typer.Argument(help="The rule's name.")]) -> None:
    """A rule as stored, as YAML."""
    from cxm.automation import get_rule

    ws = open_workspace()
    with ws.session() as s:
        stored = get_rule(s, name)
    typer.echo(yaml.safe_dump({**stored.rule.source, "enabled": stored.enabled},
                              allow_unicode=True, sort_keys=False))  # fmt: skip


@automation_app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="The rule's name.")]) -> None:
    """Enable a rule."""
    from cxm.automation import do_set_rule_enabled

    ws = open_workspace()
    with ws.session() as s:
        do_set_rule_enabled(session=s, actor=cli_actor(), name=name, enabled=True)
    out.print(f"{name} enabled")


@automation_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="The rule's name.")]) -> None:
    """Disable a rule (it stops firing; its pending actions still run)."""
    from cxm.automation import do_set_rule_enabled

    ws = open_workspace()
    with ws.session() as s:
        do_set_rule_enabled(session=s, actor=cli_actor(), name=name, enabled=False)
    out.print(f"{name} disabled")


@automation_app.command("simulate")
def simulate(
    name: Annotated[str, typer.Argument(help="The rule's name.")],
    start: Annotated[str, typer.Option(help="First UTC day included (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="First UTC day excluded (YYYY-MM-DD).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How many customers the rule would have hit over past events."""
    from cxm.automation import get_rule
    from cxm.automation.queries import simulate_rule
    from cxm.store.metadata import utcnow

    def day(text: str, flag: str) -> datetime:
        try:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        except ValueError as exc:
            raise InvalidInput(f"--{flag} takes a date YYYY-MM-DD, got {text!r}") from exc

    ws = open_workspace()
    ws.catch_up()
    with ws.session() as s:
        sim = simulate_rule(s, get_rule(s, name).rule, start=day(start, "start"),
                            end=day(end, "end"), now=utcnow())  # fmt: skip
    if as_json:
        _echo(sim.to_dict())
        return
    out.print(
        f"{name}, {start} … {end}: {sim.triggers} triggers from {sim.customers} customers; "
        f"would fire {sim.would_fire}× for {sim.customers_hit} customers "
        f"({sim.deferred} after quiet hours); conditions not met {sim.skipped}; "
        f"suppressed {sim.suppressed or 'none'}"
    )


@automation_app.command("dry-run")
def dry_run_(
    name: Annotated[str, typer.Argument(help="The rule's name.")],
    customer: Annotated[str, typer.Argument(help="Profile id, e-mail, phone or user id.")],
    event: Annotated[str | None, typer.Option(help="A trigger event's name to try.")] = None,
    prop: Annotated[
        list[str] | None, typer.Option(help="The event's property key=value (repeatable).")
    ] = None,
) -> None:
    """What the rule would do for one customer now, each action filled in; nothing is sent."""
    from cxm.automation import get_rule
    from cxm.automation.queries import dry_run
    from cxm.profiles import resolve_profile_id
    from cxm.store.metadata import utcnow

    props = {}
    for item in prop or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--prop takes key=value, got {item!r}")
        props[key] = yaml.safe_load(value)
    ws = open_workspace()
    ws.catch_up()
    with ws.session() as s:
        trigger = {"name": event, "properties": props} if event else None
        result = dry_run(s, get_rule(s, name).rule, profile_id=resolve_profile_id(s, customer),
                         now=utcnow(), event=trigger)  # fmt: skip
    _echo(result)


@automation_app.command("run")
def run() -> None:
    """Run the rules over new events, due schedules and segment entries, and deliver due
    actions, once (the worker does this every few seconds)."""
    ws = open_workspace()
    ws.catch_up()
    report = ws.automation.run_once()
    out.print(
        f"{report['fired']} fired, {report['suppressed']} suppressed, {report['too_old']} too "
        f"old; actions: {report['done']} done, {report['retrying']} to retry, "
        f"{report['dead']} dead, {report['cancelled']} cancelled"
    )
    for error in report["errors"][:10]:
        out.print(f"  [red]{escape(error)}[/red]")


@automation_app.command("jobs")
def jobs(
    status: Annotated[str | None, typer.Option(help="dead lists the dead letters.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule's jobs.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 30,
) -> None:
    """Action jobs, newest first."""
    from cxm.automation.queries import list_jobs

    ws = open_workspace()
    with ws.session() as s:
        rows = list_jobs(s, status=status, rule=rule, limit=limit)
    table = Table(title="Automation jobs")
    for column in ("id", "rule", "kind", "status", "attempts", "due", "last error"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["id"]), r["rule"], r["kind"], r["status"], str(r["attempts"]),
                      str(r["due_at"])[:19], escape((r["last_error"] or "")[:80]))  # fmt: skip
    out.print(table)


@automation_app.command("retry")
def retry(job: Annotated[int, typer.Argument(help="The dead job's id.")]) -> None:
    """Send a dead letter again."""
    from cxm.automation import do_retry_job

    ws = open_workspace()
    with ws.session() as s:
        do_retry_job(session=s, actor=cli_actor(), job_id=job)
    out.print(f"job {job} queued again")


@automation_app.command("uplift")
def uplift_(
    rule: Annotated[str | None, typer.Argument(help="A campaign rule's name.")] = None,
    campaign: Annotated[
        str | None, typer.Option(help="A campaign run elsewhere (Campaign Assigned events).")
    ] = None,
    goal_event: Annotated[str | None, typer.Option(help="Its success event.")] = None,
    where: Annotated[
        list[str] | None, typer.Option(help="property=value of the goal (repeatable).")
    ] = None,
    days: Annotated[int, typer.Option(help="Window after the assignment.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A campaign against its holdout: conversion, churn and NPS, with 95 % intervals."""
    from cxm.automation import get_rule
    from cxm.automation.campaigns import event_campaign_uplift, rule_uplift
    from cxm.automation.rules import Goal
    from cxm.journeys.service import current_journey_map
    from cxm.store.metadata import utcnow

    if (rule is None) == (campaign is None):
        raise InvalidInput("name a campaign rule, or --campaign NAME --goal-event EVENT")
    ws = open_workspace()
    ws.catch_up()
    with ws.session() as s:
        journey = current_journey_map(s)
        if rule is not None:
            report = rule_uplift(s, get_rule(s, rule).rule, journey=journey, now=utcnow())
        else:
            if not goal_event:
                raise InvalidInput("--campaign needs --goal-event (and --where, --days)")
            conditions = {}
            for item in where or []:
                key, sep, value = item.partition("=")
                if not sep:
                    raise InvalidInput(f"--where takes property=value, got {item!r}")
                conditions[key] = value
            goal = Goal(goal_event, conditions, days)
            assert campaign is not None
            report = event_campaign_uplift(s, campaign, goal, journey=journey, now=utcnow())
    body = report.to_dict()
    if as_json:
        _echo(body)
        return
    t, h = body["treatment"], body["holdout"]
    out.print(
        f"{body['campaign']}: treatment {t['measured']} measured of {t['assigned']}, "
        f"holdout {h['measured']} of {h['assigned']} (window {body['goal']['days']} days)"
    )
    for key in ("conversion", "churn", "nps"):
        c = body[key]
        if c is None or c["uplift"] is None:
            out.print(f"  {key}: not enough data")
            continue
        scale = 1 if key == "nps" else 100
        unit = "" if key == "nps" else " pp"
        out.print(
            f"  {key}: treatment {c['treatment'] * scale:.1f} vs holdout "
            f"{c['holdout'] * scale:.1f}: uplift {c['uplift'] * scale:+.1f}{unit} "
            f"(95% {c['low'] * scale:+.1f} … {c['high'] * scale:+.1f}; p = {c['p_value']:.3g})"
        )


@automation_app.command("secret")
def secret() -> None:
    """The key webhooks are signed with (X-Cxm-Signature: sha256=HMAC(key, timestamp.body))."""
    ws = open_workspace()
    typer.echo(ws.automation.webhook_secret.decode())

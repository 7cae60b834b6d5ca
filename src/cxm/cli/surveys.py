"""``cxm surveys``: definitions, invitations by hand or to a segment, triggers, reminders,
responses; and the survey jobs the background worker runs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace
from cxm.errors import CxmError, InvalidInput

if TYPE_CHECKING:
    from cxm.surveys import InviteOutcome
    from cxm.workspace import Workspace

out = Console()
err = Console(stderr=True)
log = logging.getLogger("cxm.worker")
surveys_app = typer.Typer(
    help="Surveys: definitions, invitations, triggers, reminders and responses.",
    no_args_is_help=True,
)

SurveyId = Annotated[str, typer.Argument(metavar="ID", help="The survey's id.")]
DefinitionFile = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        help="A definition in YAML (.yaml, .yml) or JSON (.json).",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(surveys_app, name="surveys")


def run_survey_jobs(ws: Workspace) -> None:
    """The worker's survey jobs: invitations for touchpoint events, then due reminders.

    A failure is logged and tried again at the next interval; the two jobs fail apart.
    """
    from cxm.surveys import run_survey_reminders, run_survey_triggers

    settings = ws.settings
    try:
        done = run_survey_triggers(
            ws.session,
            fatigue_days=settings.survey_fatigue_days,
            max_age_days=settings.survey_trigger_max_age_days,
        )
        if done.sent or done.suppressed or done.rejected:
            log.info(
                "survey triggers: %d sent, %d suppressed, %d rejected",
                done.sent,
                done.suppressed,
                done.rejected,
            )
        if done.missing_touchpoints:
            log.warning(
                "surveys wait for touchpoints the journey map no longer has: %s",
                ", ".join(done.missing_touchpoints),
            )
    except Exception:
        log.exception("the survey triggers failed; trying again later")
    try:
        reminded = run_survey_reminders(ws.session)
        if reminded.reminded:
            log.info("survey reminders recorded: %d", len(reminded.reminded))
    except Exception:
        log.exception("the survey reminders failed; trying again later")


def read_definition_file(file: Path) -> Any:
    """A definition file's data: YAML for .yaml/.yml, JSON for .json."""
    suffix = file.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise InvalidInput(f"{file.name}: give a .yaml, .yml or .json file")
    text = file.read_text(encoding="utf-8")
    try:
        return orjson.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if suffix == ".json" else "YAML"
        raise InvalidInput(f"{file.name} is not valid {kind}: {exc}") from exc


def refuse(exc: CxmError) -> typer.Exit:
    """Print every problem of a refused definition (each with its place) for ``raise``."""
    err.print(f"[red]error[/red] ({exc.code}): {escape(exc.message)}")
    for detail in exc.errors:
        err.print(f"  {detail.message}", markup=False, highlight=False)
    if exc.errors:
        err.print(f"{len(exc.errors)} problem(s); nothing was saved", style="red")
    return typer.Exit(2)


@surveys_app.command("list")
def list_() -> None:
    """Every survey (newest version) with its invitations and response rate."""
    from cxm.store.metadata import utcnow
    from cxm.surveys import invitation_counts, list_surveys

    ws = open_workspace()
    table = Table(title="Surveys")
    for column in ("id", "kind", "audience", "languages", "trigger", "version"):
        table.add_column(column)
    for column in ("sent", "answered", "suppressed", "response rate"):
        table.add_column(column, justify="right")
    with ws.session() as session:
        stored = list_surveys(session)
        for s in stored:
            d = s.definition
            counts = invitation_counts(session, d.id, now=utcnow())
            table.add_row(
                d.id,
                d.kind,
                d.audience,
                ", ".join(d.languages),
                _trigger(d.trigger.to_dict()),
                str(s.version),
                str(counts["sent"] + counts["answered"] + counts["expired"]),
                str(counts["answered"]),
                str(counts["suppressed"]),
                _rate(counts["response_rate"]),
            )
    out.print(table)
    out.print(f"{len(stored)} survey(s)")


@surveys_app.command("show")
def show(
    survey: SurveyId,
    limit: Annotated[int, typer.Option(help="Newest invitations listed.")] = 20,
) -> None:
    """A survey: its definition, invitation counts, and the newest invitations."""
    from cxm.store.metadata import utcnow
    from cxm.surveys import get_survey, invitation_counts, list_invitations

    ws = open_workspace()
    now = utcnow()
    with ws.session() as session:
        stored = get_survey(session, survey)
        counts = invitation_counts(session, survey, now=now)
        invitations = list_invitations(session, survey, now=now, limit=limit)
    d = stored.definition
    out.print(
        f"[bold]{escape(d.name)}[/bold] ({d.id}, version {stored.version}): {d.kind}, for "
        f"{d.audience}s, in {', '.join(d.languages)}; trigger {_trigger(d.trigger.to_dict())}; "
        f"answer within {d.expires_days} days"
        + (f", reminder after {d.reminder_days}" if d.reminder_days else "")
        + (", anonymous" if d.anonymous else "")
    )
    questions = Table("question", "type", "required", f"text ({d.languages[0]})")
    for q in d.questions:
        questions.add_row(q.id, q.type, "yes" if q.required else "", escape(q.text[d.languages[0]]))
    out.print(questions)
    out.print(
        f"invitations: {counts['sent']} waiting, {counts['answered']} answered, "
        f"{counts['expired']} expired, {counts['suppressed']} suppressed; "
        f"response rate {_rate(counts['response_rate'])}"
    )
    table = Table(title="Newest invitations")
    for column in ("invitation", "to", "touchpoint", "case", "lang", "status", "sent", "reminder"):
        table.add_column(column)
    for i in invitations:
        table.add_row(
            i.id,
            i.profile_id or i.department or "",
            i.touchpoint or "",
            i.case_ref or "",
            i.language,
            i.status,
            f"{i.created_at:%Y-%m-%d %H:%M}",
            f"{i.reminded_at:%Y-%m-%d} ({i.reminder_delivery})" if i.reminded_at else "",
        )
    out.print(table)


@surveys_app.command("create")
def create(file: DefinitionFile) -> None:
    """Check a definition file and save it (a new survey, or the next version of one)."""
    from cxm.surveys import SurveyDefinitionInvalid, do_save_survey

    data = read_definition_file(file)
    ws = open_workspace()
    try:
        with ws.session() as session:
            stored = do_save_survey(session=session, actor=cli_actor(), data=data)
    except SurveyDefinitionInvalid as exc:
        raise refuse(exc) from exc
    d = stored.definition
    out.print(
        f"survey [bold]{d.id}[/bold] saved as version {stored.version}: {d.kind}, "
        f"{len(d.questions)} question(s) in {', '.join(d.languages)}, "
        f"trigger {_trigger(d.trigger.to_dict())}"
    )


@surveys_app.command("invite")
def invite(
    survey: SurveyId,
    profile: Annotated[
        list[str] | None,
        typer.Option(help="A customer: profile id, e-mail, phone or user id (repeatable)."),
    ] = None,
    department: Annotated[
        list[str] | None, typer.Option(help="A department, for employee surveys (repeatable).")
    ] = None,
    touchpoint: Annotated[str | None, typer.Option(help="The touchpoint it asks about.")] = None,
    case_ref: Annotated[str | None, typer.Option(help="The case it asks about.")] = None,
    language: Annotated[str | None, typer.Option(help="One of the survey's languages.")] = None,
) -> None:
    """Invite customers (or departments) by hand; prints each one's link or why not."""
    from cxm.store.metadata import utcnow
    from cxm.surveys import do_invite_batch

    if not profile and not department:
        raise InvalidInput("name whom to invite: --profile (customers) or --department")
    ws = open_workspace()
    with ws.session() as session:
        outcomes = do_invite_batch(
            session=session,
            actor=cli_actor(),
            survey=survey,
            profile_ids=profile or [],
            departments=department or [],
            touchpoint=touchpoint,
            case_ref=case_ref,
            language=language,
            now=utcnow(),
            fatigue_days=ws.settings.survey_fatigue_days,
        )
    _print_outcomes(outcomes, [*(profile or []), *(department or [])])


@surveys_app.command("send")
def send(survey: SurveyId) -> None:
    """Invite every customer in the survey's segment (trigger {segment: NAME})."""
    from cxm.store.metadata import utcnow
    from cxm.surveys import do_send_to_segment

    ws = open_workspace()
    ws.catch_up()  # membership reads traits and activity the projector keeps
    with ws.session() as session:
        sent = do_send_to_segment(
            session=session,
            actor=cli_actor(),
            survey=survey,
            now=utcnow(),
            fatigue_days=ws.settings.survey_fatigue_days,
        )
    counts = sent.counts()
    out.print(
        f"survey {survey} to segment {sent.segment} ({sent.members} customers): "
        f"{counts['sent']} sent, {counts['suppressed']} suppressed, {counts['rejected']} rejected"
    )
    refused = [o for o in sent.outcomes if o.status == "rejected"]
    if refused:
        _print_outcomes(refused, [o.profile_id or "" for o in refused])


@surveys_app.command("remind")
def remind() -> None:
    """Record a reminder for every invitation due one (delivery by e-mail comes later)."""
    from cxm.surveys import run_survey_reminders

    ws = open_workspace()
    report = run_survey_reminders(ws.session)
    table = Table("invitation", "survey", "to", "language", "expires")
    for i in report.reminded:
        table.add_row(
            i.id,
            i.survey_id,
            i.profile_id or i.department or "",
            i.language,
            f"{i.expires_at:%Y-%m-%d}" if i.expires_at else "",
        )
    if report.reminded:
        out.print(table)
    out.print(
        f"{len(report.reminded)} reminder(s) recorded (Survey Reminder Sent; delivery pending: "
        "cxm sends no e-mail yet)"
    )


@surveys_app.command("run-triggers")
def run_triggers() -> None:
    """Invite for touchpoint events placed since the last run (the worker does this too)."""
    from cxm.surveys import run_survey_triggers

    ws = open_workspace()
    ws.catch_up()  # events are placed on customers first
    report = run_survey_triggers(
        ws.session,
        fatigue_days=ws.settings.survey_fatigue_days,
        max_age_days=ws.settings.survey_trigger_max_age_days,
    )
    out.print(
        f"{report.events} touchpoint event(s): {report.sent} sent, {report.suppressed} "
        f"suppressed, {report.rejected} rejected, {report.already} invited before; "
        f"read the event log up to #{report.position}"
    )
    if report.missing_touchpoints:
        err.print(
            "surveys wait for touchpoints the journey map no longer has: "
            + ", ".join(report.missing_touchpoints),
            style="yellow",
        )


@surveys_app.command("responses")
def responses(
    survey: SurveyId,
    limit: Annotated[int, typer.Option(help="At most this many, oldest first.")] = 100,
    offset: Annotated[int, typer.Option(help="Skip this many first.")] = 0,
) -> None:
    """A survey's responses: when, who, touchpoint, case, language, score, comment."""
    from cxm.surveys import get_survey, list_responses

    ws = open_workspace()
    with ws.session() as session:
        get_survey(session, survey)
        found = list_responses(session, survey, limit=limit, offset=offset)
    table = Table(title=f"Responses to {survey}")
    for column in ("#", "answered", "customer", "touchpoint", "case", "lang", "score", "comment"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    for r in found:
        table.add_row(
            str(r.id),
            f"{r.answered_at:%Y-%m-%d %H:%M}" if r.answered_at else "",
            r.profile_id or r.department or "(anonymous)",
            r.touchpoint or "",
            r.case_ref or "",
            r.language,
            "" if r.score is None else f"{r.score:g}",
            escape((r.comment or "")[:80]),
        )
    out.print(table)
    out.print(f"{len(found)} response(s)")


def _print_outcomes(outcomes: list[InviteOutcome], asked: list[str]) -> None:
    table = Table("asked", "customer", "status", "link or reason")
    for ref, o in zip(asked, outcomes, strict=True):
        detail = f"/s/{o.token}" if o.token else escape(o.reason or "")
        table.add_row(ref, o.profile_id or o.department or "", o.status, detail)
    out.print(table)
    tally = {s: sum(o.status == s for o in outcomes) for s in ("sent", "suppressed", "rejected")}
    out.print(", ".join(f"{n} {s}" for s, n in tally.items()))


def _trigger(trigger: dict[str, Any]) -> str:
    if "manual" in trigger:
        return "manual"
    ((kind, value),) = trigger.items()
    return f"{kind.replace('_', ' ')} {value}"


def _rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"

"""Loading the demo company into a workspace through the same paths as real data."""

from __future__ import annotations

import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import func, select

from cxm.auth import do_create_token, do_revoke_tokens_named
from cxm.config import Settings
from cxm.demo.lifecycle import CAMPAIGN, CAMPAIGN_ADDON, CAMPAIGN_HOLDOUT
from cxm.errors import NotFound, WorkspaceError
from cxm.identity.tables import profiles
from cxm.ingest import Source, do_create_source, do_ingest_events, get_source
from cxm.ingest.tables import events
from cxm.workspace import Workspace

DEMO_TOKEN_NAME = "demo-login"
DEMO_ACTOR = "system:demo"
_FLUSH_EVERY = 20_000


class Progress(Protocol):
    def stage(self, description: str, total: int | None) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class _Silent:
    def stage(self, description: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass(frozen=True)
class DemoResult:
    events: int
    sources: int
    profiles: int
    merges: int
    seconds: float


def demo_is_built(ws: Workspace) -> bool:
    return (ws.path / "demo" / "ground_truth.json").exists()


# What cxm itself keeps in a workspace; nothing else there is ever deleted.
WORKSPACE_FILES = ("cxm.db", "cxm.db-wal", "cxm.db-shm", "cxm.db-journal", "cxm.db.write-turn")
WORKSPACE_DIRS = ("demo", "lake", "models", "exports")


def reset_workspace(settings: Settings) -> None:
    """Remove cxm's own files from the workspace (refuses to touch a PostgreSQL store)."""
    if not settings.is_sqlite:
        raise WorkspaceError(
            "--fresh only resets the embedded SQLite workspace; drop the PostgreSQL database "
            "yourself if you mean it"
        )
    root = settings.workspace
    for name in WORKSPACE_FILES:
        (root / name).unlink(missing_ok=True)
    for name in WORKSPACE_DIRS:
        if (root / name).is_dir():
            shutil.rmtree(root / name)


def build_demo(
    ws: Workspace,
    *,
    customers: int = 5000,
    days: int = 365,
    seed: int = 7,
    progress: Progress | None = None,
) -> DemoResult:
    """Generate the demo company and ingest it: validation, event log, projector, as real data."""
    from cxm.demo.generator import generate_company

    bar = progress or _Silent()
    started = time.perf_counter()
    bar.stage("Generating the company", None)
    company = generate_company(seed=seed, customers=customers, days=days)
    by_name: dict[str, Source] = {}
    with ws.session() as session:
        for demo_source in company.sources:
            try:
                by_name[demo_source.name] = get_source(session, demo_source.name)
            except LookupError:
                by_name[demo_source.name], _ = do_create_source(
                    session,
                    actor=DEMO_ACTOR,
                    name=demo_source.name,
                    channel=demo_source.channel,
                    label=demo_source.label,
                )

    bar.stage("Ingesting events", len(company.events))
    pending: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)

    def flush() -> None:
        for name, batch in pending.items():
            report = do_ingest_events(
                ws.engine,
                source=by_name[name],
                events=batch,
                max_event_bytes=ws.settings.max_event_bytes,
            )
            if report.rejected:
                raise WorkspaceError(f"demo events were rejected: {report.rejected[:3]}")
            bar.advance(len(batch))
        pending.clear()

    for index, (source_name, event) in enumerate(company.events):
        pending[source_name].append((index, event))
        if (index + 1) % _FLUSH_EVERY == 0:
            flush()
    flush()

    with ws.session() as session:
        total = int(session.execute(select(func.count()).select_from(events)).scalar() or 0)
    bar.stage("Linking identifiers", total)
    result = ws.catch_up(on_progress=bar.advance, chunk_events=20_000)
    # Profiles that share no identifier: probabilistic matching, as `cxm resolve` does.
    matched = ws.resolve(full=True, on_stage=lambda stage: bar.stage(stage, None))
    bar.stage("Mapping the journey", None)
    _save_journey_map(ws)
    bar.stage("Writing the help centre", None)
    languages = {
        str(c["user_id"]): str(c["language"])
        for c in company.ground_truth["customers"].values()
        if c.get("user_id")
    }
    _help_centre(ws, seed=seed, days=days, languages=languages)
    bar.stage("Surveying customers and staff", None)
    _save_surveys(ws, seed=seed, days=days)
    bar.stage("Reading what customers wrote", total)
    ws.text.enrich(progress=bar.advance)
    bar.stage("Finding topics", None)
    ws.text.discover_topics(actor=DEMO_ACTOR)
    bar.stage("Opening cases", total)
    ws.build_cases(progress=bar.advance)
    bar.stage("Copying to the lake", None)
    ws.lake.rebuild(ws.engine)
    bar.stage("Taking the staff's monthly pulse", None)
    _run_pulse(ws, seed=seed, days=days)
    bar.stage("Registering the facts every channel should agree on", None)
    _save_facts(ws)
    bar.stage("Setting up automation", None)
    _save_rules(ws)
    bar.stage("Finding insights", None)
    # Churn scores, the drivers of churn and NPS, the anomaly watch (what cannot be judged on
    # a short history is refused with its reason, and the rest goes on).
    ws.insights.refresh(retrain=True)
    with ws.session() as session:
        live = session.execute(
            select(func.count()).select_from(profiles).where(profiles.c.merged_into.is_(None))
        ).scalar()
    (ws.path / "demo").mkdir(parents=True, exist_ok=True)
    (ws.path / "demo" / "ground_truth.json").write_bytes(
        orjson.dumps(company.ground_truth, option=orjson.OPT_INDENT_2)
    )
    return DemoResult(
        events=total,
        sources=len(company.sources),
        profiles=int(live or 0),
        merges=result.merges + matched.merged,
        seconds=time.perf_counter() - started,
    )


def _save_rules(ws: Workspace) -> None:
    """The demo's automation: a call back for detractors, and the Wi-Fi Booster campaign aimed
    at the topic the association report links with the booster (the one the marketing team
    ran with a holdout, whose past assignments the campaign's report measures)."""
    from cxm.automation import do_save_rule
    from cxm.insights import association_report
    from cxm.store.metadata import utcnow

    end = utcnow() + timedelta(days=1)
    with ws.session() as s:
        report = association_report(s, ws.query_engine(), start=end - timedelta(days=400),
                                    end=end)  # fmt: skip
        rules = [callback_rule(), alert_rule(), reminder_rule()]
        booster = [r for r in report.rules if r.significant and r.product == CAMPAIGN_ADDON]
        if booster:
            rules.append(campaign_rule(booster[0].problem_id))
        for rule in rules:
            do_save_rule(session=s, actor=DEMO_ACTOR, data=rule, replace=True)


def callback_rule() -> dict[str, Any]:
    return {
        "name": "detractor-callback",
        "description": "A detractor gets a call back from customer success, and a word in the app",
        "trigger": {"score": {"kind": "nps", "below": 7}},
        "actions": [
            {"case": {"title": "Call back {{ name }} (NPS {{ event.properties.score }})",
                      "department": "customer-success", "priority": "high"}},
            {"nudge": {"message": {
                "pl": "Dziękujemy za ocenę, {{ first_name }}. Zadzwonimy, by porozmawiać.",
                "en": "Thank you for your rating, {{ first_name }}. We will call you.",
                "ru": "Спасибо за оценку, {{ first_name }}. Мы вам позвоним."}}},
        ],
        "limits": {"per_customer": {"count": 1, "days": 30},
                   "quiet_hours": {"start": "21:00", "end": "08:00",
                                   "timezone": "Europe/Warsaw"}},
    }  # fmt: skip


def reminder_rule() -> dict[str, Any]:
    """A reminder after a failed payment, by e-mail, in the customer's language. Its Polish
    and English templates still quote the paper-invoice fee that ended on 30 June (planted:
    the consistency check finds it; docs/demo.md). Saved switched off, like every demo rule
    that writes to customers from outside the demo."""
    return {
        "name": "payment-reminder",
        "description": "A customer whose payment failed is reminded by e-mail",
        "enabled": False,
        "trigger": {"event": "Payment Failed"},
        "consent": "service",
        "actions": [{"email": {
            "subject": {"pl": "Płatność nie powiodła się", "en": "Your payment failed",
                        "ru": "Платёж не прошёл"},
            "body": {"pl": "Dzień dobry {{ first_name }}, prosimy o ponowną płatność. Pamiętaj: "
                           "faktura papierowa kosztuje 4 zł miesięcznie, e-faktura nic.",
                     "en": "Hello {{ first_name }}, please pay again. A paper invoice costs "
                           "4 PLN a month; an e-invoice is free.",
                     "ru": "Здравствуйте, {{ first_name }}! Пожалуйста, оплатите ещё раз."},
        }}],
    }  # fmt: skip


def alert_rule() -> dict[str, Any]:
    """Spikes in what customers complain about go to the network team's chat (saved switched
    off: the demo has no chat to post to; give it your webhook and switch it on)."""
    return {
        "name": "complaint-spike-to-network",
        "description": "A spike of complaints that concern the network department reaches its "
        "team chat the same day",
        "enabled": False,
        "trigger": {"alert": {"department": "network", "kind": "spike"}},
        "actions": [{"webhook": {"url": "https://chat.example.com/hooks/network-team"}}],
    }


def campaign_rule(topic: int) -> dict[str, Any]:
    return {
        "name": CAMPAIGN,
        "description": "Customers who report slow Wi-Fi often buy the booster: offer it, and "
        "measure the offer against a random quarter held out",
        "trigger": {"text_topic": topic},
        "consent": "marketing",
        "actions": [
            {"email": {
                "subject": {"pl": "{{ first_name }}, szybsze Wi-Fi w całym domu",
                            "en": "{{ first_name }}, faster Wi-Fi in every room",
                            "ru": "{{ first_name }}, быстрый Wi-Fi во всём доме"},
                "body": {"pl": "Wi-Fi Booster o połowę taniej przez 14 dni.",
                         "en": "The Wi-Fi Booster at half price for 14 days.",
                         "ru": "Wi-Fi Booster за полцены 14 дней."}}},
            {"nudge": {"message": {"pl": "Wi-Fi Booster -50% w aplikacji",
                                   "en": "Wi-Fi Booster -50% in the app"}}},
        ],
        "limits": {"per_customer": {"count": 1, "days": 365}},
        "campaign": {"holdout": CAMPAIGN_HOLDOUT,
                     "goal": {"event": "Add-on Purchased", "where": {"addon": CAMPAIGN_ADDON},
                              "days": 30}},
    }  # fmt: skip


def _save_journey_map(ws: Workspace) -> None:
    """The demo company's journey map, unless the workspace already has this very map."""
    from cxm.journeys.map import telecom_yaml
    from cxm.journeys.service import do_save_journey_map, latest_journey_map

    source = telecom_yaml()
    with ws.session() as session:
        latest = latest_journey_map(session)
        if latest is None or latest.source != source:
            do_save_journey_map(
                session=session,
                source=source,
                actor=DEMO_ACTOR,
                note="the demo company's journey",
            )


def _save_surveys(ws: Workspace, *, seed: int, days: int) -> None:
    """The survey definitions behind the demo's answers, and the employee eNPS with its
    answers (dated in the demo's year); once per workspace."""
    from cxm.demo.generator import DEFAULT_END
    from cxm.demo.surveys import (
        EMPLOYEE_SURVEY,
        do_run_employee_survey,
        do_save_demo_surveys,
    )
    from cxm.surveys import get_survey

    with ws.session() as session:
        try:
            get_survey(session, str(EMPLOYEE_SURVEY["id"]))
            return
        except NotFound:
            pass
        start = DEFAULT_END - timedelta(days=days)
        do_save_demo_surveys(session=session, actor=DEMO_ACTOR, now=start)
        do_run_employee_survey(
            session=session, actor=DEMO_ACTOR, start=start, end=DEFAULT_END, seed=seed
        )


def _help_centre(ws: Workspace, *, seed: int, days: int, languages: dict[str, str]) -> None:
    """The knowledge base and a year of help-centre visits (``cxm.demo.help_traffic``); once
    per workspace. The visits are placed on profiles before the cases are built."""
    from cxm.demo.generator import DEFAULT_END
    from cxm.demo.help_traffic import load_demo_kb, run_help_traffic
    from cxm.kb.articles import list_articles

    with ws.session() as session:
        if list_articles(session):
            return
        load_demo_kb(session, DEMO_ACTOR)
    run_help_traffic(ws, seed=seed, start=DEFAULT_END - timedelta(days=days), end=DEFAULT_END,
                     actor=DEMO_ACTOR, languages=languages)  # fmt: skip
    ws.catch_up()


def _save_facts(ws: Workspace) -> None:
    """The demo's canonical facts (``demo/facts.yaml``), for the consistency checks."""
    from pathlib import Path

    from cxm.consistency import do_load_facts

    text = (Path(__file__).parent / "facts.yaml").read_text(encoding="utf-8")
    with ws.session() as session:
        report = do_load_facts(session, text=text, actor=DEMO_ACTOR)
    if report.rejected:
        raise WorkspaceError(f"the demo's facts have problems: {report.rejected[:3]}")


def _run_pulse(ws: Workspace, *, seed: int, days: int) -> None:
    """The employees' monthly pulse over the demo's whole months, the call centre's mood
    drawn from its monthly CSAT (``cxm.demo.surveys.do_run_pulse``); once per workspace."""
    from cxm.demo.generator import DEFAULT_END
    from cxm.demo.surveys import PULSE_LINKED, PULSE_SURVEY, do_run_pulse
    from cxm.metrics.queries import CatalogueQuery
    from cxm.metrics.runner import run_catalogue
    from cxm.surveys import get_survey

    with ws.session() as session:
        try:
            get_survey(session, str(PULSE_SURVEY["id"]))
            return
        except NotFound:
            pass
    start = DEFAULT_END - timedelta(days=days)
    first = datetime(start.year, start.month, 1, tzinfo=UTC)
    if first < start:
        first = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=UTC)
    months = []
    while True:
        following = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=UTC)
        if following > DEFAULT_END:
            break
        months.append(first)
        first = following
    if not months:
        return
    query = CatalogueQuery(metrics=("csat",), by=("department", "month"),
                           start=months[0].date(), end=first.date(), min_sample=1)  # fmt: skip
    frame = run_catalogue(ws.query_engine(), ws.journey_map(), query)
    csat = frame[(frame["department"] == PULSE_LINKED) & frame["reportable"]]
    by_month = dict(zip(csat["month"], csat["estimate"].astype(float), strict=True))
    values = list(by_month.values())
    mean = sum(values) / len(values) if values else 0.0
    sd = (sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)) ** 0.5 or 1.0
    plan = [(m, (by_month[m.strftime("%Y-%m")] - mean) / sd
             if m.strftime("%Y-%m") in by_month else None) for m in months]  # fmt: skip
    with ws.session() as session:
        do_run_pulse(session=session, actor=DEMO_ACTOR, months=plan, seed=seed)


def do_issue_demo_token(ws: Workspace) -> str:
    """A fresh admin token for signing in to the demo; the previous demo token is revoked."""
    with ws.session() as session:
        do_revoke_tokens_named(session, actor=DEMO_ACTOR, name=DEMO_TOKEN_NAME)
        _, token = do_create_token(
            session, actor=DEMO_ACTOR, name=DEMO_TOKEN_NAME, scopes=("admin",)
        )
    return token

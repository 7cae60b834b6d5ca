"""``cxm init``, ``serve``, ``worker`` and ``demo``."""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Annotated

import typer
from rich.console import Console

from cxm.cli.context import open_workspace
from cxm.cli.surveys import run_survey_jobs
from cxm.config import Settings
from cxm.errors import Conflict
from cxm.store.engine import write_intent
from cxm.workspace import Workspace

out = Console()
AUDIT_SEAL_INTERVAL_S = 10.0  # audit entries join the hash chain within this
log = logging.getLogger("cxm.worker")


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(serve)
    app.command()(worker)
    app.command()(demo)


def init() -> None:
    """Create (or upgrade) the workspace; print the admin API token the first time."""
    ws = open_workspace()
    token = ws.initialise()
    out.print(f"workspace ready at [bold]{ws.path.resolve()}[/bold] ({_store_name(ws)})")
    if token:
        out.print("admin API token (shown once, keep it safe):")
        out.print(f"  [bold green]{token}[/bold green]")
    else:
        out.print("the workspace already has API tokens; `cxm tokens create` makes another")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    with_worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run the profile projector beside it.")
    ] = True,
) -> None:
    """Serve ingestion, the REST API and the dashboard (migrating the store first)."""
    ws = open_workspace()
    token = ws.initialise()
    if token:
        out.print(f"admin API token (shown once): [bold green]{token}[/bold green]")
    _run_server(ws, host=host, port=port, with_worker=with_worker)


def worker(
    once: Annotated[bool, typer.Option(help="Catch up once and exit.")] = False,
    parent_pid: Annotated[
        int | None, typer.Option(help="Exit when this process (the server) is gone.")
    ] = None,
) -> None:
    """Keep profiles up to date with the event log (cxm serve starts one beside itself)."""
    ws = open_workspace()
    if parent_pid is not None:
        # Beside a server, answering requests comes first: projection catches up when the
        # server is idle (profiles lag behind a burst of events, acknowledgements don't).
        os.nice(10)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    backoff = ws.settings.projector_interval_s
    matched_at = synced_at = surveyed_at = enriched_at = cased_at = time.monotonic()
    insights_at = sealed_at = time.monotonic()
    retained_at = float("-inf")  # retention runs once soon after start, then on its interval
    automated_at = scheduled_at = 0.0  # automation runs at once, then on its intervals
    while not stop:
        if parent_pid is not None and os.getppid() != parent_pid:
            return  # the server was killed without stopping us: do not run on orphaned
        try:
            result = ws.catch_up()
        except Exception:
            if once:
                raise
            # The store is unreachable or locked for long: keep trying, more and more slowly.
            log.exception("the profile worker failed; retrying in %.1f s", backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        backoff = ws.settings.projector_interval_s
        if once:
            out.print(f"applied {result.events} events, {result.merges} merges")
            return
        # Automation first and even while events keep coming: a trigger should reach its
        # action in about a second, whatever else the worker has to do.
        if time.monotonic() - automated_at >= ws.settings.automation_interval_s:
            due = time.monotonic() - scheduled_at >= ws.settings.automation_schedule_interval_s
            _run_automation(ws, scheduled=due)
            automated_at = time.monotonic()
            scheduled_at = automated_at if due else scheduled_at
        if result.events == 0:
            if time.monotonic() - matched_at >= ws.settings.match_interval_s:
                matched_at = time.monotonic()
                _match_new_profiles(ws)
            if time.monotonic() - synced_at >= ws.settings.lake_sync_interval_s:
                synced_at = time.monotonic()
                _sync_lake(ws)
            if time.monotonic() - surveyed_at >= ws.settings.survey_jobs_interval_s:
                surveyed_at = time.monotonic()
                run_survey_jobs(ws)
            if time.monotonic() - enriched_at >= ws.settings.text_enrich_interval_s:
                _enrich_texts(ws)
                enriched_at = time.monotonic()
            if time.monotonic() - cased_at >= ws.settings.cases_interval_s:
                _build_cases(ws)
                cased_at = time.monotonic()
            if time.monotonic() - sealed_at >= AUDIT_SEAL_INTERVAL_S:
                _seal_audit(ws)
                sealed_at = time.monotonic()
            if time.monotonic() - insights_at >= ws.settings.insights_interval_s:
                _refresh_insights(ws)
                insights_at = sealed_at = time.monotonic()
            if ws.settings.retention and (
                time.monotonic() - retained_at >= ws.settings.retention_interval_s
            ):
                _apply_retention(ws)
                retained_at = time.monotonic()
            time.sleep(ws.settings.projector_interval_s)


def _match_new_profiles(ws: Workspace) -> None:
    """Score profiles created since the last ``cxm resolve`` with its saved model."""
    try:
        report = ws.resolve(full=False)
    except Conflict:
        return  # no model yet: nothing to match with until a first full pass
    except Exception:
        log.exception("incremental identity matching failed; trying again later")
        return
    if report.merged or report.queued:
        log.info("matched new profiles: %d merged, %d queued", report.merged, report.queued)


def _enrich_texts(ws: Workspace) -> None:
    """Analyse texts that arrived since the last run, a few batches at a time (the loop stays
    responsive to new events; the next tick goes on)."""
    try:
        report = ws.text.enrich(max_batches=3)
    except Exception:
        log.exception("text enrichment failed; trying again later")
        return
    if report.texts:
        log.info("text: %d texts analysed (%d flagged)", report.texts, sum(report.flagged.values()))
    try:
        found = ws.text.discover_topics_if_none(actor="system:worker")
    except Exception:
        log.exception("topic discovery failed; trying again later")
        return
    if found is not None:
        log.info("text: %d topics discovered from %d texts", found.topics, found.texts)


def _build_cases(ws: Workspace) -> None:
    """Place new events into cases, a few batches at a time."""
    try:
        with write_intent():
            report = ws.build_cases(max_batches=5)
    except Exception:
        log.exception("the case builder failed; trying again later")
        return
    if report.opened or report.placed:
        log.info("cases: %d events placed, %d cases opened", report.placed, report.opened)


def _run_automation(ws: Workspace, *, scheduled: bool) -> None:
    """Fire rules for new events and texts (and, when ``scheduled``, due schedules and segment
    entries); deliver due actions."""
    try:
        with write_intent():
            report = ws.automation.run_once(scheduled=scheduled)
    except Exception:
        log.exception("automation failed; trying again later")
        return
    if report["fired"] or report["done"] or report["dead"]:
        log.info("automation: %d fired, %d actions done, %d dead", report["fired"],
                 report["done"], report["dead"])  # fmt: skip


def _apply_retention(ws: Workspace) -> None:
    """Remove what the retention policy (CXM_RETENTION) no longer allows cxm to keep."""
    from cxm.privacy.retention import apply_retention

    try:
        report = apply_retention(ws, actor="system:worker")
    except Exception:
        log.exception("the retention policy failed; trying again later")
        return
    if report.removed:
        log.info("retention: removed %s", report.removed)


def _seal_audit(ws: Workspace) -> None:
    """Seal the audit entries written since the last run into the hash chain."""
    from cxm.audit import seal_chain

    try:
        with write_intent(), ws.session() as s:
            seal_chain(s)
    except Exception:
        log.exception("sealing the audit log failed; trying again later")


def _refresh_insights(ws: Workspace) -> None:
    """Churn scores (retraining when the model is stale), drivers and the anomaly watch."""
    try:
        report = ws.insights.refresh()
    except Exception:
        log.exception("the insights refresh failed; trying again later")
        return
    for step, why in report.refused.items():
        log.info("insights: %s not done: %s", step, why)
    if report.scored:
        log.info("insights: %d customers scored, %d alerts", report.scored["customers"],
                 report.alerts)  # fmt: skip


def _sync_lake(ws: Workspace) -> None:
    """Copy new events and moved customers to the lake, for journey analytics."""
    try:
        report = ws.sync_lake()
    except Exception:
        log.exception("the lake sync failed; trying again later")
        return
    if report.events or report.moved_customers:
        log.info("lake: %d new events, %d customers moved", report.events, report.moved_customers)


def demo(
    customers: Annotated[int, typer.Option(help="Customers in the demo company.")] = 5000,
    days: Annotated[int, typer.Option(help="Days of history.")] = 365,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same company).")] = 7,
    fresh: Annotated[bool, typer.Option(help="Delete the workspace's data first.")] = False,
    serve_it: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the dashboard afterwards.")
    ] = True,
    port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
) -> None:
    """Build the demo company (a Polish telecom) in the workspace and serve the dashboard."""
    from cxm.cli.progress import progress_bar
    from cxm.demo import build_demo, demo_is_built, reset_workspace

    settings = Settings()
    if fresh:
        reset_workspace(settings)
    ws = open_workspace(settings)
    ws.initialise()
    if demo_is_built(ws):
        out.print("the demo company is already in this workspace (use --fresh to rebuild it)")
    else:
        out.print(f"building the demo company: {customers} customers, {days} days …")
        with progress_bar() as bar:
            result = build_demo(ws, customers=customers, days=days, seed=seed, progress=bar)
        out.print(
            f"ingested {result.events} events from {result.sources} sources into "
            f"{result.profiles} profiles ({result.merges} merges) in {result.seconds:.0f} s"
        )
    from cxm.demo import do_issue_demo_token

    token = do_issue_demo_token(ws)
    url = f"http://{settings.host}:{port or settings.port}"
    out.print(f"sign in at [bold]{url}[/bold] with this API token:")
    out.print(f"  [bold green]{token}[/bold green]")
    if serve_it:
        _run_server(ws, host=None, port=port, with_worker=True)


def _run_server(ws: Workspace, *, host: str | None, port: int | None, with_worker: bool) -> None:
    import uvicorn

    from cxm.api import create_app

    settings = ws.settings
    child = None
    if with_worker:
        env = {**os.environ, "CXM_WORKSPACE": str(settings.workspace)}
        if settings.database_url:
            env["CXM_DATABASE_URL"] = settings.database_url
        child = subprocess.Popen(
            [sys.executable, "-m", "cxm", "worker", "--parent-pid", str(os.getpid())], env=env
        )
    app = create_app(ws)
    # Everything built so far lives as long as the server: keep it out of the collector's
    # scans, and collect less often. Parsing JSON allocates many short-lived containers, and
    # the default thresholds had the collector take a fifth of ingestion's CPU time.
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that
    # would end the process before the worker is stopped, so turn it into SystemExit.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(
            app,
            host=host or settings.host,
            port=port or settings.port,
            log_level="info",
            access_log=False,
            loop="uvloop",
            http="httptools",
            timeout_graceful_shutdown=10,
        )
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        ws.close()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)  # a requested shutdown that completed is a success


def _store_name(ws: Workspace) -> str:
    return "SQLite" if ws.settings.is_sqlite else ws.engine.url.render_as_string()

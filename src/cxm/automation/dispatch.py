"""Working through the action jobs: claim the due ones, run each outside any lock, record what
happened; a failure is retried with a doubling wait, and after ``max_attempts`` the job goes
to the dead letters (``GET /api/automation/jobs?status=dead``), where a person can retry it.

A job is claimed by setting its lease; if the worker dies mid-run, the lease runs out and the
next sweep claims the job again, so no action is lost (actions are safe to repeat: see
:mod:`cxm.automation.actions`). Consent is checked again just before a contacting action runs:
a customer who withdrew it after the firing is not contacted (the job is cancelled).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from cxm.automation.actions import ActionFailed, Delivery, plan_event, run_action
from cxm.automation.audience import ALERT_PREFIX, alert_recipient, load_customer
from cxm.automation.rules import INGESTING, NETWORK
from cxm.automation.service import get_rule
from cxm.automation.tables import automation_jobs
from cxm.errors import NotFound
from cxm.store.engine import write_intent
from cxm.store.metadata import utcnow

SessionFactory = Callable[[], AbstractContextManager[Session]]
LEASE = timedelta(minutes=5)
MAX_WAIT = timedelta(hours=1)


@dataclass
class DispatchReport:
    done: int = 0
    retrying: int = 0
    dead: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)


def _record(
    s: Session,
    job_id: int,
    attempts: int,
    status: str,
    error: str | None,
    result: dict[str, Any] | None,
    now: datetime | None,
    retry_base_s: float,
) -> None:
    at = now or utcnow()
    values: dict[str, Any] = {
        "status": status,
        "lease_until": None,
        "last_error": error,
        "updated_at": at,
        "result": orjson.dumps(result, default=str).decode() if result is not None else None,
    }
    if status == "failed":
        values["due_at"] = at + backoff(attempts, retry_base_s)
    s.execute(update(automation_jobs).where(automation_jobs.c.id == job_id).values(**values))


def backoff(attempts: int, base_s: float) -> timedelta:
    """The wait after the ``attempts``-th failed try: base, 2×base, 4×base … at most an hour.

    >>> [backoff(n, 30).total_seconds() for n in (1, 2, 3)]
    [30.0, 60.0, 120.0]
    """
    return min(timedelta(seconds=base_s * 2 ** (attempts - 1)), MAX_WAIT)


def _due(now: datetime) -> object:
    j = automation_jobs.c
    return or_(
        and_(j.status.in_(("pending", "failed")), j.due_at <= now),
        and_(j.status == "running", j.lease_until < now),
    )


def claim(session: Session, job_id: int, now: datetime, lease: timedelta = LEASE) -> bool:
    """Take the job if it is due and nobody holds it (one conditional update: two dispatchers
    never both win)."""
    result = session.connection().execute(
        update(automation_jobs)
        .where(automation_jobs.c.id == job_id, _due(now))  # type: ignore[arg-type]
        .values(
            status="running",
            lease_until=now + lease,
            attempts=automation_jobs.c.attempts + 1,
            updated_at=now,
        )  # fmt: skip
    )
    return bool(result.rowcount)


def due_jobs(session: Session, now: datetime, limit: int = 200) -> list[int]:
    j = automation_jobs.c
    return [
        int(i)
        for (i,) in session.execute(
            select(j.id).where(_due(now)).order_by(j.due_at, j.id).limit(limit)  # type: ignore[arg-type]
        )
    ]


def do_dispatch(
    *,
    session: SessionFactory,
    delivery: Delivery,
    max_attempts: int = 5,
    retry_base_s: float = 30.0,
    job_ids: list[int] | None = None,
    now: datetime | None = None,
    limit: int = 200,
    lease: timedelta = LEASE,
) -> DispatchReport:
    """Run the due jobs (or just ``job_ids``, if they are due)."""
    report = DispatchReport()
    start = now or utcnow()
    if job_ids is None:
        with session() as s:
            job_ids = due_jobs(s, start, limit)
    for job_id in job_ids:
        run_job(session=session, job_id=job_id, delivery=delivery, max_attempts=max_attempts,
                retry_base_s=retry_base_s, now=now, report=report, lease=lease)  # fmt: skip
    return report


def run_job(
    *,
    session: SessionFactory,
    job_id: int,
    delivery: Delivery,
    max_attempts: int,
    retry_base_s: float,
    now: datetime | None = None,
    report: DispatchReport | None = None,
    lease: timedelta = LEASE,
) -> str | None:
    """Claim, run and record one job; returns its new status (None: not due or held)."""
    report = report or DispatchReport()
    with session() as s:
        if not claim(s, job_id, now or utcnow(), lease):
            return None
    # 1. Read what the job needs; nothing is written in this transaction.
    planned: dict[str, Any] | None = None
    run: tuple[Any, Any, dict[str, Any], str] | None = None
    with session() as s:
        job = s.execute(select(automation_jobs).where(automation_jobs.c.id == job_id)).one()
        attempts = int(job.attempts)
        status, error, result = "done", None, None
        try:
            stored = get_rule(s, job.rule)
            if job.action_index >= len(stored.rule.actions):
                raise ActionFailed("the rule no longer has this action", permanent=True)
            action = stored.rule.actions[job.action_index]
            customer = (
                alert_recipient(job.profile_id)
                if job.profile_id.startswith(ALERT_PREFIX)
                else load_customer(s, job.profile_id)
            )
            if customer is None:
                raise ActionFailed(f"no profile {job.profile_id}", permanent=True)
            allowed, why = customer.may_contact(stored.rule.consent, action.channel)
            if action.contacting and not allowed:
                status, error = "cancelled", why
            elif action.kind in INGESTING:
                planned = plan_event(s, action=action, job_id=job_id, customer=customer)
            else:
                run = (action, customer, orjson.loads(job.context), job.rule)
        except NotFound as exc:
            status, error = "dead", str(exc)
        except ActionFailed as exc:
            error = str(exc)
            status = "dead" if exc.permanent or attempts >= max_attempts else "failed"
    # 2. Act. Network actions run outside any transaction (a slow receiver holds no lock);
    # actions that write the store take the write lock first (on SQLite); ingest writes in its
    # own transactions, and the event's messageId makes a repeat after a crash store nothing.
    try:
        if planned is not None:
            if delivery.ingest is None:
                raise ActionFailed("this worker cannot hand events to ingest", permanent=True)
            result = delivery.ingest(planned)
        elif run is not None:
            action, customer, context, rule = run
            parts = {"action": action, "job_id": job_id, "rule": rule, "customer": customer,
                     "context": context, "delivery": delivery}  # fmt: skip
            if action.kind in NETWORK:
                result = run_action(None, **parts)
            else:
                with write_intent(), session() as s:
                    result = run_action(s, **parts)
    except NotFound as exc:
        status, error = "dead", str(exc)
    except ActionFailed as exc:
        error = str(exc)
        status = "dead" if exc.permanent or attempts >= max_attempts else "failed"
    # 3. Record what happened.
    with write_intent(), session() as s:
        _record(s, job_id, attempts, status, error, result, now, retry_base_s)
    if status == "done":
        report.done += 1
    elif status == "failed":
        report.retrying += 1
    elif status == "dead":
        report.dead += 1
    else:
        report.cancelled += 1
    if error:
        report.errors.append(f"job {job_id}: {error}")
    return status

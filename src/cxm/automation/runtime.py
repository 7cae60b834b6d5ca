"""Automation bound to a workspace: its rules, its queue and its delivery settings, run once
(``run_once``: what the worker does every ``CXM_AUTOMATION_INTERVAL_S``) or piece by piece.

>>> report = ws.automation.run_once()                                     # doctest: +SKIP
>>> report["fired"], report["done"]                                         # doctest: +SKIP
(3, 6)
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from huey import Huey

from cxm.automation.actions import ActionFailed, Delivery
from cxm.automation.dispatch import DispatchReport, do_dispatch, run_job
from cxm.automation.engine import (
    RunReport,
    do_evaluate_alerts,
    do_evaluate_rules,
    do_evaluate_texts,
    do_run_scheduled,
)
from cxm.automation.queue import announce, drain, make_queue

if TYPE_CHECKING:
    from cxm.workspace import Workspace


class Automation:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.settings = ws.settings
        # What the queue's deliveries add to, and the clock they use, during dispatch().
        self._report: DispatchReport | None = None
        self._now: datetime | None = None

    @cached_property
    def webhook_secret(self) -> bytes:
        """The key webhooks are signed with, as the text ``cxm automation secret`` shows (the
        receiver uses that text, as ASCII bytes, as its HMAC key)."""
        key = hmac.new(self.ws.secret_key, b"cxm-automation-webhooks", hashlib.sha256)
        return key.hexdigest().encode()

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.automation_lease_s)

    @property
    def delivery(self) -> Delivery:
        s = self.settings
        return Delivery(
            smtp_host=s.smtp_host,
            smtp_port=s.smtp_port,
            smtp_user=s.smtp_user,
            smtp_password=s.smtp_password,
            smtp_starttls=s.smtp_starttls,
            smtp_from=s.smtp_from,
            webhook_secret=self.webhook_secret,
            case_policy=self.ws.case_policy,
            ingest=self.ingest,
        )

    def ingest(self, event: dict[str, Any]) -> dict[str, Any]:
        """Hand an event an action sends to ingest, from the ``automation`` source."""
        from cxm.ingest import do_ingest_events, source_named

        with self.ws.session() as s:
            source = source_named(s, actor="system:automation", name="automation",
                                  channel="other", label="Automation rules")  # fmt: skip
        report = do_ingest_events(self.ws.engine, source=source, events=[("action", event)],
                                  max_event_bytes=self.settings.max_event_bytes)  # fmt: skip
        if report.rejected:
            raise ActionFailed(f"ingest refused the event: {report.rejected[0]['message']}",
                               permanent=True)  # fmt: skip
        return {"stored": report.stored, "already": report.duplicates}

    @cached_property
    def queue(self) -> Huey:
        return make_queue(workspace=self.ws.path, redis_url=self.settings.redis_url,
                          deliver=self.deliver)  # fmt: skip

    def deliver(self, job_id: int) -> str | None:
        return run_job(session=self.ws.session, job_id=job_id, delivery=self.delivery,
                       max_attempts=self.settings.automation_max_attempts,
                       retry_base_s=self.settings.automation_retry_base_s, now=self._now,
                       report=self._report, lease=self.lease)  # fmt: skip

    def evaluate(
        self,
        *,
        now: datetime | None = None,
        max_batches: int | None = None,
        scheduled: bool = True,
    ) -> RunReport:
        """Fire rules for new events and texts, and (``scheduled``) for due schedules and
        segment entries; the new jobs are announced on the queue."""
        report = do_evaluate_rules(
            session=self.ws.session,
            max_age=timedelta(hours=self.settings.automation_max_age_h),
            now=now,
            max_batches=max_batches,
        )
        texts = do_evaluate_texts(
            session=self.ws.session,
            max_age=timedelta(hours=self.settings.automation_max_age_h),
            now=now,
            max_batches=max_batches,
        )
        extra = [texts, do_evaluate_alerts(session=self.ws.session, now=now)]
        if scheduled:
            extra.append(do_run_scheduled(session=self.ws.session, now=now))
        for more in extra:
            report.fired += more.fired
            report.held_out += more.held_out
            report.suppressed += more.suppressed
            report.too_old += more.too_old
            report.jobs += more.jobs
        announce(self.queue, report.jobs)
        return report

    def dispatch(self, *, now: datetime | None = None) -> DispatchReport:
        """Deliver what the queue announced, then every other due job in the store (retries,
        quiet hours that ended, jobs whose worker died)."""
        report = DispatchReport()
        self._report, self._now = report, now
        try:
            drain(self.queue)
        finally:
            self._report = self._now = None
        swept = do_dispatch(
            session=self.ws.session,
            delivery=self.delivery,
            max_attempts=self.settings.automation_max_attempts,
            retry_base_s=self.settings.automation_retry_base_s,
            now=now,
            lease=self.lease,
        )
        report.done += swept.done
        report.retrying += swept.retrying
        report.dead += swept.dead
        report.cancelled += swept.cancelled
        report.errors += swept.errors
        return report

    def run_once(self, *, now: datetime | None = None, scheduled: bool = True) -> dict[str, Any]:
        fired = self.evaluate(now=now, max_batches=10, scheduled=scheduled)
        sent = self.dispatch(now=now)
        return {**asdict(fired), **asdict(sent)}

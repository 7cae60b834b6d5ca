"""Running the rules: over the events that arrived since the last run (event and score
triggers), at their schedules, and as customers enter segments.

Events are read after the profiles (so it is known whose each event is), in sequence order,
one batch per transaction that also moves the mark; each firing is unique per rule and
trigger, so a crash mid-batch repeats nothing. Events older than ``CXM_AUTOMATION_MAX_AGE_H``
when first seen trigger nothing (an import of history must not e-mail customers about last
year). The new jobs' ids are returned, for the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from croniter import croniter
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from cxm.automation.audience import ALERT_PREFIX, Customer, alert_recipient, load_customer
from cxm.automation.firing import Trigger, do_fire
from cxm.automation.rules import Rule
from cxm.automation.service import StoredRule, list_rules
from cxm.automation.tables import automation_segment_state
from cxm.identity.tables import profiles
from cxm.ingest.queries import event_properties
from cxm.metrics.behaviour import SURVEY_EVENT
from cxm.profiles.queries import placed_events
from cxm.profiles.tables import profile_events
from cxm.segments.queries import get_segment, segment_members
from cxm.store.marks import read_mark, write_mark
from cxm.store.metadata import utcnow
from cxm.text.tables import text_items, text_topics

MARK = "automation"
TEXT_MARK = "automation-texts"
ALERT_MARK = "automation-alerts"
SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass
class RunReport:
    events: int = 0
    too_old: int = 0
    fired: int = 0
    held_out: int = 0  # campaign customers drawn into the holdout
    suppressed: int = 0
    jobs: list[int] = field(default_factory=list)
    position: int = 0


def matches(rule: Rule, name: str | None, props: dict[str, Any]) -> bool:
    """Whether an event (track name and properties) is ``rule``'s trigger.

    >>> from cxm.automation.rules import rule_from_data
    >>> r = rule_from_data({"name": "low-nps", "trigger": {"score": {"kind": "nps", "below": 7}},
    ...                     "actions": [{"nudge": {"message": "Hi"}}]})
    >>> matches(r, "Survey Answered", {"kind": "nps", "score": 3})
    True
    """
    t = rule.trigger
    if t.kind == "event":
        return name == t.event and all(props.get(k) == v for k, v in t.where.items())
    if t.kind == "score":
        score = props.get("score")
        if name != SURVEY_EVENT or props.get("kind") != t.score_kind:
            return False
        if isinstance(score, bool) or not isinstance(score, int | float):
            return False
        return score < t.below if t.below is not None else score > (t.above or 0)
    return False


def do_evaluate_rules(
    *,
    session: SessionFactory,
    max_age: timedelta = timedelta(hours=24),
    now: datetime | None = None,
    batch_events: int = 2000,
    max_batches: int | None = None,
) -> RunReport:
    """Fire event and score rules for the events since the last run."""
    report = RunReport()
    batches = 0
    while max_batches is None or batches < max_batches:
        at_now = now or utcnow()
        with session() as s:
            mark = read_mark(s, MARK, lock=True)
            triggered = ("event", "score")
            rules = [
                r for r in list_rules(s, enabled_only=True) if r.rule.trigger.kind in triggered
            ]
            rows, last = placed_events(s, after=mark, limit=batch_events)
            if last == mark:
                break
            batches += 1
            # Decisions read the customer as the store holds them now (every event of the batch
            # is in it already), so one reading serves all of a customer's triggers here.
            known: dict[str, Customer | None] = {}
            for r in rows:
                report.events += 1
                if not rules or r.type != "track":
                    continue
                props = event_properties(r.payload)
                hit = [sr for sr in rules if matches(sr.rule, r.event, props)]
                if not hit:
                    continue
                if r.timestamp < at_now - max_age:
                    report.too_old += 1
                    continue
                trigger = Trigger(str(r.profile_id), f"event:{r.seq}", r.timestamp, int(r.seq),
                                  {"name": r.event, "properties": props})  # fmt: skip
                for stored in hit:
                    _fire(s, stored, trigger, at_now, report, known)
            write_mark(s, MARK, last)
            report.position = last
    return report


def do_evaluate_texts(
    *,
    session: SessionFactory,
    max_age: timedelta = timedelta(hours=24),
    now: datetime | None = None,
    batch: int = 2000,
    max_batches: int | None = None,
) -> RunReport:
    """Fire ``text_topic`` rules for texts analysed since the last run (``cxm.text`` enriches
    them in the background; a text counts when it has been given its topic)."""
    report = RunReport()
    batches = 0
    at_now = now or utcnow()
    topic = func.coalesce(text_topics.c.merged_into, text_items.c.topic_id)
    while max_batches is None or batches < max_batches:
        with session() as s:
            mark = read_mark(s, TEXT_MARK, lock=True)
            rules = [
                r for r in list_rules(s, enabled_only=True) if r.rule.trigger.kind == "text_topic"
            ]
            rows = s.execute(
                select(
                    text_items.c.id,
                    text_items.c.ref,
                    text_items.c.occurred_at,
                    text_items.c.event,
                    text_items.c.sentiment,
                    topic.label("topic"),
                    func.coalesce(profiles.c.merged_into, profile_events.c.profile_id).label(
                        "profile_id"
                    ),
                )
                .join(profile_events, profile_events.c.seq == text_items.c.ref)
                .join(profiles, profiles.c.id == profile_events.c.profile_id)
                .outerjoin(text_topics, text_topics.c.id == text_items.c.topic_id)
                .where(text_items.c.id > mark, text_items.c.source == "event")
                .order_by(text_items.c.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            batches += 1
            for r in rows:
                report.events += 1
                hit = [
                    sr for sr in rules
                    if r.topic is not None and sr.rule.trigger.topic == int(r.topic)
                    and sr.rule.trigger.sentiment in (None, r.sentiment)
                ]  # fmt: skip
                if not hit:
                    continue
                if r.occurred_at < at_now - max_age:
                    report.too_old += 1
                    continue
                context = {"name": r.event, "properties": {}, "topic": int(r.topic),
                           "sentiment": r.sentiment}  # fmt: skip
                trigger = Trigger(str(r.profile_id), f"text:{r.id}", r.occurred_at, int(r.ref),
                                  context)  # fmt: skip
                for stored in hit:
                    _fire(s, stored, trigger, at_now, report)
            write_mark(s, TEXT_MARK, int(rows[-1].id))
            report.position = int(rows[-1].id)
    return report


def do_evaluate_alerts(*, session: SessionFactory, now: datetime | None = None) -> RunReport:
    """Fire ``alert`` rules for the anomaly watch's alerts raised since the last run.

    An alert is not a customer's: its firing and jobs are keyed ``alert:<id>``, and the
    actions (a webhook, an e-mail to a fixed address) reach the team. A rule with a department
    fires only for alerts that concern it (``cxm.insights.watch``), one with a kind only for
    spikes, drops or rises. Each firing is audited, and unique per rule and alert.
    """
    from cxm.insights.tables import insight_alerts

    report = RunReport()
    at_now = now or utcnow()
    with session() as s:
        mark = read_mark(s, ALERT_MARK, lock=True)
        rules = [r for r in list_rules(s, enabled_only=True) if r.rule.trigger.kind == "alert"]
        rows = s.execute(
            select(insight_alerts).where(insight_alerts.c.id > mark).order_by(insight_alerts.c.id)
        ).all()
        for row in rows:
            report.events += 1
            departments = orjson.loads(row.departments)
            alert = {"id": int(row.id), "series": row.series, "label": row.label,
                     "kind": row.kind, "day": row.day.isoformat(), "observed": row.observed,
                     "expected": row.expected, "p_value": row.p_value, "message": row.message,
                     "departments": departments}  # fmt: skip
            fired = 0
            for stored in rules:
                t = stored.rule.trigger
                if t.department is not None and t.department not in departments:
                    continue
                if t.alert_kind is not None and t.alert_kind != row.kind:
                    continue
                key = f"{ALERT_PREFIX}{row.id}"
                trigger = Trigger(key, key, at_now, extra={"alert": alert})
                decision, jobs = do_fire(s, rule=stored.rule, version=stored.version,
                                         customer=alert_recipient(key), trigger=trigger,
                                         now=at_now)  # fmt: skip
                if decision.status == "fire":
                    report.fired += 1
                    report.jobs.extend(jobs)
                    fired += 1
            if fired:
                s.execute(
                    update(insight_alerts)
                    .where(insight_alerts.c.id == row.id)
                    .values(deliveries=insight_alerts.c.deliveries + fired)
                )
        if rows:
            write_mark(s, ALERT_MARK, int(rows[-1].id))
            report.position = int(rows[-1].id)
    return report


def do_run_scheduled(*, session: SessionFactory, now: datetime | None = None) -> RunReport:
    """Fire schedule rules whose tick has come, and segment-entry rules for new members."""
    report = RunReport()
    now = now or utcnow()
    with session() as s:
        rules = [
            r for r in list_rules(s, enabled_only=True)
            if r.rule.trigger.kind in ("schedule", "segment_entry")
        ]  # fmt: skip
    for stored in rules:
        with session() as s:
            if stored.rule.trigger.kind == "schedule":
                _run_schedule(s, stored, now, report)
            else:
                _run_segment_entry(s, stored, now, report)
    return report


def _run_schedule(s: Session, stored: StoredRule, now: datetime, report: RunReport) -> None:
    rule = stored.rule
    assert rule.trigger.cron is not None
    tick: datetime = croniter(rule.trigger.cron, now).get_prev(datetime)
    name = f"automation-tick:{rule.name}"
    stamp = int(tick.timestamp())
    if read_mark(s, name, lock=True) >= stamp:
        return
    # The first tick a rule sees is where it starts: it does not fire for ticks before it
    # existed (and a tick older than a day is not caught up on after a long stop).
    if tick >= stored.updated_at and now - tick <= timedelta(days=1):
        for profile_id in audience_of(s, rule, now):
            trigger = Trigger(profile_id, f"tick:{tick.isoformat()}:{profile_id}", tick)
            _fire(s, stored, trigger, now, report)
    write_mark(s, name, stamp)


def audience_of(s: Session, rule: Rule, now: datetime) -> list[str]:
    """Who a scheduled rule considers: its segment's members, or every live profile that
    meets its trait conditions (decide() checks each one again)."""
    if rule.segment:
        return segment_members(s, get_segment(s, rule.segment).definition, now=now)
    if rule.traits is not None:
        return segment_members(s, rule.traits, now=now)
    return [
        pid
        for (pid,) in s.execute(
            select(profiles.c.id).where(profiles.c.merged_into.is_(None)).order_by(profiles.c.id)
        )
    ]


def _run_segment_entry(s: Session, stored: StoredRule, now: datetime, report: RunReport) -> None:
    rule = stored.rule
    assert rule.trigger.segment is not None
    name = f"automation-entry:{rule.name}"
    first_run = read_mark(s, name, lock=True) == 0
    members = set(segment_members(s, get_segment(s, rule.trigger.segment).definition, now=now))
    state = automation_segment_state.c
    known = {
        pid: since
        for pid, since in s.execute(
            select(state.profile_id, state.since).where(state.rule == rule.name)
        )
    }
    entered = sorted(members - set(known))
    left = sorted(set(known) - members)
    if left:
        s.execute(
            delete(automation_segment_state).where(
                state.rule == rule.name, state.profile_id.in_(left)
            )
        )
    if entered:
        s.execute(
            insert(automation_segment_state),
            [{"rule": rule.name, "profile_id": pid, "since": now} for pid in entered],
        )
    # The members when the rule first runs are where it starts, not entries.
    if not first_run:
        for pid in entered:
            trigger = Trigger(pid, f"entry:{pid}:{now.isoformat()}", now)
            _fire(s, stored, trigger, now, report)
    write_mark(s, name, int(now.timestamp()))


def _fire(
    s: Session,
    stored: StoredRule,
    trigger: Trigger,
    now: datetime,
    report: RunReport,
    known: dict[str, Customer | None] | None = None,
) -> None:
    """Decide and store one firing; ``known`` caches customers within a batch."""
    if known is None:
        customer = load_customer(s, trigger.profile_id)
    else:
        if trigger.profile_id not in known:
            known[trigger.profile_id] = load_customer(s, trigger.profile_id)
        customer = known[trigger.profile_id]
    if customer is None:
        return
    decision, jobs = do_fire(s, rule=stored.rule, version=stored.version, customer=customer,
                             trigger=trigger, now=now)  # fmt: skip
    if decision.status == "fire":
        report.fired += 1
        report.jobs.extend(jobs)
    elif decision.status == "hold_out":
        report.held_out += 1
    elif decision.status == "suppress":
        report.suppressed += 1

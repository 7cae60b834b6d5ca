"""Looking before leaping, and looking back: a rule's dry run for one customer, its simulation
over past events ("how many customers would this have hit last month?"), its firings, and
the action jobs (the dead letters among them).

The simulation replays the past events that match the trigger through the same decision as
the live engine: conditions, consent, the frequency cap (counted over the simulated firings)
and quiet hours (at each event's time). Traits, segments and consent are taken as they are
now: cxm keeps their history, but a rule decides on the present, and so does its preview.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from croniter import croniter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.automation.actions import ActionFailed, render
from cxm.automation.audience import Customer, load_customer
from cxm.automation.engine import SURVEY_EVENT, audience_of, matches
from cxm.automation.firing import decide, quiet_until, recent_firings
from cxm.automation.rules import Rule
from cxm.automation.tables import automation_firings, automation_jobs, automation_messages
from cxm.errors import InvalidInput, NotFound
from cxm.identity.tables import profiles
from cxm.ingest.tables import events
from cxm.profiles.tables import profile_events
from cxm.text.tables import text_items, text_topics

MAX_SIMULATED_EVENTS = 500_000


@dataclass
class Simulation:
    rule: str
    start: datetime
    end: datetime
    triggers: int = 0
    customers: int = 0  # distinct customers with a trigger
    would_fire: int = 0
    held_out: int = 0  # a campaign's holdout draws
    customers_hit: int = 0
    skipped: int = 0  # conditions not met
    suppressed: dict[str, int] = field(default_factory=dict)
    deferred: int = 0  # would have waited for the end of quiet hours
    by_day: list[tuple[str, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "triggers": self.triggers,
            "customers": self.customers,
            "would_fire": self.would_fire,
            "held_out": self.held_out,
            "customers_hit": self.customers_hit,
            "skipped": self.skipped,
            "suppressed": self.suppressed,
            "deferred": self.deferred,
            "by_day": [{"day": d, "firings": n} for d, n in self.by_day],
        }


def simulate_rule(
    session: Session, rule: Rule, *, start: datetime, end: datetime, now: datetime
) -> Simulation:
    """What ``rule`` would have done between ``start`` and ``end``."""
    if end <= start:
        raise InvalidInput("the simulation's end must come after its start")
    sim = Simulation(rule.name, start, end)
    kind = rule.trigger.kind
    if kind == "segment_entry":
        raise InvalidInput(
            "a segment-entry rule cannot be simulated over the past: who was in the segment on "
            "each day is not kept; its dry run shows what it does for one customer"
        )
    occasions: list[tuple[str, datetime]] = []
    if kind == "schedule":
        assert rule.trigger.cron is not None
        ticks = croniter(rule.trigger.cron, start - timedelta(seconds=1))
        audience = audience_of(session, rule, now)
        while (tick := ticks.get_next(datetime)) < end and len(occasions) < MAX_SIMULATED_EVENTS:
            occasions.extend((pid, tick) for pid in audience)
    elif kind == "text_topic":
        topic = func.coalesce(text_topics.c.merged_into, text_items.c.topic_id)
        query = (
            select(
                func.coalesce(profiles.c.merged_into, profile_events.c.profile_id),
                text_items.c.occurred_at,
            )
            .join(profile_events, profile_events.c.seq == text_items.c.ref)
            .join(profiles, profiles.c.id == profile_events.c.profile_id)
            .join(text_topics, text_topics.c.id == text_items.c.topic_id)
            .where(
                text_items.c.source == "event",
                topic == rule.trigger.topic,
                text_items.c.occurred_at >= start,
                text_items.c.occurred_at < end,
            )
            .order_by(text_items.c.occurred_at, text_items.c.id)
            .limit(MAX_SIMULATED_EVENTS)
        )
        if rule.trigger.sentiment:
            query = query.where(text_items.c.sentiment == rule.trigger.sentiment)
        occasions.extend((str(pid), at) for pid, at in session.execute(query))
    else:
        name = rule.trigger.event if kind == "event" else SURVEY_EVENT
        rows = session.execute(
            select(
                func.coalesce(profiles.c.merged_into, profile_events.c.profile_id),
                events.c.timestamp,
                events.c.payload,
            )
            .join(profile_events, profile_events.c.seq == events.c.seq)
            .join(profiles, profiles.c.id == profile_events.c.profile_id)
            .where(
                events.c.type == "track",
                events.c.event == name,
                events.c.timestamp >= start,
                events.c.timestamp < end,
            )
            .order_by(events.c.timestamp, events.c.seq)
            .limit(MAX_SIMULATED_EVENTS)
        )
        for pid, at, payload in rows:
            props = (orjson.loads(payload) or {}).get("properties") or {}
            if matches(rule, name, props if isinstance(props, dict) else {}):
                occasions.append((pid, at))
    customers: dict[str, Customer | None] = {}
    fired_at: dict[str, list[datetime]] = defaultdict(list)
    per_day: Counter[str] = Counter()
    window = timedelta(days=rule.limits.days)
    for pid, at in occasions:
        sim.triggers += 1
        if pid not in customers:
            customers[pid] = load_customer(session, pid)
        customer = customers[pid]
        if customer is None:
            continue
        recent = sum(1 for t in fired_at[pid] if t > at - window)
        decision = decide(session, rule, customer, at, recent_firings=recent)
        if decision.status == "skip":
            sim.skipped += 1
        elif decision.status == "suppress":
            reason = (decision.reason or "suppressed").split(":")[0]
            sim.suppressed[reason] = sim.suppressed.get(reason, 0) + 1
        elif decision.status == "hold_out":
            sim.held_out += 1
            fired_at[pid].append(at)
        else:
            sim.would_fire += 1
            fired_at[pid].append(at)
            per_day[at.date().isoformat()] += 1
            if decision.deferred_to is not None:
                sim.deferred += 1
    sim.customers = len(customers)
    sim.customers_hit = sum(1 for times in fired_at.values() if times)
    sim.by_day = sorted(per_day.items())
    return sim


def dry_run(
    session: Session,
    rule: Rule,
    *,
    profile_id: str,
    now: datetime,
    event: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``rule`` would do for this customer now (given ``event`` as its trigger), with each
    action filled in, without doing any of it."""
    customer = load_customer(session, profile_id)
    if customer is None:
        raise NotFound(f"no customer profile {profile_id!r}")
    recent = recent_firings(session, rule.name, customer.profile_id, now, rule.limits.days)
    decision = decide(session, rule, customer, now, recent_firings=recent)
    context = {"event": event, "trigger_at": now.isoformat()}
    trigger_matches = None
    if event is not None and rule.trigger.kind in ("event", "score"):
        props = event.get("properties") if isinstance(event.get("properties"), dict) else {}
        trigger_matches = matches(rule, event.get("name"), props or {})
    previews = []
    for action in rule.actions:
        preview: dict[str, Any] = {"kind": action.kind}
        try:
            if action.kind == "email":
                key = str(action.options.get("to", "trait:email")).removeprefix("trait:")
                preview |= {
                    "to": customer.traits.get(key),
                    "subject": render(action.options["subject"], customer, context),
                    "body": render(action.options["body"], customer, context),
                }
            elif action.kind == "webhook":
                preview["url"] = action.options["url"]
            elif action.kind == "case":
                preview |= {
                    "title": render(action.options["title"], customer, context),
                    "department": action.options.get("department"),
                    "priority": action.options.get("priority", "normal"),
                }
            elif action.kind == "trait":
                preview |= {"key": action.options["key"], "value": action.options["value"]}
            elif action.kind == "survey":
                preview |= {"survey": action.options["survey"],
                            "touchpoint": action.options.get("touchpoint")}  # fmt: skip
            elif action.kind == "nudge":
                preview |= {
                    "channel": action.options.get("channel", "app"),
                    "message": render(action.options["message"], customer, context),
                }
        except ActionFailed as exc:
            preview["error"] = str(exc)
        previews.append(preview)
    return {
        "rule": rule.name,
        "profile_id": customer.profile_id,
        "language": customer.language,
        "trigger_matches": trigger_matches,
        "decision": decision.status,
        "reason": decision.reason,
        "deferred_to": decision.deferred_to.isoformat() if decision.deferred_to else None,
        "quiet_now": quiet_until(rule.limits, now) is not None,
        "actions": previews,
    }


def rule_stats(session: Session, rule: str, *, since: datetime) -> dict[str, Any]:
    f, j = automation_firings.c, automation_jobs.c
    firings: dict[str, int] = dict(
        session.execute(
            select(f.status, func.count()).where(f.rule == rule, f.at >= since).group_by(f.status)
        ).all()
    )
    jobs: dict[str, int] = dict(
        session.execute(
            select(j.status, func.count())
            .where(j.rule == rule, j.created_at >= since)
            .group_by(j.status)
        ).all()
    )
    return {"firings": firings, "jobs": jobs}


def list_firings(
    session: Session, *, rule: str | None = None, profile_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    f = automation_firings.c
    query = select(automation_firings).order_by(f.at.desc(), f.id.desc()).limit(limit)
    if rule:
        query = query.where(f.rule == rule)
    if profile_id:
        query = query.where(f.profile_id == profile_id)
    return [_plain(r) for r in session.execute(query)]


def list_jobs(
    session: Session, *, status: str | None = None, rule: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    j = automation_jobs.c
    query = select(automation_jobs).order_by(j.updated_at.desc(), j.id.desc()).limit(limit)
    if status:
        query = query.where(j.status == status)
    if rule:
        query = query.where(j.rule == rule)
    out = []
    for r in session.execute(query):
        row = _plain(r)
        row["context"] = orjson.loads(row["context"])
        row["result"] = orjson.loads(row["result"]) if row["result"] else None
        out.append(row)
    return out


def messages_for(session: Session, profile_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The in-app messages automation left for a customer, newest first (the app shows them)."""
    m = automation_messages.c
    return [
        _plain(r)
        for r in session.execute(
            select(automation_messages)
            .where(m.profile_id == profile_id)
            .order_by(m.created_at.desc(), m.id.desc())
            .limit(limit)
        )
    ]


def _plain(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row._mapping.items()}

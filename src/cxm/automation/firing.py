"""Deciding one firing: conditions, consent, the frequency cap and quiet hours, then the firing
and its action jobs, written together and audited.

The decision is pure (:func:`decide`, used by the engine, the dry run and the simulation);
:func:`do_fire` stores it. A firing is unique per rule and trigger, so evaluating twice fires
once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.automation.audience import Customer, in_segment
from cxm.automation.rules import Limits, Rule
from cxm.automation.tables import automation_firings, automation_jobs
from cxm.errors import NotFound

STATUS = {"fire": "fired", "hold_out": "held_out", "suppress": "suppressed"}


@dataclass(frozen=True)
class Trigger:
    """One occasion for a rule: whose, which (unique per rule), when, and what it carried."""

    profile_id: str
    key: str
    at: datetime  # when it happened (the event's time, or the schedule's tick)
    seq: int | None = None
    event: dict[str, Any] | None = None  # name and properties, for templates
    extra: dict[str, Any] | None = None  # more for templates (an alert rule's ``alert``)


def draws_holdout(rule: str, profile_id: str, share: float) -> bool:
    """Whether the customer is in the campaign's holdout: a uniform draw from a hash of the
    rule and the customer, so the draw is random across customers, the same every time for
    one customer (a customer never switches groups), and can be checked afterwards.

    >>> draws_holdout("wifi-offer", "p_1", 0.2) == draws_holdout("wifi-offer", "p_1", 0.2)
    True
    """
    digest = hashlib.sha256(f"{rule}\x00{profile_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


@dataclass(frozen=True)
class Decision:
    status: str  # fire, hold_out, suppress, skip (conditions not met: no firing at all)
    reason: str | None = None
    deferred_to: datetime | None = None


def decide(
    session: Session,
    rule: Rule,
    customer: Customer,
    now: datetime,
    *,
    recent_firings: int,
) -> Decision:
    """Whether ``rule`` fires for ``customer`` now, given how often it fired for them lately."""
    if rule.traits is not None and not rule.traits.includes(
        customer.traits, last_seen=customer.last_seen, now=now
    ):
        return Decision("skip", "traits do not match")
    try:
        if rule.segment and not in_segment(session, rule.segment, customer, now):
            return Decision("skip", f"not in segment {rule.segment}")
        if rule.not_segment and in_segment(session, rule.not_segment, customer, now):
            return Decision("skip", f"in segment {rule.not_segment}")
    except NotFound as exc:
        return Decision("suppress", f"segment missing: {exc}")
    if rule.contacts_customer:
        allowed, why = customer.may_contact(rule.consent)
        if not allowed:
            return Decision("suppress", why)
    if recent_firings >= rule.limits.count:
        return Decision(
            "suppress",
            f"frequency cap: {rule.limits.count} in {rule.limits.days} days reached",
        )
    if rule.campaign is not None and draws_holdout(
        rule.name, customer.profile_id, rule.campaign.holdout
    ):
        return Decision("hold_out", "in the campaign's holdout")
    deferred = quiet_until(rule.limits, now) if rule.contacts_customer else None
    return Decision("fire", None, deferred)


def quiet_until(limits: Limits, now: datetime) -> datetime | None:
    """When quiet hours end, if ``now`` is inside them (in the rule's time zone), else None.

    >>> from datetime import UTC, time
    >>> limits = Limits(quiet_start=time(21), quiet_end=time(8), timezone="Europe/Warsaw")
    >>> quiet_until(limits, datetime(2026, 3, 2, 22, 30, tzinfo=UTC)).isoformat()
    '2026-03-03T07:00:00+00:00'
    """
    if limits.quiet_start is None or limits.quiet_end is None:
        return None
    zone = ZoneInfo(limits.timezone)
    local = now.astimezone(zone)
    clock = local.timetz().replace(tzinfo=None)
    start, end = limits.quiet_start, limits.quiet_end
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)


def recent_firings(session: Session, rule: str, profile_id: str, now: datetime, days: int) -> int:
    f = automation_firings.c
    return int(
        session.execute(
            select(func.count()).where(
                f.rule == rule,
                f.profile_id == profile_id,
                f.status.in_(("fired", "held_out")),
                f.at > now - timedelta(days=days),
            )
        ).scalar()
        or 0
    )


def do_fire(
    session: Session,
    *,
    rule: Rule,
    version: int,
    customer: Customer,
    trigger: Trigger,
    now: datetime,
) -> tuple[Decision, list[int]]:
    """Decide and store; returns the decision and the new jobs' ids (empty when the trigger
    was seen before, the conditions did not hold, or the firing was suppressed)."""
    recent = recent_firings(session, rule.name, customer.profile_id, now, rule.limits.days)
    decision = decide(session, rule, customer, now, recent_firings=recent)
    if decision.status == "skip":
        return decision, []
    conn = session.connection()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = conn.execute(
        dialect.insert(automation_firings)
        .values(
            rule=rule.name,
            rule_version=version,
            trigger_key=trigger.key[:200],
            profile_id=customer.profile_id,
            seq=trigger.seq,
            at=now,
            status=STATUS[decision.status],
            reason=(decision.reason or "")[:200] or None,
            deferred_to=decision.deferred_to,
        )
        .on_conflict_do_nothing(index_elements=["rule", "trigger_key"])
        .returning(automation_firings.c.id)
    ).scalar()
    if inserted is None:
        return Decision("skip", "fired for this trigger already"), []
    firing_id = int(inserted)
    record_action(
        session,
        actor=f"automation:{rule.name}",
        action=f"automation.{decision.status.replace('_', '-')}",
        subject=customer.profile_id,
        details={"firing": firing_id, "trigger": trigger.key, "reason": decision.reason,
                 "deferred_to": decision.deferred_to},
    )  # fmt: skip
    if decision.status != "fire":
        return decision, []
    due = decision.deferred_to or now
    context = {"event": trigger.event, "trigger_at": trigger.at.isoformat(),
               **(trigger.extra or {})}  # fmt: skip
    ids = []
    for index, action in enumerate(rule.actions):
        ids.append(
            int(
                session.execute(
                    automation_jobs.insert()
                    .values(
                        firing_id=firing_id,
                        rule=rule.name,
                        profile_id=customer.profile_id,
                        action_index=index,
                        kind=action.kind,
                        status="pending",
                        attempts=0,
                        due_at=due,
                        lease_until=None,
                        last_error=None,
                        context=orjson.dumps(context, default=str).decode(),
                        result=None,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(automation_jobs.c.id)
                ).scalar_one()
            )
        )
    return decision, ids

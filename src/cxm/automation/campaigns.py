"""Campaigns measured against their holdout: did the customers who got the campaign do better
than the random share kept out?

A campaign's cohort is who was assigned to it, in which group, and when:

- a rule with a ``campaign`` block: its firings (``treatment``) and holdout draws (``holdout``);
- a campaign run elsewhere (an e-mail tool) that logs ``Campaign Assigned`` events with
  ``campaign`` and ``group`` (``treatment`` or ``holdout``) properties.

For each group, within ``days`` of the assignment (only assignments at least that old count,
so both groups had the whole window): the **conversion** (the goal event), **churn** (an event
at a touchpoint whose journey-map role is ``churn``) and **NPS** (each customer's last NPS
answer in the window). Uplift is treatment minus holdout, with a Newcombe interval and a
two-proportion z-test for the shares, and the normal interval of a difference of two NPS.

>>> report = uplift(cohort, outcomes, goal=goal, now=now)                  # doctest: +SKIP
>>> report.conversion.difference, report.conversion.low, report.conversion.high   # doctest: +SKIP
(0.18, 0.09, 0.27)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.automation.rules import Goal, Rule
from cxm.automation.tables import automation_firings
from cxm.errors import InvalidInput, NotFound
from cxm.identity.tables import profiles
from cxm.ingest.queries import event_properties
from cxm.ingest.tables import events
from cxm.journeys.map import JourneyMap
from cxm.metrics.behaviour import SURVEY_EVENT
from cxm.metrics.changes import Change, compare_nps, compare_proportions
from cxm.metrics.stats import nps_counts
from cxm.profiles.tables import profile_events

ASSIGNMENT_EVENT = "Campaign Assigned"
GROUPS = ("treatment", "holdout")


@dataclass(frozen=True)
class Member:
    profile_id: str
    group: str  # treatment, holdout
    at: datetime


@dataclass(frozen=True)
class Outcome:
    """One event of a cohort member that may matter: a goal, a churn, an NPS answer."""

    profile_id: str
    at: datetime
    name: str | None
    properties: dict[str, Any]


@dataclass
class GroupFigures:
    assigned: int = 0
    measured: int = 0  # whose window has ended
    converted: int = 0
    churned: int = 0
    nps_scores: list[int] = field(default_factory=list)


@dataclass
class UpliftReport:
    campaign: str
    goal: Goal
    days: int
    treatment: GroupFigures
    holdout: GroupFigures
    conversion: Change
    churn: Change
    nps: Change | None  # None: too few answers in either group

    def to_dict(self) -> dict[str, Any]:
        def change(c: Change | None) -> dict[str, Any] | None:
            if c is None:
                return None

            def clean(x: float) -> float | None:
                return None if math.isnan(x) else round(x, 6)

            return {
                "holdout": clean(c.a.estimate),
                "treatment": clean(c.b.estimate),
                "uplift": clean(c.difference),
                "low": clean(c.low),
                "high": clean(c.high),
                "p_value": clean(c.p_value),
                "relative_uplift": clean(c.difference / c.a.estimate)
                if c.a.estimate not in (0.0,) and not math.isnan(c.a.estimate)
                else None,
                "confidence": c.confidence,
            }

        def group(g: GroupFigures) -> dict[str, Any]:
            return {"assigned": g.assigned, "measured": g.measured, "converted": g.converted,
                    "churned": g.churned, "nps_answers": len(g.nps_scores)}  # fmt: skip

        return {
            "campaign": self.campaign,
            "goal": {"event": self.goal.event, "where": self.goal.where, "days": self.goal.days},
            "treatment": group(self.treatment),
            "holdout": group(self.holdout),
            "conversion": change(self.conversion),
            "churn": change(self.churn),
            "nps": change(self.nps),
        }


def uplift(
    campaign: str,
    cohort: Iterable[Member],
    outcomes: Iterable[Outcome],
    *,
    goal: Goal,
    churn_events: frozenset[str],
    now: datetime,
    confidence: float = 0.95,
) -> UpliftReport:
    """The arithmetic (pure): each member's first assignment, outcomes inside the window."""
    first: dict[str, Member] = {}
    for m in sorted(cohort, key=lambda m: m.at):
        first.setdefault(m.profile_id, m)
    by_profile: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_profile.setdefault(o.profile_id, []).append(o)
    figures = {g: GroupFigures() for g in GROUPS}
    window = timedelta(days=goal.days)
    for m in first.values():
        f = figures[m.group]
        f.assigned += 1
        if m.at + window > now:
            continue  # the window has not ended: not measured yet
        f.measured += 1
        inside = [o for o in by_profile.get(m.profile_id, []) if m.at < o.at <= m.at + window]
        if any(goal.met_by(o.name, o.properties) for o in inside):
            f.converted += 1
        if any(o.name in churn_events for o in inside):
            f.churned += 1
        answers = sorted(
            (o for o in inside if o.name == SURVEY_EVENT and o.properties.get("kind") == "nps"),
            key=lambda o: o.at,
        )
        score = answers[-1].properties.get("score") if answers else None
        if isinstance(score, int) and not isinstance(score, bool) and 0 <= score <= 10:
            f.nps_scores.append(score)
    t, h = figures["treatment"], figures["holdout"]
    conversion = compare_proportions(h.converted, h.measured, t.converted, t.measured, confidence)
    churn = compare_proportions(h.churned, h.measured, t.churned, t.measured, confidence)
    nps = None
    if len(t.nps_scores) >= 10 and len(h.nps_scores) >= 10:
        nps = compare_nps(nps_counts(h.nps_scores), nps_counts(t.nps_scores), confidence)
    return UpliftReport(campaign, goal, goal.days, t, h, conversion, churn, nps)


def rule_cohort(session: Session, rule: str) -> list[Member]:
    """A campaign rule's firings and holdout draws, under each customer's live profile."""
    f = automation_firings.c
    root = func.coalesce(profiles.c.merged_into, profiles.c.id)
    return [
        Member(str(pid), "treatment" if status == "fired" else "holdout", at)
        for pid, status, at in session.execute(
            select(root, f.status, f.at)
            .join(profiles, profiles.c.id == f.profile_id)
            .where(f.rule == rule, f.status.in_(("fired", "held_out")))
        )
    ]


def event_cohort(session: Session, campaign: str) -> list[Member]:
    """Members of a campaign run elsewhere, from its ``Campaign Assigned`` events."""
    root = func.coalesce(profiles.c.merged_into, profile_events.c.profile_id)
    out = []
    rows = session.execute(
        select(root, events.c.timestamp, events.c.payload)
        .join(profile_events, profile_events.c.seq == events.c.seq)
        .join(profiles, profiles.c.id == profile_events.c.profile_id)
        .where(events.c.type == "track", events.c.event == ASSIGNMENT_EVENT)
    )
    for pid, at, payload in rows:
        props = event_properties(payload)
        group = props.get("group")
        if props.get("campaign") == campaign and group in GROUPS:
            out.append(Member(str(pid), str(group), at))
    return out


def campaign_outcomes(
    session: Session, cohort: list[Member], names: Iterable[str], *, chunk: int = 500
) -> list[Outcome]:
    """The cohort's events of the given names after their first assignment."""
    wanted = sorted(set(names))
    since = min((m.at for m in cohort), default=None)
    if since is None or not wanted:
        return []
    ids = sorted({m.profile_id for m in cohort})
    out: list[Outcome] = []
    for i in range(0, len(ids), chunk):
        # A live profile holds its events (merges move them), so its id finds them all.
        rows = session.execute(
            select(
                profile_events.c.profile_id, events.c.timestamp, events.c.event, events.c.payload
            )  # fmt: skip
            .join(profile_events, profile_events.c.seq == events.c.seq)
            .where(
                profile_events.c.profile_id.in_(ids[i : i + chunk]),
                events.c.event.in_(wanted),
                events.c.timestamp > since,
            )
        )
        out.extend(Outcome(str(p), at, name, event_properties(body)) for p, at, name, body in rows)
    return out


def churn_event_names(journey: JourneyMap | None) -> frozenset[str]:
    """Track events at the journey map's churn touchpoints (``Subscription Cancelled``)."""
    names = {"Subscription Cancelled"}
    if journey is not None:
        for touchpoint in journey.with_role("churn"):
            names.update(touchpoint.match.events or ())
    return frozenset(names)


def rule_uplift(
    session: Session, rule: Rule, *, journey: JourneyMap | None, now: datetime
) -> UpliftReport:
    """The uplift of a campaign rule (one with a ``campaign`` block)."""
    if rule.campaign is None:
        raise InvalidInput(
            f"the rule {rule.name!r} is not a campaign: give it campaign: {{holdout, goal}}"
        )
    # Customers a tool outside cxm assigned under the same name belong to it too.
    cohort = rule_cohort(session, rule.name) + event_cohort(session, rule.name)
    return _measure(session, rule.name, cohort, rule.campaign.goal, journey, now)


def event_campaign_uplift(
    session: Session, campaign: str, goal: Goal, *, journey: JourneyMap | None, now: datetime
) -> UpliftReport:
    """The uplift of a campaign run elsewhere, from its ``Campaign Assigned`` events."""
    cohort = event_cohort(session, campaign)
    if not cohort:
        raise NotFound(
            f"no {ASSIGNMENT_EVENT!r} events with campaign {campaign!r}; a campaign run "
            "elsewhere logs one per customer with its group (treatment or holdout)"
        )
    return _measure(session, campaign, cohort, goal, journey, now)


def _measure(
    session: Session,
    name: str,
    cohort: list[Member],
    goal: Goal,
    journey: JourneyMap | None,
    now: datetime,
) -> UpliftReport:
    churn = churn_event_names(journey)
    outcomes = campaign_outcomes(session, cohort, {goal.event, SURVEY_EVENT, *churn})
    return uplift(name, cohort, outcomes, goal=goal, churn_events=churn, now=now)

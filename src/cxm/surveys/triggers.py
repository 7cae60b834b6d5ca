"""Touchpoint triggers: a survey with ``trigger: {after_touchpoint: repair}`` invites each
customer whose event is placed on that touchpoint of the journey map.

The job reads the event log in sequence order past a high-water mark (the ``survey-triggers``
cursor), only as far as the profile projector has placed events on customers. Each batch is
one transaction that writes its invitations *and* moves the mark, so a crash repeats at most
the batch it interrupted and never invites twice; the unique (survey, event) index on the
invitations makes sure of it even if the mark is moved back by hand.

Rules, all documented in docs/metrics.md ("Touchpoint triggers"):

- an event invites only to surveys whose trigger was in place when it was received
  (``since``: the first of the newest versions that all have that trigger), and only while
  it is recent by the customer's clock (``CXM_SURVEY_TRIGGER_MAX_AGE_DAYS``), so importing
  history surveys nobody about last year's visit;
- ``Survey Answered`` events never trigger a survey;
- the invitation is linked to the touchpoint and to the event's ``case_ref`` property, in the
  customer's language (trait ``language``, else ``locale``, else the event's
  ``context.locale``) when the survey has it, else the survey's first language;
- the fatigue rule applies; a suppressed invitation is recorded at the time of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

import orjson
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.errors import CxmError
from cxm.ingest.tables import events
from cxm.journeys.map import JourneyMap, TouchpointMatch
from cxm.journeys.service import current_journey_map
from cxm.profiles.projector import CURSOR as PROJECTOR_CURSOR
from cxm.profiles.tables import profile_events
from cxm.store.metadata import utcnow
from cxm.store.tables import cursors
from cxm.surveys.responses import ANSWERED_EVENT
from cxm.surveys.service import do_invite
from cxm.surveys.tables import survey_invitations, survey_versions
from cxm.surveys.targeting import case_ref_of, choose_language, language_traits, trigger_since

TRIGGER_ACTOR = "system:survey-triggers"
CURSOR = "survey-triggers"

Sessions = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class TouchpointSurvey:
    """A customer survey waiting for events on ``touchpoint`` received from ``since`` on."""

    survey: str
    touchpoint: str
    languages: tuple[str, ...]
    since: datetime


@dataclass
class TriggerReport:
    events: int = 0  # events placed on a trigger touchpoint that were read
    sent: int = 0
    suppressed: int = 0
    rejected: int = 0
    already: int = 0  # the event had invited to the survey before
    position: int = 0  # the high-water mark after the run
    missing_touchpoints: list[str] = field(default_factory=list)

    def add(self, other: TriggerReport) -> None:
        for name in ("events", "sent", "suppressed", "rejected", "already"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.position = other.position
        self.missing_touchpoints = sorted(set(self.missing_touchpoints + other.missing_touchpoints))


def touchpoint_surveys(session: Session) -> list[TouchpointSurvey]:
    """Customer surveys whose newest version triggers after a touchpoint."""
    rows = session.execute(
        select(
            survey_versions.c.survey_id, survey_versions.c.definition, survey_versions.c.created_at
        ).order_by(survey_versions.c.survey_id, survey_versions.c.version.desc())
    ).all()
    found: list[TouchpointSurvey] = []
    for survey_id, versions in groupby(rows, key=lambda r: r.survey_id):
        history = [(orjson.loads(v.definition), v.created_at) for v in versions]
        newest = history[0][0]
        touchpoint = (newest.get("trigger") or {}).get("after_touchpoint")
        if touchpoint and newest.get("audience", "customer") == "customer":
            found.append(
                TouchpointSurvey(
                    survey=survey_id,
                    touchpoint=touchpoint,
                    languages=tuple(newest["languages"]),
                    since=trigger_since(history),
                )
            )
    return found


def run_survey_triggers(
    sessions: Sessions,
    *,
    fatigue_days: int,
    max_age_days: int,
    now: datetime | None = None,
    batch: int = 200,
) -> TriggerReport:
    """Invite for every touchpoint event placed since the last run; ``batch`` trigger events
    per transaction. ``sessions`` opens a committing session, e.g. ``Workspace.session``."""
    total = TriggerReport()
    while True:
        with sessions() as session:
            report, done = do_trigger_batch(
                session=session,
                now=now or utcnow(),
                fatigue_days=fatigue_days,
                max_age_days=max_age_days,
                limit=batch,
            )
        total.add(report)
        if done:
            return total


def do_trigger_batch(
    *,
    session: Session,
    now: datetime,
    fatigue_days: int,
    max_age_days: int,
    limit: int = 200,
    actor: str = TRIGGER_ACTOR,
) -> tuple[TriggerReport, bool]:
    """One batch in the caller's transaction: (what was done, whether the log is caught up)."""
    report = TriggerReport()
    mark = _claim_mark(session)
    report.position = mark
    journey = current_journey_map(session)
    by_touchpoint: dict[str, list[TouchpointSurvey]] = {}
    for waiting in touchpoint_surveys(session) if journey is not None else []:
        if journey is not None and not any(t.id == waiting.touchpoint for t in journey.touchpoints):
            report.missing_touchpoints.append(waiting.touchpoint)
            continue
        by_touchpoint.setdefault(waiting.touchpoint, []).append(waiting)
    placed_up_to = int(
        session.execute(
            select(cursors.c.position).where(cursors.c.name == PROJECTOR_CURSOR)
        ).scalar()
        or 0
    )
    if placed_up_to <= mark:
        return report, True
    if journey is None or not by_touchpoint:
        # Nothing waits: events read now can never invite (a survey saved later only takes
        # events received after it), so the mark moves on without reading them.
        _move_mark(session, placed_up_to)
        report.position = placed_up_to
        return report, True

    rows = _trigger_events(
        session,
        journey,
        by_touchpoint,
        after=mark,
        up_to=placed_up_to,
        oldest=now - timedelta(days=max_age_days),
        limit=limit,
    )
    invited = _invited_before(session, [r.seq for r in rows])
    languages: dict[str, list[Any]] = {}
    for row in rows:
        touchpoint = journey.match(row.type, row.event, row.channel)
        if touchpoint is None or touchpoint.id not in by_touchpoint:
            continue
        report.events += 1
        payload = orjson.loads(row.payload)
        for waiting in by_touchpoint[touchpoint.id]:
            if row.received_at < waiting.since:
                continue
            if (waiting.survey, row.seq) in invited:
                report.already += 1
                continue
            if row.profile_id not in languages:
                languages[row.profile_id] = language_traits(session, row.profile_id)
            context = payload.get("context")
            locale = context.get("locale") if isinstance(context, dict) else None
            _invite(
                session,
                report,
                actor=actor,
                waiting=waiting,
                row=row,
                case_ref=case_ref_of(payload),
                language=choose_language(waiting.languages, [*languages[row.profile_id], locale]),
                now=now,
                fatigue_days=fatigue_days,
            )
    caught_up = len(rows) < limit
    report.position = placed_up_to if caught_up else rows[-1].seq
    _move_mark(session, report.position)
    return report, caught_up


def _invite(
    session: Session,
    report: TriggerReport,
    *,
    actor: str,
    waiting: TouchpointSurvey,
    row: Any,
    case_ref: str | None,
    language: str,
    now: datetime,
    fatigue_days: int,
) -> None:
    try:
        with session.begin_nested():
            outcome = do_invite(
                session=session,
                actor=actor,
                survey=waiting.survey,
                profile_id=row.profile_id,
                touchpoint=waiting.touchpoint,
                case_ref=case_ref,
                language=language,
                now=now,
                fatigue_days=fatigue_days,
                event_seq=row.seq,
            )
    except IntegrityError:  # invited for this event meanwhile, by a run beside this one
        report.already += 1
        return
    except CxmError as exc:
        report.rejected += 1
        record_action(
            session,
            actor=actor,
            action="survey.invitation_rejected",
            subject=waiting.survey,
            details={"event_seq": row.seq, "profile_id": row.profile_id, "reason": exc.message},
        )
        return
    if outcome.status == "sent":
        report.sent += 1
    else:
        report.suppressed += 1


def _trigger_events(
    session: Session,
    journey: JourneyMap,
    by_touchpoint: dict[str, list[TouchpointSurvey]],
    *,
    after: int,
    up_to: int,
    oldest: datetime,
    limit: int,
) -> list[Any]:
    """Placed events on the trigger touchpoints in (after, up_to], oldest first."""
    patterns = [_pattern(journey.touchpoint(t).match) for t in by_touchpoint]
    received_from = min(w.since for waiting in by_touchpoint.values() for w in waiting)
    return list(
        session.execute(
            select(
                events.c.seq,
                events.c.type,
                events.c.event,
                events.c.channel,
                events.c.received_at,
                events.c.payload,
                profile_events.c.profile_id,
            )
            .join(profile_events, profile_events.c.seq == events.c.seq)
            .where(
                events.c.seq > after,
                events.c.seq <= up_to,
                or_(*patterns),
                or_(events.c.event.is_(None), events.c.event != ANSWERED_EVENT),
                events.c.received_at >= received_from,
                events.c.timestamp >= oldest,
            )
            .order_by(events.c.seq)
            .limit(limit)
        ).all()
    )


def _pattern(match: TouchpointMatch) -> Any:
    clauses = [events.c.type.in_(match.types)]
    if match.events is not None:
        clauses.append(events.c.event.in_(match.events))
    if match.channels is not None:
        clauses.append(events.c.channel.in_(match.channels))
    return and_(*clauses)


def _invited_before(session: Session, seqs: list[int]) -> set[tuple[str, int]]:
    if not seqs:
        return set()
    inv = survey_invitations.c
    rows = session.execute(
        select(inv.survey_id, inv.event_seq).where(inv.event_seq.in_(seqs))
    ).all()
    return {(r.survey_id, int(r.event_seq)) for r in rows}


def _claim_mark(session: Session) -> int:
    """The high-water mark, locked until the transaction ends (two runs take turns)."""
    conn = session.connection()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # Writing first takes SQLite's write lock before anything is read.
    conn.execute(
        dialect.insert(cursors)
        .values(name=CURSOR, position=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    position = conn.execute(
        select(cursors.c.position).where(cursors.c.name == CURSOR).with_for_update()
    ).scalar_one()
    return int(position)


def _move_mark(session: Session, position: int) -> None:
    session.execute(
        update(cursors)
        .where(cursors.c.name == CURSOR)
        .values(position=position, updated_at=utcnow())
    )


def trigger_mark(session: Session) -> int:
    """How far the trigger job has read the event log (0 before its first run)."""
    position = session.execute(select(cursors.c.position).where(cursors.c.name == CURSOR)).scalar()
    return int(position or 0)

"""Reminders: an invitation not answered by its reminder time is reminded once.

cxm sends no e-mail yet (that comes with automation). A due reminder is *recorded*: the
invitation gets ``reminded_at`` and ``reminder_delivery = "pending"``, the audit log
``survey.reminded``, and a :class:`SurveyReminderSent` domain event is published after commit,
which the e-mail action will listen to (and then set the delivery to delivered or failed).

>>> with ws.session() as session:                                          # doctest: +SKIP
...     report = do_send_reminders(session=session, actor="system:survey-reminders",
...                                now=utcnow())
>>> [i.id for i in report.reminded]                                        # doctest: +SKIP
['inv_…']
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.domain_events import publish
from cxm.errors import Conflict, NotFound
from cxm.store.metadata import utcnow
from cxm.surveys.models import Invitation, SurveyReminderSent
from cxm.surveys.queries import get_invitation, invitation_from_row
from cxm.surveys.service import take_write_turn
from cxm.surveys.tables import survey_invitations

REMINDER_ACTOR = "system:survey-reminders"
PENDING_DELIVERY = "pending"

Sessions = Callable[[], AbstractContextManager[Session]]


@dataclass
class ReminderReport:
    reminded: list[Invitation] = field(default_factory=list)
    skipped: int = 0  # reminded meanwhile by another run, or answered


def due_reminders(session: Session, *, now: datetime, limit: int = 1000) -> list[Invitation]:
    """Invitations to remind now: sent, not answered, reminder time passed, not expired, and
    not reminded yet."""
    inv = survey_invitations.c
    rows = session.execute(
        select(survey_invitations)
        .where(
            inv.status == "sent",
            inv.remind_at.is_not(None),
            inv.remind_at <= now,
            inv.reminded_at.is_(None),
            inv.expires_at > now,
        )
        .order_by(inv.remind_at, inv.id)
        .limit(limit)
    )
    return [invitation_from_row(r._mapping, now=now) for r in rows]


def do_mark_reminded(
    *, session: Session, actor: str, invitation_id: str, now: datetime
) -> Invitation:
    """Record that the invitation is reminded now, so it is never reminded twice.

    Raises NotFound for an unknown invitation and Conflict for one answered, expired,
    suppressed or reminded already.
    """
    inv = survey_invitations.c
    result = session.execute(
        update(survey_invitations)
        .where(
            inv.id == invitation_id,
            inv.status == "sent",
            inv.reminded_at.is_(None),
            or_(inv.expires_at.is_(None), inv.expires_at > now),
        )
        .values(reminded_at=now, reminder_delivery=PENDING_DELIVERY)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        found = get_invitation(session, invitation_id, now=now)
        if found is None:
            raise NotFound(f"there is no survey invitation '{invitation_id}'")
        raise Conflict(
            f"invitation '{invitation_id}' is {found.status}"
            + (f", reminded at {found.reminded_at:%Y-%m-%d %H:%M} UTC" if found.reminded_at else "")
            + "; it is not reminded again"
        )
    invitation = get_invitation(session, invitation_id, now=now)
    assert invitation is not None
    record_action(
        session,
        actor=actor,
        action="survey.reminded",
        subject=invitation_id,
        details={
            "survey": invitation.survey_id,
            "profile_id": invitation.profile_id,
            "department": invitation.department,
            "delivery": PENDING_DELIVERY,
        },
    )
    publish(
        session,
        SurveyReminderSent(
            survey=invitation.survey_id,
            invitation=invitation.id,
            profile_id=invitation.profile_id,
            department=invitation.department,
            language=invitation.language,
            expires_at=invitation.expires_at,
        ),
    )
    return invitation


def do_send_reminders(
    *, session: Session, actor: str, now: datetime, limit: int = 200
) -> ReminderReport:
    """Record a reminder for up to ``limit`` due invitations; see the module docstring."""
    take_write_turn(session)  # before reading, so that a concurrent run waits and sees ours
    report = ReminderReport()
    for due in due_reminders(session, now=now, limit=limit):
        try:
            with session.begin_nested():
                report.reminded.append(
                    do_mark_reminded(session=session, actor=actor, invitation_id=due.id, now=now)
                )
        except Conflict:
            report.skipped += 1
    return report


def run_survey_reminders(
    sessions: Sessions, *, now: datetime | None = None, batch: int = 200
) -> ReminderReport:
    """Every due reminder, ``batch`` per transaction (what the worker and `cxm surveys remind`
    run). ``sessions`` opens a committing session, e.g. ``Workspace.session``."""
    total = ReminderReport()
    while True:
        with sessions() as session:
            report = do_send_reminders(
                session=session, actor=REMINDER_ACTOR, now=now or utcnow(), limit=batch
            )
        total.reminded.extend(report.reminded)
        total.skipped += report.skipped
        if len(report.reminded) + report.skipped < batch:
            return total

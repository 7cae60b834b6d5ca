"""Saving survey definitions and sending invitations, with the fatigue rule.

>>> with ws.session() as session:                                          # doctest: +SKIP
...     do_save_survey(session=session, actor="user:ania", data=definition)
...     outcome = do_invite(session=session, actor="user:ania", survey="nps-after-repair",
...                         profile_id="p_ania", touchpoint="repair", case_ref="C-17",
...                         language="pl", now=utcnow(), fatigue_days=30)
>>> outcome.status, outcome.token                                          # doctest: +SKIP
('sent', 'inv_….…')
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.domain_events import publish
from cxm.errors import Conflict, CxmError, InvalidInput
from cxm.journeys.service import current_journey_map
from cxm.profiles import resolve_profile_id
from cxm.segments import segment_names
from cxm.store.metadata import utcnow
from cxm.surveys.definitions import survey_from_data
from cxm.surveys.models import (
    InviteOutcome,
    StoredSurvey,
    SurveyInvitationSent,
    SurveySaved,
)
from cxm.surveys.queries import get_survey
from cxm.surveys.tables import survey_invitations, survey_versions
from cxm.surveys.tokens import new_invitation_id, sign_invitation, workspace_secret


def do_save_survey(
    *, session: Session, actor: str, data: Any, now: datetime | None = None
) -> StoredSurvey:
    """Check a definition and store it as the survey's next version (the first creates it).

    Invitations already sent keep the version they were sent with.
    """
    journey = current_journey_map(session)
    touchpoints = None if journey is None else [t.id for t in journey.touchpoints]
    definition = survey_from_data(data, touchpoints=touchpoints, segments=segment_names(session))
    now = now or utcnow()
    version = (
        int(
            session.execute(
                select(func.coalesce(func.max(survey_versions.c.version), 0)).where(
                    survey_versions.c.survey_id == definition.id
                )
            ).scalar_one()
        )
        + 1
    )
    try:
        with session.begin_nested():
            session.execute(
                insert(survey_versions).values(
                    survey_id=definition.id,
                    version=version,
                    kind=definition.kind,
                    audience=definition.audience,
                    definition=orjson.dumps(definition.to_dict()).decode(),
                    created_at=now,
                    actor=actor,
                )
            )
    except IntegrityError as exc:
        raise Conflict(
            f"survey '{definition.id}' version {version} was saved at the same time; send it again"
        ) from exc
    record_action(
        session,
        actor=actor,
        action="survey.saved",
        subject=definition.id,
        details={"version": version, "kind": definition.kind, "audience": definition.audience},
    )
    publish(session, SurveySaved(survey=definition.id, version=version))
    return StoredSurvey(definition=definition, version=version, created_at=now, actor=actor)


def do_invite(
    *,
    session: Session,
    actor: str,
    survey: str,
    profile_id: str | None,
    touchpoint: str | None,
    case_ref: str | None,
    language: str | None,
    now: datetime,
    department: str | None = None,
    fatigue_days: int = 30,
    event_seq: int | None = None,
) -> InviteOutcome:
    """Invite one customer (``profile_id``: an id, e-mail, phone or user id) or one department
    (employee surveys).

    A customer invited to any survey in the last ``fatigue_days`` days is not invited again:
    the outcome is ``suppressed`` with the reason, and the refusal is stored so that it is
    counted. Mistakes of the caller (unknown survey, profile or language) raise InvalidInput
    or NotFound. ``event_seq`` is the touchpoint event that triggered the invitation; a second
    invitation for the same event and survey raises IntegrityError.
    """
    if profile_id is not None and fatigue_days > 0:
        take_write_turn(session)
    stored = get_survey(session, survey)
    definition = stored.definition
    language = language or definition.languages[0]
    if language not in definition.languages:
        raise InvalidInput(
            f"survey '{survey}' is in {', '.join(definition.languages)}, not '{language}'; "
            "invite in one of those"
        )
    if definition.audience == "employee":
        if profile_id is not None or not department:
            raise InvalidInput(
                f"survey '{survey}' is for employees: invite a department, not a customer"
            )
        _check_department(session, department)
    else:
        if department is not None:
            raise InvalidInput(
                f"survey '{survey}' is for customers: invite profiles, not a department"
            )
        if profile_id is not None:
            profile_id = _live_profile(session, profile_id)
    if touchpoint is None and definition.trigger.type == "after_touchpoint":
        touchpoint = definition.trigger.value
    for name, value, limit in (("touchpoint", touchpoint, 100), ("case_ref", case_ref, 200)):
        if value is not None and (not value.strip() or len(value) > limit):
            raise InvalidInput(f"{name} must be text of 1 to {limit} characters, not {value!r}")

    row: dict[str, Any] = {
        "id": new_invitation_id(),
        "survey_id": survey,
        "version": stored.version,
        "profile_id": profile_id,
        "department": department,
        "touchpoint": touchpoint,
        "case_ref": case_ref,
        "language": language,
        "created_at": now,
        "actor": actor,
        "event_seq": event_seq,
    }
    reason = (
        _fatigue(session, profile_id, now=now, days=fatigue_days)
        if profile_id is not None
        else None
    )
    if reason is not None:
        session.execute(
            insert(survey_invitations).values(**row, status="suppressed", reason=reason)
        )
        record_action(
            session,
            actor=actor,
            action="survey.invitation_suppressed",
            subject=survey,
            details={"invitation": row["id"], "profile_id": profile_id, "reason": reason},
        )
        return InviteOutcome(
            profile_id=profile_id, department=None, status="suppressed", reason=reason
        )

    expires_at = now + timedelta(days=definition.expires_days)
    remind_at = now + timedelta(days=definition.reminder_days) if definition.reminder_days else None
    session.execute(
        insert(survey_invitations).values(
            **row, status="sent", expires_at=expires_at, remind_at=remind_at
        )
    )
    record_action(
        session,
        actor=actor,
        action="survey.invited",
        subject=survey,
        details={
            "invitation": row["id"],
            "version": stored.version,
            "profile_id": profile_id,
            "department": department,
            "touchpoint": touchpoint,
            "case_ref": case_ref,
            "language": language,
        },
    )
    publish(
        session,
        SurveyInvitationSent(
            survey=survey, invitation=row["id"], profile_id=profile_id, department=department
        ),
    )
    return InviteOutcome(
        profile_id=profile_id,
        department=department,
        status="sent",
        invitation_id=row["id"],
        token=sign_invitation(workspace_secret(session), row["id"]),
        expires_at=expires_at,
    )


def do_invite_batch(
    *,
    session: Session,
    actor: str,
    survey: str,
    profile_ids: Sequence[str] = (),
    departments: Sequence[str] = (),
    touchpoint: str | None = None,
    case_ref: str | None = None,
    language: str | None = None,
    now: datetime,
    fatigue_days: int = 30,
) -> list[InviteOutcome]:
    """Invite many; one outcome per profile or department, in order.

    One that cannot be invited (fatigue, an unknown profile) is reported in its outcome and
    does not stop the others.
    """
    take_write_turn(session)  # before the first read; see take_write_turn
    get_survey(session, survey)  # an unknown survey fails the whole batch at once
    targets = [(p, None) for p in profile_ids] + [(None, d) for d in departments]
    outcomes: list[InviteOutcome] = []
    for profile_id, department in targets:
        try:
            with session.begin_nested():
                outcome = do_invite(
                    session=session,
                    actor=actor,
                    survey=survey,
                    profile_id=profile_id,
                    touchpoint=touchpoint,
                    case_ref=case_ref,
                    language=language,
                    now=now,
                    department=department,
                    fatigue_days=fatigue_days,
                )
        except CxmError as exc:
            outcome = InviteOutcome(
                profile_id=profile_id, department=department, status="rejected", reason=exc.message
            )
        outcomes.append(outcome)
    return outcomes


def _fatigue(session: Session, profile_id: str, *, now: datetime, days: int) -> str | None:
    """Why ``profile_id`` may not be invited now, or None when it may.

    Two invitations for one customer at the same moment (a batch and a trigger, two servers)
    take turns here, so the second one sees the first; the turn lasts until the transaction
    that records the invitation ends.
    """
    if days <= 0:
        return None
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        digest = hashlib.blake2b(f"survey-invitation:{profile_id}".encode(), digest_size=8)
        key = int.from_bytes(digest.digest(), "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    inv = survey_invitations.c
    last = session.execute(
        select(inv.survey_id, inv.created_at)
        .where(
            inv.profile_id == profile_id,
            inv.status.in_(("sent", "answered")),
            inv.created_at > now - timedelta(days=days),
            inv.created_at <= now,
        )
        .order_by(inv.created_at.desc())
        .limit(1)
    ).first()
    if last is None:
        return None
    again = last.created_at + timedelta(days=days)
    return (
        f"fatigue: {profile_id} was invited to survey '{last.survey_id}' on "
        f"{last.created_at:%Y-%m-%d}, and no customer is invited more than once per {days} days "
        f"(CXM_SURVEY_FATIGUE_DAYS); the next invitation is possible from {again:%Y-%m-%d}"
    )


def take_write_turn(session: Session) -> None:
    """On SQLite, take the one write lock before this transaction reads anything.

    A transaction that has read cannot wait for the lock later (SQLite answers "database is
    locked" at once), and one that read before another invitation was stored would not see
    it. A write that changes nothing takes the lock; PostgreSQL uses a lock per customer.
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.execute(
            update(survey_invitations)
            .where(survey_invitations.c.id == "")
            .values(status=survey_invitations.c.status)
        )


def _live_profile(session: Session, ref: str) -> str:
    """The live profile a reference names: a profile id, an e-mail, a phone or a user id."""
    if not ref.strip() or len(ref) > 320:
        raise InvalidInput(f"{ref[:40]!r} is not a profile reference")
    return resolve_profile_id(session, ref)


def _check_department(session: Session, department: str) -> None:
    journey = current_journey_map(session)
    if journey is None:
        return  # without a journey map there is no list of departments to hold it to
    known = [d.id for d in journey.departments]
    if department not in known:
        raise InvalidInput(
            f"the journey map has no department '{department}'; its departments are "
            f"{', '.join(known)}"
        )

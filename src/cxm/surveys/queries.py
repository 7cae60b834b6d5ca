"""Reading surveys, invitations and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cxm.errors import NotFound
from cxm.surveys.definitions import survey_from_data
from cxm.surveys.models import Invitation, StoredSurvey, SurveyDefinition, SurveyResponse
from cxm.surveys.tables import survey_invitations, survey_responses, survey_versions


def get_survey(session: Session, survey_id: str, *, version: int | None = None) -> StoredSurvey:
    """The newest version of a survey (or the given one); raises NotFound."""
    stmt = select(survey_versions).where(survey_versions.c.survey_id == survey_id)
    if version is not None:
        stmt = stmt.where(survey_versions.c.version == version)
    row = session.execute(stmt.order_by(survey_versions.c.version.desc()).limit(1)).first()
    if row is None:
        which = f"version {version} of " if version is not None else ""
        raise NotFound(
            f"there is no {which}survey '{survey_id}'; GET /api/surveys lists the surveys"
        )
    return _stored(row._mapping)


def list_surveys(session: Session) -> list[StoredSurvey]:
    """The newest version of every survey, by id."""
    newest = (
        select(survey_versions.c.survey_id, func.max(survey_versions.c.version).label("version"))
        .group_by(survey_versions.c.survey_id)
        .subquery()
    )
    rows = session.execute(
        select(survey_versions)
        .join(
            newest,
            and_(
                survey_versions.c.survey_id == newest.c.survey_id,
                survey_versions.c.version == newest.c.version,
            ),
        )
        .order_by(survey_versions.c.survey_id)
    )
    return [_stored(r._mapping) for r in rows]


def get_invitation(session: Session, invitation_id: str, *, now: datetime) -> Invitation | None:
    row = session.execute(
        select(survey_invitations).where(survey_invitations.c.id == invitation_id)
    ).first()
    return None if row is None else invitation_from_row(row._mapping, now=now)


def list_invitations(
    session: Session, survey_id: str, *, now: datetime, limit: int = 500
) -> list[Invitation]:
    rows = session.execute(
        select(survey_invitations)
        .where(survey_invitations.c.survey_id == survey_id)
        .order_by(survey_invitations.c.created_at.desc(), survey_invitations.c.id)
        .limit(limit)
    )
    return [invitation_from_row(r._mapping, now=now) for r in rows]


def invitation_counts(session: Session, survey_id: str, *, now: datetime) -> dict[str, Any]:
    """Invitations by status and the response rate over those that reached someone.

    Suppressed invitations (refused by the fatigue rule) are counted apart: they were wanted
    but never sent, so they neither raise nor lower the rate.
    """
    inv = survey_invitations.c
    expired = and_(inv.status == "sent", inv.expires_at <= now)
    rows = session.execute(
        select(inv.status, expired.label("expired"), func.count())
        .where(inv.survey_id == survey_id)
        .group_by(inv.status, expired)
    )
    counts = {"sent": 0, "answered": 0, "expired": 0, "suppressed": 0}
    for status, is_expired, count in rows:
        counts["expired" if status == "sent" and is_expired else status] += int(count)
    delivered = counts["sent"] + counts["answered"] + counts["expired"]
    rate = counts["answered"] / delivered if delivered else None
    return {**counts, "delivered": delivered, "response_rate": rate}


def list_responses(
    session: Session, survey_id: str, *, limit: int = 500, offset: int = 0
) -> list[SurveyResponse]:
    rows = session.execute(
        select(survey_responses)
        .where(survey_responses.c.survey_id == survey_id)
        .order_by(survey_responses.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [response_from_row(r._mapping) for r in rows]


def invitation_from_row(row: Any, *, now: datetime) -> Invitation:
    status = row["status"]
    if status == "sent" and row["expires_at"] is not None and row["expires_at"] <= now:
        status = "expired"
    return Invitation(
        id=row["id"],
        survey_id=row["survey_id"],
        version=row["version"],
        profile_id=row["profile_id"],
        department=row["department"],
        touchpoint=row["touchpoint"],
        case_ref=row["case_ref"],
        language=row["language"],
        status=status,
        reason=row["reason"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        remind_at=row["remind_at"],
        reminded_at=row["reminded_at"],
        answered_at=row["answered_at"],
        event_seq=row["event_seq"],
        reminder_delivery=row["reminder_delivery"],
    )


def response_from_row(row: Any) -> SurveyResponse:
    return SurveyResponse(
        id=row["id"],
        survey_id=row["survey_id"],
        version=row["version"],
        profile_id=row["profile_id"],
        department=row["department"],
        touchpoint=row["touchpoint"],
        case_ref=row["case_ref"],
        language=row["language"],
        score=row["score"],
        comment=row["comment"],
        answers=orjson.loads(row["answers"]),
        answered_at=row["answered_at"],
    )


def _stored(row: Any) -> StoredSurvey:
    return StoredSurvey(
        definition=_definition(row["definition"]),
        version=row["version"],
        created_at=row["created_at"],
        actor=row["actor"],
    )


def _definition(text: str) -> SurveyDefinition:
    # Stored versions were checked when saved; the touchpoint is not re-checked against a
    # journey map that may have changed since, so old invitations stay answerable.
    data = orjson.loads(text)
    trigger = data.get("trigger") or {}
    touchpoints = [trigger["after_touchpoint"]] if "after_touchpoint" in trigger else []
    return survey_from_data(data, touchpoints=touchpoints)

"""Answering: opening an invitation by its token, and storing its one answer.

A customer's answer is also written to the event log (source ``surveys``, channel ``survey``)
as a ``Survey Answered`` event, in the same transaction as the response, so it shows on the
customer's timeline exactly when the response exists. Anonymous surveys write no event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.domain_events import publish
from cxm.errors import Conflict, CxmError, NotFound
from cxm.identity.rules import IDENTIFIER_KINDS
from cxm.identity.tables import identifiers, profiles
from cxm.ingest import Source, do_create_source, get_source
from cxm.ingest.log import append_events
from cxm.ingest.validation import check_event
from cxm.surveys.answers import check_answers
from cxm.surveys.models import (
    Invitation,
    InvitationExpired,
    InvitationInvalid,
    SurveyAnswered,
    SurveyDefinition,
    SurveyResponse,
)
from cxm.surveys.queries import get_invitation, get_survey
from cxm.surveys.tables import survey_invitations, survey_responses
from cxm.surveys.tokens import read_invitation_token, workspace_secret

SURVEY_SOURCE = "surveys"
ANSWERED_EVENT = "Survey Answered"


@dataclass(frozen=True)
class OpenedInvitation:
    invitation: Invitation
    survey: SurveyDefinition

    def questions(self) -> list[dict[str, Any]]:
        """The questions in the invitation's language."""
        return self.survey.in_language(self.invitation.language)


def open_invitation(session: Session, token: str, *, now: datetime) -> OpenedInvitation:
    """The invitation a token stands for with its survey version.

    Raises InvitationInvalid for a token cxm did not sign and InvitationExpired when the time
    to answer is over; an answered invitation opens (with status ``answered``).
    """
    invitation_id = read_invitation_token(workspace_secret(session), token)
    invitation = get_invitation(session, invitation_id, now=now)
    if invitation is None or invitation.status == "suppressed":
        raise InvitationInvalid(
            "this survey link is not valid any more; open the link from the invitation again"
        )
    if invitation.status == "expired":
        assert invitation.expires_at is not None
        raise InvitationExpired(
            f"this survey closed on {invitation.expires_at:%Y-%m-%d %H:%M} UTC; "
            "answers are no longer taken"
        )
    survey = get_survey(session, invitation.survey_id, version=invitation.version).definition
    return OpenedInvitation(invitation=invitation, survey=survey)


def do_answer(*, session: Session, token: str, answers: Any, now: datetime) -> SurveyResponse:
    """Store the one answer to the invitation behind ``token``.

    A second answer raises Conflict and changes nothing; wrong answers raise InvalidInput
    naming the question, and nothing is stored.
    """
    opened = open_invitation(session, token, now=now)
    invitation, survey = opened.invitation, opened.survey
    if invitation.status == "answered":
        raise _answered_already(invitation)
    checked = check_answers(survey, answers)
    claimed = session.execute(
        update(survey_invitations)
        .where(survey_invitations.c.id == invitation.id, survey_invitations.c.status == "sent")
        .values(status="answered", answered_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise _answered_already(invitation)  # answered at the same moment by another request

    profile_id = None if survey.anonymous else _live_profile(session, invitation.profile_id)
    # An anonymous response keeps no link to its invitation and only the day it came, so it
    # cannot be joined back to the person through the invitation or the audit log's times.
    answered_at = (
        now.replace(hour=0, minute=0, second=0, microsecond=0) if survey.anonymous else now
    )
    row: dict[str, Any] = {
        "survey_id": survey.id,
        "version": invitation.version,
        "invitation_id": None if survey.anonymous else invitation.id,
        "profile_id": profile_id,
        "department": invitation.department,
        "touchpoint": invitation.touchpoint,
        "case_ref": invitation.case_ref,
        "language": invitation.language,
        "score": checked.score,
        "comment": checked.comment,
        "answers": orjson.dumps(checked.answers).decode(),
        "answered_at": answered_at,
    }
    response_id = int(
        session.execute(
            insert(survey_responses).values(**row).returning(survey_responses.c.id)
        ).scalar_one()
    )
    if profile_id is not None:
        _record_event(session, survey, invitation, profile_id, checked.score, checked.comment, now)
    record_action(
        session,
        actor="respondent" if survey.anonymous else f"respondent:{invitation.id}",
        action="survey.answered",
        subject=survey.id,
        details={"response": response_id, "version": invitation.version},
    )
    publish(
        session,
        SurveyAnswered(
            survey=survey.id, response=response_id, profile_id=profile_id, score=checked.score
        ),
    )
    kept = {k: v for k, v in row.items() if k != "invitation_id"}
    return SurveyResponse(id=response_id, **(kept | {"answers": checked.answers}))


def _answered_already(invitation: Invitation) -> Conflict:
    return Conflict(
        "this survey was already answered; each invitation takes one answer, and the first "
        "one is kept"
    )


def _live_profile(session: Session, profile_id: str | None) -> str | None:
    if profile_id is None:
        return None
    merged_into = session.execute(
        select(profiles.c.merged_into).where(profiles.c.id == profile_id)
    ).scalar()
    return str(merged_into or profile_id)


def survey_source(session: Session) -> Source:
    """The built-in source survey answers are logged under (created on first use)."""
    try:
        return get_source(session, SURVEY_SOURCE)
    except NotFound:
        pass
    try:
        source, _ = do_create_source(
            session,
            actor="system:surveys",
            name=SURVEY_SOURCE,
            channel="survey",
            label="Survey answers",
        )
        return source
    except Conflict:  # created by another request meanwhile
        return get_source(session, SURVEY_SOURCE)


def answer_message_id(invitation_id: str) -> str:
    """The message id of the ``Survey Answered`` event an invitation's answer is logged as."""
    return f"survey-answer-{invitation_id}"


def _record_event(
    session: Session,
    survey: SurveyDefinition,
    invitation: Invitation,
    profile_id: str,
    score: float | None,
    comment: str | None,
    now: datetime,
) -> None:
    who = _identity_of(session, profile_id, invitation.id)
    if who is None:
        return  # a profile with no identifier left (erased): nothing to link an event to
    event = {
        "type": "track",
        "event": ANSWERED_EVENT,
        "messageId": answer_message_id(invitation.id),
        "timestamp": now.isoformat(),
        "properties": {
            "survey": survey.id,
            "kind": survey.kind,
            "score": score,
            "comment": comment,
            "touchpoint": invitation.touchpoint,
            "case": invitation.case_ref,
            "language": invitation.language,
        },
        **who,
    }
    source = survey_source(session)
    row, errors = check_event(
        event, loc=(), channel=source.channel, received_at=now, sent_at=None, max_event_bytes=64_000
    )
    if row is None:
        raise CxmError("the survey answer could not be logged: " + errors[0].message)
    row["source_id"] = source.id
    append_events(session.connection(), [[row]])


def _identity_of(session: Session, profile_id: str, invitation_id: str) -> dict[str, Any] | None:
    """How the event names the customer: the profile's strongest identifier."""
    held = dict(
        session.execute(
            select(identifiers.c.kind, identifiers.c.value)
            .where(identifiers.c.profile_id == profile_id)
            .order_by(identifiers.c.first_seq.desc())
        ).all()
    )
    if "user_id" in held:
        return {"userId": held["user_id"]}
    if "anonymous_id" in held:
        return {"anonymousId": held["anonymous_id"]}
    anonymous = {"anonymousId": f"survey-{invitation_id}"}
    for kind in IDENTIFIER_KINDS:
        if kind in held:
            return anonymous | {"context": {"traits": {kind: held[kind]}}}
    for kind, value in held.items():
        return anonymous | {"context": {"externalIds": [{"id": value, "type": kind}]}}
    return None

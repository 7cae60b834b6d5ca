"""Surveys over REST: definitions, invitations, responses, and the public answering endpoints.

Managing surveys needs a token (``read`` to look, ``write`` to change or invite). The public
endpoints under ``/api/public/surveys/{token}`` take no bearer token: the signed invitation
token in the path is the credential, and it opens that one invitation only.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cxm.api.bodies import definition, definition_body
from cxm.api.deps import get_session, get_workspace, require, write_session
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.errors import InvalidInput
from cxm.store.metadata import utcnow
from cxm.surveys import (
    StoredSurvey,
    do_answer,
    do_invite_batch,
    do_save_survey,
    do_send_to_segment,
    get_survey,
    invitation_counts,
    list_invitations,
    list_responses,
    list_surveys,
    open_invitation,
)
from cxm.workspace import Workspace

router = APIRouter(prefix="/api", tags=["surveys"])
require_read = require("read")
require_write = require("write")
_definition = definition("survey")

_TOKEN = Path(min_length=1, max_length=200, description="The signed invitation token")
_SURVEY_ID = Path(min_length=1, max_length=100, description="The survey's id")
_DEFINITION_BODY = definition_body("survey")


class InvitationRequest(BaseModel):
    profiles: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Customers to invite: profile ids, e-mails, phones or user ids",
    )
    departments: list[str] = Field(
        default_factory=list, max_length=200, description="Departments (employee surveys)"
    )
    touchpoint: str | None = Field(
        default=None, max_length=100, description="The touchpoint the survey asks about"
    )
    case_ref: str | None = Field(default=None, max_length=200, description="A case reference")
    language: str | None = Field(
        default=None, max_length=16, description="One of the survey's languages (default: first)"
    )


class AnswerRequest(BaseModel):
    answers: dict[str, Any] = Field(description='Question id: answer, e.g. {"score": 9}')


@router.post(
    "/surveys",
    summary="Create a survey or save a new version of it (checked; every problem listed)",
    openapi_extra=_DEFINITION_BODY,
)
def save_survey(
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    data: Any = Depends(_definition),
) -> JsonResponse:
    stored = do_save_survey(session=session, actor=principal.actor, data=data)
    session.commit()
    return JsonResponse({"ok": True, **_survey_body(stored)})


@router.get(
    "/surveys",
    dependencies=[Depends(require_read)],
    summary="Every survey, newest version of each",
)
def read_surveys(session: Session = Depends(get_session)) -> JsonResponse:
    return JsonResponse({"ok": True, "surveys": [_survey_body(s) for s in list_surveys(session)]})


@router.get(
    "/surveys/{survey_id}",
    dependencies=[Depends(require_read)],
    summary="One survey (newest version, or ?version=N) with its invitation counts",
)
def read_survey(
    survey_id: str = _SURVEY_ID,
    version: int | None = Query(None, ge=1),
    session: Session = Depends(get_session),
) -> JsonResponse:
    stored = get_survey(session, survey_id, version=version)
    counts = invitation_counts(session, survey_id, now=utcnow())
    return JsonResponse({"ok": True, **_survey_body(stored), "invitations": counts})


@router.post(
    "/surveys/{survey_id}/invitations",
    summary="Invite customers or departments; one outcome each (sent, suppressed or rejected)",
)
def invite(
    body: InvitationRequest,
    survey_id: str = _SURVEY_ID,
    session: Session = write_session,
    workspace: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    if not body.profiles and not body.departments:
        raise InvalidInput("name whom to invite: 'profiles' (customers) or 'departments'")
    outcomes = do_invite_batch(
        session=session,
        actor=principal.actor,
        survey=survey_id,
        profile_ids=body.profiles,
        departments=body.departments,
        touchpoint=body.touchpoint,
        case_ref=body.case_ref,
        language=body.language,
        now=utcnow(),
        fatigue_days=workspace.settings.survey_fatigue_days,
    )
    session.commit()
    tally = {s: sum(o.status == s for o in outcomes) for s in ("sent", "suppressed", "rejected")}
    return JsonResponse({"ok": True, **tally, "outcomes": [o.as_dict() for o in outcomes]})


@router.get(
    "/surveys/{survey_id}/responses",
    dependencies=[Depends(require_read)],
    summary="A survey's responses, oldest first (anonymous surveys' without a profile)",
)
def read_responses(
    survey_id: str = _SURVEY_ID,
    limit: int = Query(500, ge=1, le=5000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> JsonResponse:
    get_survey(session, survey_id)
    responses = list_responses(session, survey_id, limit=limit, offset=offset)
    return JsonResponse({"ok": True, "responses": [asdict(r) for r in responses]})


@router.post(
    "/surveys/{survey_id}/send",
    summary="Invite every customer in the survey's segment; counts and one outcome each",
)
def send_to_segment(
    survey_id: str = _SURVEY_ID,
    session: Session = write_session,
    workspace: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    sent = do_send_to_segment(
        session=session,
        actor=principal.actor,
        survey=survey_id,
        now=utcnow(),
        fatigue_days=workspace.settings.survey_fatigue_days,
    )
    session.commit()
    return JsonResponse({"ok": True, **sent.as_dict()})


@router.get(
    "/surveys/{survey_id}/invitations",
    dependencies=[Depends(require_read)],
    summary="A survey's invitations, newest first, with status and reminder (no tokens)",
)
def read_invitations(
    survey_id: str = _SURVEY_ID,
    limit: int = Query(500, ge=1, le=5000),
    session: Session = Depends(get_session),
) -> JsonResponse:
    get_survey(session, survey_id)
    found = list_invitations(session, survey_id, now=utcnow(), limit=limit)
    return JsonResponse({"ok": True, "invitations": [i.as_dict() for i in found]})


# --- public: the signed token is the credential ---------------------------------------------------


@router.get(
    "/public/surveys/{token}",
    tags=["public"],
    summary="The invitation's questions in its language (no bearer token; 404 forged, 410 expired)",
)
def read_invitation(token: str = _TOKEN, session: Session = Depends(get_session)) -> JsonResponse:
    opened = open_invitation(session, token, now=utcnow())
    invitation, survey = opened.invitation, opened.survey
    return JsonResponse(
        {
            "ok": True,
            "survey": survey.id,
            "name": survey.name,
            "kind": survey.kind,
            "anonymous": survey.anonymous,
            "language": invitation.language,
            "status": invitation.status,
            "expires_at": invitation.expires_at,
            "questions": opened.questions(),
        }
    )


@router.post(
    "/public/surveys/{token}",
    tags=["public"],
    summary="Answer the invitation (once; a second answer is refused with 409)",
)
def answer(
    body: AnswerRequest, token: str = _TOKEN, session: Session = write_session
) -> JsonResponse:
    response = do_answer(session=session, token=token, answers=body.answers, now=utcnow())
    session.commit()
    return JsonResponse(
        {"ok": True, "survey": response.survey_id, "score": response.score}, status_code=201
    )


def _survey_body(stored: StoredSurvey) -> dict[str, Any]:
    return {
        "survey": stored.definition.to_dict(),
        "version": stored.version,
        "created_at": stored.created_at,
        "actor": stored.actor,
    }

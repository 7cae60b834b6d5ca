"""Segments over REST: named sets of customers by traits and recent activity.

``read`` scope to look (members included), ``write`` to create or replace.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from cxm.api.bodies import definition, definition_body
from cxm.api.deps import get_session, require, write_session
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.errors import InvalidInput
from cxm.segments import (
    Segment,
    do_save_segment,
    get_segment,
    list_segments,
    segment_members,
)
from cxm.store.metadata import utcnow

router = APIRouter(prefix="/api", tags=["segments"])
require_read = require("read")
require_write = require("write")
_definition = definition("segment")

_NAME = Path(min_length=1, max_length=100, description="The segment's name")
_BODY = definition_body("segment")


@router.post(
    "/segments",
    summary="Create a segment (checked; every problem listed; 409 if the name is taken)",
    openapi_extra=_BODY,
)
def create_segment(
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    data: Any = Depends(_definition),
) -> JsonResponse:
    segment = do_save_segment(session=session, actor=principal.actor, data=data)
    session.commit()
    return JsonResponse({"ok": True, **_body(segment)}, status_code=201)


@router.put(
    "/segments/{name}",
    summary="Create or replace the segment of this name",
    openapi_extra=_BODY,
)
def replace_segment(
    name: str = _NAME,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    data: Any = Depends(_definition),
) -> JsonResponse:
    segment = do_save_segment(
        session=session, actor=principal.actor, data=data, replace=True, name=name
    )
    session.commit()
    return JsonResponse({"ok": True, **_body(segment)})


@router.get("/segments", dependencies=[Depends(require_read)], summary="Every segment, by name")
def read_segments(session: Session = Depends(get_session)) -> JsonResponse:
    return JsonResponse({"ok": True, "segments": [_body(s) for s in list_segments(session)]})


@router.get(
    "/segments/{name}",
    dependencies=[Depends(require_read)],
    summary="One segment with how many customers are in it now",
)
def read_segment(name: str = _NAME, session: Session = Depends(get_session)) -> JsonResponse:
    segment = get_segment(session, name)
    members = segment_members(session, segment.definition, now=utcnow())
    return JsonResponse({"ok": True, **_body(segment), "members": len(members)})


@router.get(
    "/segments/{name}/members",
    dependencies=[Depends(require_read)],
    summary="The profile ids in the segment now, by id (an audience: only those who consent)",
)
def read_members(
    name: str = _NAME,
    limit: int = Query(1000, ge=1, le=100_000),
    offset: int = Query(0, ge=0),
    purpose: str | None = Query(
        None,
        max_length=100,
        description="Export an audience for this purpose (marketing, service …): members "
        "who may not be contacted for it are withheld, and counted by reason",
    ),
    channel: str | None = Query(None, max_length=32, description="… and by this channel"),
    session: Session = Depends(get_session),
) -> JsonResponse:
    segment = get_segment(session, name)
    members = segment_members(session, segment.definition, now=utcnow())
    withheld: dict[str, int] = {}
    if purpose:
        from cxm.automation.audience import load_customer

        allowed = []
        for profile_id in members:
            customer = load_customer(session, profile_id)
            ok, why = customer.may_contact(purpose, channel) if customer else (False, "gone")
            if ok:
                allowed.append(profile_id)
            else:
                withheld[why or "no"] = withheld.get(why or "no", 0) + 1
        members = allowed
    elif channel:
        raise InvalidInput("name the purpose the audience is for (purpose=marketing …)")
    body: dict[str, Any] = {"ok": True, "count": len(members),
                            "profiles": members[offset : offset + limit]}  # fmt: skip
    if purpose:
        body["withheld"] = withheld
    return JsonResponse(body)


def _body(segment: Segment) -> dict[str, Any]:
    return {
        "segment": segment.definition.to_dict(),
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
        "actor": segment.actor,
    }

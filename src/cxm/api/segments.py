"""Segments over REST: named sets of customers by traits and recent activity.

``read`` scope to look (members included), ``write`` to create or replace.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from cxm.api.bodies import definition_body, read_definition
from cxm.api.deps import get_session, require
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
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

_NAME = Path(min_length=1, max_length=100, description="The segment's name")
_BODY = definition_body("segment")


@router.post(
    "/segments",
    summary="Create a segment (checked; every problem listed; 409 if the name is taken)",
    openapi_extra=_BODY,
)
async def create_segment(
    request: Request,
    session: Session = Depends(get_session),
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    data = await read_definition(request, "segment")
    segment = do_save_segment(session=session, actor=principal.actor, data=data)
    session.commit()
    return JsonResponse({"ok": True, **_body(segment)}, status_code=201)


@router.put(
    "/segments/{name}",
    summary="Create or replace the segment of this name",
    openapi_extra=_BODY,
)
async def replace_segment(
    request: Request,
    name: str = _NAME,
    session: Session = Depends(get_session),
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    data = await read_definition(request, "segment")
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
    summary="The profile ids in the segment now, by id",
)
def read_members(
    name: str = _NAME,
    limit: int = Query(1000, ge=1, le=100_000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> JsonResponse:
    segment = get_segment(session, name)
    members = segment_members(session, segment.definition, now=utcnow())
    return JsonResponse(
        {"ok": True, "count": len(members), "profiles": members[offset : offset + limit]}
    )


def _body(segment: Segment) -> dict[str, Any]:
    return {
        "segment": segment.definition.to_dict(),
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
        "actor": segment.actor,
    }

"""The journey map over REST: read the current map and its versions, replace it, edit influence.

A map is sent as YAML (``Content-Type: application/yaml`` or ``text/yaml``), checked with line
numbers, and stored exactly as sent; a JSON object of the same structure is accepted too and
stored as YAML. Reading needs the ``read`` scope, changing the map ``write``.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from cxm.api.deps import get_session, require, require_aggregates, write_session
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.errors import InvalidInput, NotFound, PayloadTooLarge
from cxm.journeys import (
    JourneyMap,
    JourneyMapVersion,
    StoredJourneyMap,
    do_save_journey_map,
    do_set_influence,
    journey_map_from_data,
    latest_journey_map,
    list_journey_map_versions,
    parse_journey_map,
    stored_journey_map,
)
from cxm.journeys.validation import MAX_SOURCE_BYTES

router = APIRouter(prefix="/api", tags=["journey map"])
require_read = require("read")
require_write = require("write")

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_MAP_BODY = {
    "requestBody": {
        "required": True,
        "description": "The journey map in YAML (see docs/journeys.md), or the same as JSON",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "text/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


_FILENAME = Query("journey.yaml", max_length=200, description="Named in error messages")


async def _sent_map(request: Request, filename: str = _FILENAME) -> tuple[str, JourneyMap]:
    """A dependency: the map in the body, read on the event loop (``cxm.api.bodies``)."""
    return await _read_map(request, filename)


class InfluenceChange(BaseModel):
    weight: float | None = Field(
        ge=0, le=1, description="The department's influence on the touchpoint, 0–1; null removes it"
    )
    note: str | None = Field(default=None, max_length=2000, description="Why, for the record")


@router.get(
    "/journey",
    dependencies=[Depends(require_aggregates)],
    summary="The current journey map: stages in order, touchpoints, departments, influence",
)
def read_journey(session: Session = Depends(get_session)) -> JsonResponse:
    return JsonResponse({"ok": True, **_stored_body(_current(session))})


@router.get(
    "/journey/yaml",
    dependencies=[Depends(require_aggregates)],
    summary="The current journey map as written, in YAML",
    response_class=Response,
    responses={200: {"content": {"text/yaml": {}}}},
)
def read_journey_yaml(session: Session = Depends(get_session)) -> Response:
    stored = _current(session)
    return Response(
        stored.source,
        media_type="text/yaml; charset=utf-8",
        headers={"X-Journey-Map-Version": str(stored.info.version)},
    )


@router.get(
    "/journey/versions",
    dependencies=[Depends(require_aggregates)],
    summary="Every saved version of the journey map, newest first",
)
def read_versions(session: Session = Depends(get_session)) -> JsonResponse:
    versions = list_journey_map_versions(session)
    return JsonResponse({"ok": True, "versions": [_version(v) for v in versions]})


@router.get(
    "/journey/versions/{version}",
    dependencies=[Depends(require_aggregates)],
    summary="One version of the journey map, with the YAML it was written in",
)
def read_version(version: int, session: Session = Depends(get_session)) -> JsonResponse:
    stored = stored_journey_map(session, version)
    return JsonResponse({"ok": True, **_stored_body(stored), "source": stored.source})


@router.put(
    "/journey",
    summary="Replace the journey map: checked, then saved as a new version",
    openapi_extra=_MAP_BODY,
)
def replace_journey(
    note: str | None = Query(None, max_length=2000, description="Why, for the record"),
    filename: str = _FILENAME,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    sent: tuple[str, JourneyMap] = Depends(_sent_map),
) -> JsonResponse:
    source, _ = sent
    version = do_save_journey_map(
        session=session, source=source, actor=principal.actor, note=note, filename=filename
    )
    stored = stored_journey_map(session, version)
    session.commit()
    return JsonResponse({"ok": True, **_stored_body(stored)})


@router.post(
    "/journey/validate",
    dependencies=[Depends(require_aggregates)],
    summary="Check a journey map without saving it: 200 when valid, 422 with every problem",
    openapi_extra=_MAP_BODY,
)
async def validate_journey(request: Request, filename: str = _FILENAME) -> JsonResponse:
    _, journey = await _read_map(request, filename)
    return JsonResponse(
        {
            "ok": True,
            "valid": True,
            "name": journey.name,
            "stages": len(journey.stages),
            "touchpoints": len(journey.touchpoints),
        }
    )


@router.put(
    "/journey/touchpoints/{touchpoint}/influence/{department}",
    summary="Set one department's influence on one touchpoint (a new version of the map)",
)
def set_influence(
    touchpoint: str,
    department: str,
    body: InfluenceChange,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    do_set_influence(
        session=session,
        actor=principal.actor,
        touchpoint=touchpoint,
        department=department,
        weight=body.weight,
        note=body.note,
    )
    stored = _current(session)
    session.commit()
    return JsonResponse({"ok": True, **_stored_body(stored)})


def _current(session: Session) -> StoredJourneyMap:
    stored = latest_journey_map(session)
    if stored is None:
        raise NotFound(
            "no journey map is saved yet: PUT /api/journey with a map in YAML, or run "
            "`cxm journey load FILE` (`cxm journey show --example` prints the demo company's map)"
        )
    return stored


def _stored_body(stored: StoredJourneyMap) -> dict[str, Any]:
    return {**_version(stored.info), "map": stored.journey.to_dict()}


def _version(info: JourneyMapVersion) -> dict[str, Any]:
    return {
        "version": info.version,
        "name": info.name,
        "created_at": info.created_at,
        "actor": info.actor,
        "note": info.note,
    }


async def _read_map(request: Request, filename: str) -> tuple[str, JourneyMap]:
    """The map in the body as YAML text (what is stored) and checked."""
    body = await request.body()
    if len(body) > MAX_SOURCE_BYTES:
        raise PayloadTooLarge(f"the journey map is over {MAX_SOURCE_BYTES // 1000} kB")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the body is not UTF-8 text: {exc}") from exc
    if media_type in _YAML_TYPES:
        return text, parse_journey_map(text, filename=filename)
    if media_type == "application/json":
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"the body is not valid JSON: {exc}") from exc
        journey = journey_map_from_data(data, filename="request body")
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), journey
    raise InvalidInput(
        f"send the journey map as application/yaml (or text/yaml), or as application/json; "
        f"got Content-Type {media_type or '(none)'!r}"
    )

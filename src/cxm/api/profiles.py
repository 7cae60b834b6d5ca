"""Customer memory over REST: search, profile, timeline and the agent brief."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from cxm.api.deps import get_session, require, viewed
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.config import CHANNELS
from cxm.errors import InvalidInput
from cxm.profiles import (
    get_overview,
    get_profile,
    get_timeline,
    resolve_profile_id,
    search_profiles,
    what_we_know,
)
from cxm.profiles.masking import masked_timeline

require_read = require("read")
router = APIRouter(prefix="/api", tags=["customers"], dependencies=[Depends(require_read)])


@router.get("/profiles", summary="Search customers by name, e-mail, phone or id")
def list_profiles(
    q: str = Query("", max_length=200, description="Words that must all match"),
    limit: int = Query(50, ge=1, le=500),
    session: Session = Depends(get_session),
) -> JsonResponse:
    cards = search_profiles(session, q, limit=limit)
    return JsonResponse({"ok": True, "profiles": [asdict(c) for c in cards]})


@router.get("/profiles/{ref}", summary="One customer: identifiers, traits with provenance, merges")
def read_profile(
    request: Request,
    ref: str,
    session: Session = Depends(get_session),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    profile = get_profile(session, ref)
    viewed(request, principal, profile.id, "profile")
    return JsonResponse({"ok": True, "profile": asdict(profile)})


@router.get("/profiles/{ref}/timeline", summary="Interactions in every channel, newest first")
def read_timeline(
    request: Request,
    ref: str,
    before: int | None = Query(None, ge=1, description="Page: items older than this seq"),
    limit: int = Query(50, ge=1, le=500),
    channel: list[str] = Query([], description="Only these channels"),
    session: Session = Depends(get_session),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    unknown = [c for c in channel if c not in CHANNELS]
    if unknown:
        raise InvalidInput(f"unknown channel(s) {unknown}; expected some of {', '.join(CHANNELS)}")
    profile_id = resolve_profile_id(session, ref)
    items = masked_timeline(
        get_timeline(session, profile_id, before_seq=before, limit=limit, channels=channel or None),
        can_see_pii=principal.can("pii"),
    )
    viewed(request, principal, profile_id, "timeline")
    body: dict[str, Any] = {
        "ok": True,
        "profile_id": profile_id,
        "items": [asdict(i) for i in items],
        "next_before": items[-1].seq if len(items) == limit else None,
    }
    return JsonResponse(body)


@router.get("/profiles/{ref}/summary", summary="What we already know: the agent's brief")
def read_summary(
    request: Request,
    ref: str,
    session: Session = Depends(get_session),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    profile_id = resolve_profile_id(session, ref)
    viewed(request, principal, profile_id, "summary")
    return JsonResponse({"ok": True, "summary": asdict(what_we_know(session, profile_id))})


@router.get("/overview", summary="Workspace totals and activity per channel")
def read_overview(session: Session = Depends(get_session)) -> JsonResponse:
    return JsonResponse({"ok": True, "overview": asdict(get_overview(session))})

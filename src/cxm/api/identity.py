"""The identity graph over REST: the review queue, manual merges, unmerges, a profile's identity.

Reading needs the ``read`` scope; deciding, merging and unmerging change who a customer is and
need ``write`` (or ``admin``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cxm.api.deps import get_session, get_workspace, require, viewed, write_session
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.identity import (
    count_pairs,
    do_decide_pair,
    do_merge_profiles,
    do_reopen_pair,
    do_unmerge,
    get_pair,
    list_pairs,
    pairs_of,
)
from cxm.profiles import Profile, get_profile, resolve_profile_id
from cxm.workspace import Workspace

router = APIRouter(prefix="/api", tags=["identity"])
require_read = require("read")
require_write = require("write")


class ReviewDecision(BaseModel):
    decision: Literal["merge", "separate"] = Field(
        description="merge: the two profiles are one person; separate: they are different people"
    )
    note: str | None = Field(default=None, max_length=2000, description="Why, for the record")


class MergeRequest(BaseModel):
    other: str = Field(
        min_length=1, max_length=200, description="The other profile: id, e-mail, phone, user id"
    )
    reason: str = Field(max_length=2000, description="Why the two are one person (required)")


class ReopenRequest(BaseModel):
    note: str = Field(max_length=2000, description="Why the answer is taken back (required)")


class UnmergeRequest(BaseModel):
    reason: str = Field(max_length=2000, description="Why the merge was wrong (required)")


@router.get(
    "/identity/review",
    dependencies=[Depends(require_read)],
    summary="Pairs of profiles that may be one person (status review), or decided ones",
)
def review_queue(
    status: Literal["review", "merged", "separate"] = Query("review"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> JsonResponse:
    items = list_pairs(session, status=status, limit=limit, offset=offset)
    return JsonResponse(
        {
            "ok": True,
            "items": [i.as_dict() for i in items],
            "total": count_pairs(session, status=status),
        }
    )


@router.get(
    "/identity/review/{pair_id}",
    dependencies=[Depends(require_read)],
    summary="One review item: both profiles, the evidence, and any decision",
)
def review_item(pair_id: int, session: Session = Depends(get_session)) -> JsonResponse:
    return JsonResponse({"ok": True, "item": get_pair(session, pair_id).as_dict()})


@router.post("/identity/review/{pair_id}", summary="Answer a review item: merge or separate")
def decide(
    pair_id: int,
    body: ReviewDecision,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    result = do_decide_pair(
        session, actor=principal.actor, pair_id=pair_id, decision=body.decision, note=body.note
    )
    item = get_pair(session, pair_id).as_dict()
    session.commit()
    return JsonResponse({"ok": True, **result, "item": item})


@router.post(
    "/identity/review/{pair_id}/reopen",
    summary="Take back a 'different people' answer: the pair goes back to the queue",
)
def reopen(
    pair_id: int,
    body: ReopenRequest,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    result = do_reopen_pair(session, actor=principal.actor, pair_id=pair_id, note=body.note)
    item = get_pair(session, pair_id).as_dict()
    session.commit()
    return JsonResponse({"ok": True, **result, "item": item})


@router.post("/profiles/{ref}/merge", summary="Merge another profile into this one, with a reason")
def merge(
    ref: str,
    body: MergeRequest,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    a, b = resolve_profile_id(session, ref), resolve_profile_id(session, body.other)
    done = do_merge_profiles(session, actor=principal.actor, a=a, b=b, reason=body.reason)
    session.commit()
    return JsonResponse(
        {"ok": True, "merge_id": done.id, "winner": done.winner, "loser": done.loser}
    )


@router.post(
    "/merges/{merge_id}/unmerge",
    summary="Undo a merge: replay the profile's events with the two sides kept apart",
)
def unmerge(
    merge_id: int,
    body: UnmergeRequest,
    session: Session = write_session,
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    done = do_unmerge(
        session,
        actor=principal.actor,
        merge_id=merge_id,
        reason=body.reason,
        policy=ws.settings.identity_policy,
        region=ws.settings.default_region,
    )
    session.commit()
    return JsonResponse(
        {
            "ok": True,
            "merge_id": done.merge_id,
            "profiles": done.profiles,
            "events_replayed": done.events_replayed,
        }
    )


@router.get(
    "/profiles/{ref}/identity",
    dependencies=[Depends(require_read)],
    summary="Why a customer is one person: identifiers, the merge chain, open and decided pairs",
)
def identity(
    request: Request,
    ref: str,
    session: Session = Depends(get_session),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    profile = get_profile(session, ref)
    viewed(request, principal, profile.id, "identity")
    return JsonResponse({"ok": True, **identity_of(session, profile)})


def identity_of(session: Session, profile: Profile) -> dict[str, Any]:
    """The identity part of ``profile`` with the review pairs about it and its merged members."""
    pairs = pairs_of(session, members_of(profile))
    return {
        "profile_id": profile.id,
        "identifiers": [asdict(i) for i in profile.identifiers],
        "merges": [asdict(m) for m in profile.merges],
        "pending": [p.as_dict() for p in pairs if p.status == "review"],
        "decided": [p.as_dict() for p in pairs if p.status != "review"],
    }


def members_of(profile: Profile) -> list[str]:
    """``profile`` and every profile merged into it: each was the losing side of a merge."""
    return sorted({profile.id, *(m.loser_id for m in profile.merges)})

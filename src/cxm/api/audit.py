"""The audit log over REST (admins only)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from cxm.api.deps import get_session, require
from cxm.api.responses import JsonResponse
from cxm.audit import list_actions

router = APIRouter(prefix="/api/audit", tags=["audit"], dependencies=[Depends(require("admin"))])


@router.get("", summary="Audit entries, newest first")
def read_audit(
    action: str | None = Query(
        None, max_length=100, description="An action (source.created) or a prefix (source.)"
    ),
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(None, ge=1, description="Page: entries older than this id"),
    session: Session = Depends(get_session),
) -> JsonResponse:
    entries = list_actions(session, limit=limit, action=action, before_id=before)
    return JsonResponse(
        {
            "ok": True,
            "entries": [asdict(e) for e in entries],
            "next_before": entries[-1].id if len(entries) == limit else None,
        }
    )

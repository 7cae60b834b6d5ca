"""The audit log over REST (admins only): entries, the hash chain's check, the export."""

from __future__ import annotations

from dataclasses import asdict

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cxm.api.deps import get_session, get_workspace, require, write_session
from cxm.api.responses import JsonResponse
from cxm.audit import list_actions
from cxm.workspace import Workspace

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


@router.post("/verify", summary="Seal what is settled and check the hash chain")
def verify(session: Session = write_session) -> JsonResponse:
    from cxm.audit import seal_chain, verify_chain

    sealed = seal_chain(session)
    report = verify_chain(session)
    session.commit()
    return JsonResponse({**report.to_dict(), "sealed_now": sealed})


@router.get("/export", summary="Every entry with its chain fields, as JSON Lines",
            response_class=Response,
            responses={200: {"content": {"application/x-ndjson": {}}}})  # fmt: skip
def export(ws: Workspace = Depends(get_workspace)) -> Response:
    from sqlalchemy import select

    from cxm.audit.tables import audit_log

    lines = []
    with ws.session() as s:
        for row in s.execute(select(audit_log).order_by(audit_log.c.id)):
            entry = dict(row._mapping)
            entry["details"] = orjson.loads(entry["details"])
            lines.append(orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS))
    return Response(b"\n".join(lines) + b"\n", media_type="application/x-ndjson",
                    headers={"cache-control": "no-store"})  # fmt: skip

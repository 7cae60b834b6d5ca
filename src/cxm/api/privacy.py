"""Data-subject requests over REST: export (a zip) and erasure (with its proof). Both need a
token with the ``admin`` scope; who asked and why is kept in ``privacy_requests`` and the
audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from cxm.api.deps import get_workspace, require
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.workspace import Workspace

router = APIRouter(prefix="/api/privacy", tags=["privacy"])
require_admin = require("admin")


@router.get("/export/{ref}", summary="Everything held on one person, as a zip of JSON files",
            response_class=Response,
            responses={200: {"content": {"application/zip": {}}}})  # fmt: skip
def export(
    ref: str,
    reason: str = Query(..., min_length=1, max_length=500, description="The request, for the log"),
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_admin),
) -> Response:
    from cxm.privacy import do_export

    data, _ = do_export(ws, ref=ref, actor=principal.actor, reason=reason)
    return Response(
        data,
        media_type="application/zip",
        headers={"content-disposition": 'attachment; filename="cxm-export.zip"',
                 "cache-control": "no-store"},
    )  # fmt: skip


@router.post("/erase/{ref}", summary="Erase one person everywhere; returns the proof")
def erase(
    request: Request,
    ref: str,
    reason: str = Query(..., min_length=1, max_length=500, description="The request, for the log"),
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_admin),
) -> JsonResponse:
    from cxm.privacy import do_erase

    report = do_erase(ws, ref=ref, actor=principal.actor, reason=reason)
    request.app.state.tombstones.forget()  # this server refuses their events from now on
    return JsonResponse({"ok": not report.traces, **report.to_dict()})

"""Sources over REST: list them, create one (its write key is returned once), import an
export into one (the same importer as ``cxm import``)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cxm.api.bodies import read_export
from cxm.api.deps import get_session, get_workspace, require, write_session
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.ingest import ColumnMapping, do_import_upload
from cxm.ingest.sources import do_create_source, get_source, list_sources
from cxm.workspace import Workspace

router = APIRouter(prefix="/api/sources", tags=["sources"])
require_admin = require("admin")
require_write = require("write")
MAX_REJECTIONS_SHOWN = 1000


class NewSource(BaseModel):
    name: str = Field(description="Slug: lower-case letters, digits, '-' and '_'", max_length=100)
    channel: str = Field(description="web, app, email, sms, phone, ivr, chat, social, branch, …")
    label: str | None = Field(default=None, max_length=200)


@router.get("", dependencies=[Depends(require("read"))], summary="List sources")
def get_sources(session: Session = Depends(get_session)) -> JsonResponse:
    return JsonResponse({"ok": True, "sources": [asdict(s) for s in list_sources(session)]})


@router.post(
    "",
    status_code=201,
    summary="Create a source; the response holds its write key, shown only once",
)
def create_source(
    new: NewSource,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_admin),
) -> JsonResponse:
    source, write_key = do_create_source(
        session, actor=principal.actor, name=new.name, channel=new.channel, label=new.label
    )
    # Committed before the key is handed out, so a client may use it at once.
    session.commit()
    return JsonResponse(
        {"ok": True, "source": asdict(source), "write_key": write_key}, status_code=201
    )


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/{name}/import",
    summary="Import a CSV or JSONL export into this source (as `cxm import`)",
    openapi_extra=_IMPORT_BODY,
)
async def import_export(
    request: Request,
    name: str,
    map_: list[str] = Query([], alias="map", description="target=Column (repeatable)"),
    set_: list[str] = Query([], alias="set", description="target=value constant (repeatable)"),
    file_format: str | None = Query(
        None, alias="format", description="csv or jsonl (default: from filename, else csv)"
    ),
    filename: str = Query(
        "upload.csv", max_length=200, description="The export's name, used in rejections"
    ),
    delimiter: str | None = Query(None, description=", ; | or tab (default: from the header)"),
    encoding: str | None = Query(None, description="e.g. cp1250, cp1251 (default: UTF-8)"),
    date_format: str | None = Query(None, description="strptime format, e.g. %d.%m.%Y %H:%M"),
    timezone: str | None = Query(None, description="Zone of times without an offset"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    """The body is the export itself. Bad rows come back with their ``file:line`` and reason
    (the first 1,000; ``rejected_total`` counts them all), good rows are stored, and sending
    the same export again stores nothing twice."""
    with ws.session() as session:
        source = get_source(session, name)
    mapping = ColumnMapping.from_pairs(map_, set_).written_as(
        delimiter=delimiter, encoding=encoding, date_format=date_format, timezone=timezone
    )
    body = await read_export(request, on_server="cxm import")
    report = await run_in_threadpool(
        do_import_upload,
        ws.engine,
        source=source,
        filename=filename,
        data=body,
        mapping=mapping,
        file_format=file_format,
        max_event_bytes=ws.settings.max_event_bytes,
        never_store=ws.settings.never_store,
        region=ws.settings.default_region,
    )
    rejected = [{"where": r["where"], "message": r["message"]} for r in report.rejected]
    return JsonResponse(
        {
            "ok": True,
            "source": source.name,
            "stored": report.stored,
            "duplicates": report.duplicates,
            "rejected": rejected[:MAX_REJECTIONS_SHOWN],
            "rejected_total": len(rejected),
        }
    )

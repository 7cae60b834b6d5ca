"""Sources over REST: list them, create one (its write key is returned once)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cxm.api.deps import get_session, require
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.ingest.sources import do_create_source, list_sources

router = APIRouter(prefix="/api/sources", tags=["sources"])
require_admin = require("admin")


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
    session: Session = Depends(get_session),
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

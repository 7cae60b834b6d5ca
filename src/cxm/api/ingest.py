"""The Segment HTTP Tracking API: ``/v1/batch``, ``/v1/identify``, ``/v1/track``, …

Existing Segment and RudderStack SDKs send here by changing their host. A request is answered
only after its events are durably committed (group commit); bad events are rejected one by
one with their position and reason while the good ones in the same batch are stored.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from cxm.api.responses import JsonResponse
from cxm.errors import ErrorDetail, InvalidInput, PayloadTooLarge, Unauthenticated
from cxm.ingest.sources import Source, SourceRegistry
from cxm.ingest.validation import (
    EVENT_TYPES,
    CheckedBatch,
    check_batch,
    check_single,
    decode_body,
    parse_json_object,
)
from cxm.ingest.writer import GroupCommitWriter
from cxm.privacy.tombstones import Tombstones, refusal
from cxm.store.metadata import utcnow

router = APIRouter(tags=["ingestion"])

_SEGMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "A Segment-spec payload. Authenticate with HTTP Basic: the source's "
        "write key as the user name, an empty password (or `writeKey` in the body). "
        "gzip bodies are accepted with `Content-Encoding: gzip`.",
    }
}


@router.post("/v1/batch", openapi_extra=_SEGMENT_BODY, summary="Send a batch of events")
# Segment's Java and Ruby libraries post batches to /v1/import, analytics.js to /v1/b.
@router.post("/v1/import", openapi_extra=_SEGMENT_BODY, include_in_schema=False)
@router.post("/v1/b", openapi_extra=_SEGMENT_BODY, include_in_schema=False)
async def post_batch(request: Request) -> Response:
    settings = request.app.state.workspace.settings
    body = await _read_json(request, limit=settings.max_batch_bytes)
    received_at = utcnow()
    source = _authenticate(request, body)
    checked = check_batch(
        body,
        channel=source.channel,
        received_at=received_at,
        max_event_bytes=settings.max_event_bytes,
        never_store=settings.never_store,
    )
    return await _store(request, source, checked)


def _single_endpoint(event_type: str) -> Any:
    async def post_single(request: Request) -> Response:
        settings = request.app.state.workspace.settings
        body = await _read_json(request, limit=settings.max_event_bytes)
        source = _authenticate(request, body)
        checked = check_single(
            body,
            event_type=event_type,
            channel=source.channel,
            received_at=utcnow(),
            max_event_bytes=settings.max_event_bytes,
            never_store=settings.never_store,
        )
        return await _store(request, source, checked)

    post_single.__name__ = f"post_{event_type}"
    return post_single


for _type in EVENT_TYPES:
    _endpoint = _single_endpoint(_type)
    router.add_api_route(
        f"/v1/{_type}",
        _endpoint,
        methods=["POST"],
        summary=f"Send one {_type} event",
        openapi_extra=_SEGMENT_BODY,
    )
    # analytics.js posts single events to /v1/t, /v1/i, /v1/p, /v1/s, /v1/g and /v1/a.
    router.add_api_route(f"/v1/{_type[0]}", _endpoint, methods=["POST"], include_in_schema=False)


async def _store(request: Request, source: Source, checked: CheckedBatch) -> Response:
    erased: Tombstones = request.app.state.tombstones
    for position in range(len(checked.rows) - 1, -1, -1):  # backwards: refusing pops
        at = erased.erased_at(checked.rows[position])
        if at is not None:
            checked.refuse(position, refusal(at))
    checked.rejected.sort(key=lambda r: r["index"] if isinstance(r["index"], int) else 0)
    if not checked.rows:
        first = checked.rejected[0]["message"] if checked.rejected else "no events"
        raise InvalidInput(
            f"no event was accepted; {first}",
            errors=[
                ErrorDetail(tuple(error["loc"]), error["message"])
                for rejection in checked.rejected
                for error in rejection["errors"]
            ],
        )
    for row in checked.rows:
        row["source_id"] = source.id
    writer: GroupCommitWriter = request.app.state.writer
    inserted = await writer.write(checked.rows)
    return JsonResponse(
        {
            "ok": True,
            "success": True,
            "accepted": len(checked.rows),
            "duplicates": len(checked.rows) - inserted,
            "rejected": checked.rejected,
        }
    )


async def _read_json(request: Request, *, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"the request body is {int(declared)} bytes; the limit is {limit // 1024} KB. "
            "Send fewer events per batch."
        )
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"the request body exceeds the limit of {limit // 1024} KB; "
                "send fewer events per batch"
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        raise InvalidInput("the request body is empty; send a JSON object")
    decoded = decode_body(raw, request.headers.get("content-encoding"), limit=limit)
    return parse_json_object(decoded)


def _authenticate(request: Request, body: dict[str, Any]) -> Source:
    write_key = _basic_user(request.headers.get("authorization"))
    if write_key is None:
        key = body.get("writeKey")
        write_key = key if isinstance(key, str) and key else None
    if write_key is None:
        raise Unauthenticated(
            "send the source's write key with HTTP Basic auth (write key as user name, empty "
            "password) or as 'writeKey' in the body"
        )
    registry: SourceRegistry = request.app.state.sources
    source = registry.lookup(write_key)
    if source is None:
        raise Unauthenticated(
            f"the write key {write_key[:6]}… matches no active source; `cxm sources list` "
            "shows the sources"
        )
    return source


def _basic_user(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user = decoded.partition(":")[0]
    return user or None

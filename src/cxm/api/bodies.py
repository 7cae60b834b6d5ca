"""Reading request bodies with their size limits: a definition sent as JSON or YAML (surveys,
segments), and an export sent whole to be imported (sources, helpdesks).

A handler that writes to the store takes its body through a dependency (``definition``,
``read_document``, ``export``) instead of awaiting it: the body is read on the event loop, and
the handler stays a plain function that FastAPI runs in the thread pool, where waiting for the
store's write lock holds up no other request (``cxm.api.deps.get_write_session``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import yaml
from fastapi import Request

from cxm.errors import InvalidInput, PayloadTooLarge

MAX_DEFINITION_BYTES = 256 * 1024
MAX_EXPORT_BYTES = 50 * 1024 * 1024
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def definition_body(what: str) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that takes a definition as JSON or YAML."""
    return {
        "requestBody": {
            "required": True,
            "description": f"The {what} definition (see docs) as JSON, or the same in YAML",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    }


def definition(what: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency: the body read as a ``what`` definition (``read_definition``)."""

    async def read(request: Request) -> Any:
        return await read_definition(request, what)

    return read


async def read_definition(request: Request, what: str) -> Any:
    """The parsed body: YAML for a YAML content type, else JSON; InvalidInput when unreadable."""
    body = await request.body()
    if len(body) > MAX_DEFINITION_BYTES:
        raise PayloadTooLarge(f"the {what} definition is over {MAX_DEFINITION_BYTES // 1024} kB")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in YAML_TYPES:
        try:
            return yaml.safe_load(body.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InvalidInput(f"the body is not valid UTF-8 YAML: {exc}") from exc
        except RecursionError as exc:
            raise InvalidInput(f"the {what} is nested too deeply to read") from exc
    if media_type in ("application/json", ""):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"the body is not valid JSON: {exc}") from exc
    raise InvalidInput(
        f"send the {what} as application/json (or application/yaml); got {media_type!r}"
    )


MAX_DOCUMENT_BYTES = 5_000_000


async def read_document(request: Request) -> str:
    """The body as UTF-8 text: a file of many definitions (articles, facts) to be read by
    ``cxm.documents``, at most ``MAX_DOCUMENT_BYTES``."""
    body = await request.body()
    if len(body) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(f"the file is over {MAX_DOCUMENT_BYTES:,} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("send the file as UTF-8 text (YAML or JSON)") from None


def export(on_server: str) -> Callable[[Request], Awaitable[bytes]]:
    """A dependency: the body read as an export (``read_export``)."""

    async def read(request: Request) -> bytes:
        return await read_export(request, on_server=on_server)

    return read


async def read_export(request: Request, *, on_server: str) -> bytes:
    """An export sent as the whole body: refused when empty or over MAX_EXPORT_BYTES, where the
    message points to ``on_server``, the command that imports files of any size."""
    body = await request.body()
    if len(body) > MAX_EXPORT_BYTES:
        raise PayloadTooLarge(
            f"the export is {len(body)} bytes; send at most {MAX_EXPORT_BYTES} per request "
            f"(or use `{on_server}` on the server)"
        )
    if not body.strip():
        raise InvalidInput("the request body is empty; send the export itself as the body")
    return body

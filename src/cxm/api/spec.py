"""cxm's OpenAPI document, true to what the API answers.

FastAPI describes a handler that returns a ``JsonResponse`` as answering a string, and knows
nothing of cxm's error envelope: every error (a bad parameter included, which FastAPI would
answer with 422) comes back as ``{"ok": false, "code", "message", "errors"}`` with the status
of its kind. ``cxm_openapi`` rewrites the generated document accordingly, once, so clients
generated from it (and Schemathesis, which checks answers against it) see the real API.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ENVELOPE = {
    "type": "object",
    "description": "cxm's JSON envelope: ok, then what the operation returns",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": True,
}
ERROR = {
    "type": "object",
    "description": "Every error: what went wrong, and where (loc) for each problem",
    "properties": {
        "ok": {"type": "boolean", "enum": [False]},
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "message": {"type": "string"},
                },
                "required": ["loc", "message"],
            },
        },
    },
    "required": ["ok", "code", "message", "errors"],
}
# What any operation may answer besides its success: bad input, no or a bad token, a missing
# scope, something not found, a conflict, a body too large, overload or an unreachable store.
ERRORS = {
    "400": "The request is invalid (each problem with its location)",
    "401": "No API token or write key, or an unknown one",
    "403": "The token lacks the scope this operation needs",
    "404": "Nothing matches the reference given",
    "409": "The request conflicts with what the workspace holds",
    "413": "The body is larger than the limit",
    "422": "The input was read but breaks the rules of its kind (a journey map, a rule)",
    "429": "Too many events are waiting to be stored; try again shortly",
    "503": "The store cannot be reached; try again shortly",
}


def cxm_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(title=app.title, version=app.version, summary=app.summary,
                       routes=app.routes, tags=app.openapi_tags)  # fmt: skip
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components["Envelope"] = ENVELOPE
    components["Error"] = ERROR
    for schema in ("HTTPValidationError", "ValidationError"):
        components.pop(schema, None)
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            ok = responses.get("200", {}).get("content", {}).get("application/json")
            if ok is not None and ok.get("schema") in ({"type": "string"}, {}):
                ok["schema"] = {"$ref": "#/components/schemas/Envelope"}
            for status, description in ERRORS.items():
                responses.setdefault(status, {
                    "description": description,
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Error"}}},
                })  # fmt: skip
    app.openapi_schema = spec
    return spec

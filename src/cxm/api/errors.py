"""One error envelope for every API failure: ``{"ok": false, "code", "message", "errors"}``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cxm.api.responses import JsonResponse
from cxm.errors import CxmError, Overloaded, StoreUnavailable, Unauthenticated

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "overloaded",
}


def envelope(code: str, message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"ok": False, "code": code, "message": message, "errors": errors or []}


def error_response(exc: CxmError) -> JsonResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, Overloaded | StoreUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="cxm", Basic realm="cxm"'
    return JsonResponse(exc.as_envelope(), status_code=exc.http_status, headers=headers)


async def http_error_response(request: Request, exc: Exception) -> JsonResponse:
    """Routing errors (unknown path, wrong method) in the envelope."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JsonResponse(
        envelope(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _invalid(raw: Sequence[Any]) -> JsonResponse:
    """400 with every problem a validator found, each with its location."""
    errors = [{"loc": list(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in raw]
    first = errors[0] if errors else {"loc": [], "message": "invalid request"}
    message = f"{'.'.join(map(str, first['loc']))}: {first['message']}"
    return JsonResponse(envelope("invalid_input", message, errors), status_code=400)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CxmError)
    async def _cxm_error(request: Request, exc: CxmError) -> JsonResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JsonResponse:
        return _invalid(exc.errors())

    app.add_exception_handler(StarletteHTTPException, http_error_response)

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> JsonResponse:
        # A YAML or JSON document nested thousands of levels deep: bad input, not a failure.
        return JsonResponse(
            envelope("invalid_input", "the input is nested too deeply to read"), status_code=400
        )

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JsonResponse:
        # A number the store cannot hold (an id beyond 64 bits): bad input, not a failure.
        return JsonResponse(
            envelope("invalid_input", f"a number in the request is out of range: {exc}"),
            status_code=400,
        )

    @app.exception_handler(PydanticValidationError)
    async def _model(request: Request, exc: PydanticValidationError) -> JsonResponse:
        # Parameters checked by a model inside the handler (e.g. a case filter).
        return _invalid(exc.errors())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JsonResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JsonResponse(
            envelope("internal_error", "an unexpected error occurred; the server log has details"),
            status_code=500,
        )

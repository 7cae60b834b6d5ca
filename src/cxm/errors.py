"""The one error hierarchy of cxm.

Every error a user can cause derives from :class:`CxmError` and carries a stable ``code``;
the API turns it into the shared JSON envelope ``{"ok": false, "code", "message", "errors"}``.
Subclasses also inherit the matching builtin so callers can catch ``ValueError`` or
``LookupError`` without knowing cxm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One problem inside a request: where (``loc``, a path of keys and indexes) and what."""

    loc: tuple[str | int, ...]
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "message": self.message}


class CxmError(Exception):
    """Root of all cxm errors. ``code`` is stable and machine-readable."""

    code = "cxm_error"
    http_status = 500

    def __init__(self, message: str, *, errors: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def as_envelope(self) -> dict[str, Any]:
        return {
            "ok": False,
            "code": self.code,
            "message": self.message,
            "errors": [e.as_dict() for e in self.errors],
        }


class InvalidInput(CxmError, ValueError):
    """The caller sent something cxm cannot accept; the message says what and where."""

    code = "invalid_input"
    http_status = 400


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"
    http_status = 400


class NotFound(CxmError, LookupError):
    code = "not_found"
    http_status = 404


class Conflict(CxmError, ValueError):
    code = "conflict"
    http_status = 409


class Unauthenticated(CxmError, PermissionError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(CxmError, PermissionError):
    code = "forbidden"
    http_status = 403


class Overloaded(CxmError, RuntimeError):
    """The server is saturated; the caller should retry after ``retry_after`` seconds."""

    code = "overloaded"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(CxmError, RuntimeError):
    """The store could not take the write; nothing was acknowledged, so the caller retries."""

    code = "store_unavailable"
    http_status = 503

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WorkspaceError(CxmError, RuntimeError):
    """The workspace is missing, unreadable or of an unknown schema version."""

    code = "workspace_error"
    http_status = 500

"""Who may do what: API tokens (and, later, users and roles)."""

from __future__ import annotations

from cxm.auth.service import (
    ROLES,
    SCOPES,
    ApiPrincipal,
    authenticate_token,
    do_create_token,
    do_revoke_tokens_named,
    get_token,
)

__all__ = [
    "ROLES",
    "SCOPES",
    "ApiPrincipal",
    "authenticate_token",
    "do_create_token",
    "do_revoke_tokens_named",
    "get_token",
]

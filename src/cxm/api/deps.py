"""Request dependencies: the workspace, a database session, the calling principal."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cxm.auth import ApiPrincipal, authenticate_token
from cxm.errors import Forbidden, Unauthenticated
from cxm.workspace import Workspace


def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


def get_session(ws: Workspace = Depends(get_workspace)) -> Iterator[Session]:
    with ws.session() as session:
        yield session


def get_principal(request: Request, session: Session = Depends(get_session)) -> ApiPrincipal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "this endpoint needs an API token: send 'Authorization: Bearer <token>' "
            "(`cxm init` prints the admin token; `cxm tokens create` makes more)"
        )
    principal = authenticate_token(session, token.strip())
    if principal is None:
        raise Unauthenticated("the API token is unknown or revoked")
    # End the read so the handler's writes start a transaction of their own: on SQLite a
    # transaction that read before another writer committed cannot take the write lock (it
    # fails with "database is locked" at once, whatever the busy timeout).
    session.commit()
    return principal


def require(scope: str):  # type: ignore[no-untyped-def]
    """A dependency that lets the request through only with ``scope`` (or admin)."""

    def check(principal: ApiPrincipal = Depends(get_principal)) -> ApiPrincipal:
        if not principal.can(scope):
            raise Forbidden(f"the token '{principal.name}' lacks the '{scope}' scope")
        return principal

    # The scope a route needs, for the authorisation matrix (tests/integration/test_authz.py)
    # and anyone reading the route table.
    check.required_scope = scope  # type: ignore[attr-defined]
    return check

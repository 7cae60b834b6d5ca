"""Request dependencies: the workspace, a database session, the calling principal."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cxm.auth import ApiPrincipal, authenticate_token
from cxm.auth.reach import check_aggregates, check_reach
from cxm.errors import Forbidden, Unauthenticated
from cxm.workspace import Workspace


def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


def get_session(ws: Workspace = Depends(get_workspace)) -> Iterator[Session]:
    """The request's session for reading (and for the token check)."""
    with ws.session() as session:
        yield session


def get_write_session(ws: Workspace = Depends(get_workspace)) -> Iterator[Session]:
    """The session of a handler that writes: ``session: Session = write_session``.

    A handler reads what it changes (the case, the rule, the current map) and then writes. On
    SQLite a transaction that has read cannot take the write lock once another connection (the
    worker, which commits often) has committed since: it fails with "database is locked" at
    once, whatever the busy timeout. Every transaction of this session begins with the write
    lock instead (``Workspace.session(write=True)``), so such a commit only makes the handler
    wait its turn. PostgreSQL needs nothing of the kind.

    Rules for a handler that takes it:

    - The lock is this session's alone; other sessions read as usual (the token check is one,
      committed before the handler runs). Never write through a second session while this one
      has a transaction open: that write would wait for this very lock and then fail. Commit
      first (access logging, ``cxm.audit.access``, writes in a session of its own).
    - Be a plain ``def`` (FastAPI runs it in the thread pool) and take the body through a
      dependency (``cxm.api.bodies``). A wait for the lock on the event loop would stall every
      request, even the one holding the lock: its session is ended from the loop.
    - Commit before returning; the session is closed before the response is sent, and rolls
      back if the handler raised.

    What hands rows to ingestion's writer (``/v1/``, bulk imports) takes no write session: it
    must hold no lock while it waits for the writer. Batch jobs the worker runs too (case
    building, erasure, text enrichment, insights) keep their own transactions.
    """
    with ws.session(write=True) as session:
        yield session


# Ended when the handler returns, before the response is sent: a slow client never keeps the
# write lock held.
write_session = Depends(get_write_session, scope="function")


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
    # End the read: no transaction of this session stays open while the handler runs. Handlers
    # that write do so through a session of their own (``get_write_session``).
    session.commit()
    return principal


def require(*scopes: str, per_department: bool = False):  # type: ignore[no-untyped-def]
    """A dependency that lets the request through with any of ``scopes`` (or admin).

    A principal held to a department (``cxm.auth.reach``) reads no company-wide aggregates:
    routes that accept the ``aggregates`` scope refuse it, unless ``per_department`` (the
    route then checks the department asked for with ``check_aggregates``)."""
    if not scopes:
        raise ValueError("name at least one scope")

    def check(principal: ApiPrincipal = Depends(get_principal)) -> ApiPrincipal:
        if not any(principal.can(scope) for scope in scopes):
            wanted = " or ".join(f"'{s}'" for s in scopes)
            raise Forbidden(f"the token '{principal.name}' lacks the {wanted} scope")
        if "aggregates" in scopes and not per_department:
            check_aggregates(principal)
        return principal

    # The scopes a route accepts, for the authorisation matrix (tests/integration/test_authz.py)
    # and anyone reading the route table.
    check.accepted_scopes = frozenset(scopes)  # type: ignore[attr-defined]
    return check


# Aggregates (metrics, journeys, topics, drivers) need no person-level access: a department
# viewer's token (scope ``aggregates``) reads them. Cases can be changed by an agent's token
# (scope ``cases``) without the right to change anything else.
require_aggregates = require("read", "aggregates")
require_department = require("read", "aggregates", per_department=True)
require_cases = require("write", "cases")


def viewed(request: Request, principal: ApiPrincipal, profile_id: str, what: str) -> None:
    """Let ``principal`` see this customer's ``what`` only if they may reach the customer
    (``cxm.auth.reach``: a principal held to a department), and log the look (why: the
    ``X-Purpose`` header; ``cxm.audit.access``). Call it before answering."""
    from cxm.audit.access import PURPOSE_HEADER, log_access

    ws = request.app.state.workspace
    with ws.session() as s:
        check_reach(s, principal, profile_id)
    log_access(ws.session, actor=principal.actor, profile_id=profile_id, what=what,
               purpose=request.headers.get(PURPOSE_HEADER))  # fmt: skip

"""The authorisation matrix, generated from the route table: every REST route either names
the scope it needs (through ``cxm.api.deps.require``) or is one of the few public ones, so a new
route without a rule fails here. Each route is then called without a token (401), with a token
of every other scope (403, unless admin) and with its own scope (neither 401 nor 403)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from cxm.api.app import create_app
from cxm.auth import SCOPES, do_create_token
from cxm.workspace import Workspace
from helpers import all_routes, bearer

pytestmark = pytest.mark.anyio
# Public: liveness, the spec, and what a customer answers through a signed survey link
# (/api/public/…); ingestion authenticates by write key (tests/integration/test_ingest_api.py).
PUBLIC = {"/api/health", "/openapi.json"}
PUBLIC_PREFIX = "/api/public/"


def _required(dependant: Any) -> set[str]:
    found: set[str] = set()
    for inner in dependant.dependencies:
        scope = getattr(inner.call, "required_scope", None)
        if scope is not None:
            found.add(scope)
        found |= _required(inner)
    return found


def rules(app: Any) -> dict[tuple[str, str], str | None]:
    """(method, path) → the scope the route needs (None: public or a write key)."""
    table: dict[tuple[str, str], str | None] = {}
    for route in all_routes(app):
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        needed = _required(route.dependant)
        for method in route.methods:
            if route.path in PUBLIC or route.path.startswith(PUBLIC_PREFIX):
                table[(method, route.path)] = None
                continue
            assert len(needed) == 1, f"{method} {route.path} names no scope (or several): {needed}"
            table[(method, route.path)] = next(iter(needed))
    return table


async def test_every_route_needs_its_scope_and_no_more(
    workspace: Workspace, api: httpx.AsyncClient
) -> None:
    workspace.initialise()
    tokens = {}
    with workspace.session() as s:
        for scope in SCOPES:
            _, tokens[scope] = do_create_token(s, actor="test", name=f"only-{scope}",
                                               scopes=(scope,))  # fmt: skip
    table = rules(create_app(workspace))
    assert len(table) > 80
    for (method, path), scope in sorted(table.items()):
        url = path.replace("{", "").replace("}", "")  # each parameter becomes its own name
        if scope is None:
            continue
        anonymous = await api.request(method, url)
        assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        for other in SCOPES:
            answer = await api.request(method, url, headers=bearer(tokens[other]))
            allowed = other in (scope, "admin")
            if allowed:
                assert answer.status_code not in (401, 403), (method, path, other, answer.text)
            else:
                assert answer.status_code == 403, (method, path, other, answer.status_code)

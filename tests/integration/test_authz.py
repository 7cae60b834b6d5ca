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
from cxm.audit import list_actions
from cxm.auth import ROLES, SCOPES, do_create_token
from cxm.workspace import Workspace
from helpers import all_routes, bearer, journeys_for

pytestmark = pytest.mark.anyio
# Public: liveness, the spec, and what a customer answers through a signed survey link
# (/api/public/…); ingestion authenticates by write key (tests/integration/test_ingest_api.py).
PUBLIC = {"/api/health", "/openapi.json"}
PUBLIC_PREFIX = "/api/public/"


def _accepted(dependant: Any) -> list[frozenset[str]]:
    found: list[frozenset[str]] = []
    for inner in dependant.dependencies:
        scopes = getattr(inner.call, "accepted_scopes", None)
        if scopes is not None:
            found.append(scopes)
        found += _accepted(inner)
    return found


def rules(app: Any) -> dict[tuple[str, str], frozenset[str] | None]:
    """(method, path) → the scopes the route accepts (None: public or a write key)."""
    table: dict[tuple[str, str], frozenset[str] | None] = {}
    for route in all_routes(app):
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        needed = set(_accepted(route.dependant))
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
    for (method, path), scope in sorted(table.items(), key=lambda item: item[0]):
        url = path.replace("{", "").replace("}", "")  # each parameter becomes its own name
        if scope is None:
            continue
        anonymous = await api.request(method, url)
        assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        for other in SCOPES:
            answer = await api.request(method, url, headers=bearer(tokens[other]))
            allowed = other in scope or other == "admin"
            if allowed:
                assert answer.status_code not in (401, 403), (method, path, other, answer.text)
            else:
                assert answer.status_code == 403, (method, path, other, answer.status_code)


async def test_roles_see_what_they_are_for(workspace: Workspace, api: httpx.AsyncClient) -> None:
    workspace.initialise()
    with workspace.session() as s:
        tokens = {role: do_create_token(s, actor="test", name=role, scopes=scopes)[1]
                  for role, scopes in ROLES.items()}  # fmt: skip
    viewer, agent = bearer(tokens["viewer"]), bearer(tokens["agent"])
    # A department viewer: totals and trends, never a customer.
    for aggregate in ("/api/metrics/catalogue", "/api/insights/drivers", "/api/text/summary",
                      "/api/journey/versions", "/api/cases/overview"):  # fmt: skip
        answer = await api.get(aggregate, headers=viewer)
        assert answer.status_code not in (401, 403), (aggregate, answer.text)
    for person_level in ("/api/profiles", "/api/cases", "/api/text/verbatims",
                         "/api/insights/churn", "/api/events"):  # fmt: skip
        assert (await api.get(person_level, headers=viewer)).status_code == 403, person_level
    # An agent: customers and their cases, nothing else to change.
    assert (await api.get("/api/profiles", headers=agent)).status_code == 200
    opened = await api.post("/api/cases", headers=agent, json={"profile": "nobody"})
    assert opened.status_code not in (401, 403)
    journey = await api.put("/api/journey", headers=agent, content="name: x")
    assert journey.status_code == 403
    rule = await api.post("/api/automation/rules", headers=agent, json={})
    assert rule.status_code == 403


async def test_every_look_at_a_customer_is_logged_with_who_and_why(
    workspace: Workspace, api: httpx.AsyncClient
) -> None:
    workspace.initialise()
    ids = journeys_for(workspace, {"ania": [{"type": "identify", "at": "2026-05-01T10:00:00Z",
                                             "traits": {"email": "ania@example.pl"}}]})  # fmt: skip
    with workspace.session() as s:
        _, agent = do_create_token(s, actor="test", name="agent-ola", scopes=ROLES["agent"])
        _, viewer = do_create_token(s, actor="test", name="dept", scopes=ROLES["viewer"])
    why = {"X-Purpose": "call about a wrong invoice"}
    for path in ("/api/profiles/ania@example.pl", "/api/profiles/ania/timeline",
                 "/api/profiles/ania/summary", "/api/profiles/ania/cases"):  # fmt: skip
        answer = await api.get(path, headers={**bearer(agent), **why})
        assert answer.status_code == 200, (path, answer.text)
    await api.get("/api/metrics/catalogue", headers=bearer(viewer))  # aggregates: not logged
    with workspace.session() as s:
        entries = list_actions(s, action="customer.viewed")
    assert len(entries) == 4
    assert {e.subject for e in entries} == {ids["ania"]}  # the profile id, not the e-mail
    assert all(e.actor.startswith("token:agent-ola") for e in entries)
    assert {e.details["what"] for e in entries} == {"profile", "timeline", "summary", "cases"}
    assert all(e.details["purpose"] == "call about a wrong invoice" for e in entries)

"""REST handlers that write while the background worker commits.

A handler that reads and then writes in one transaction fails on SQLite with "database is
locked" (at once, whatever the busy timeout) when another connection commits between its read
and its write. Handlers that write therefore take a write session
(``cxm.api.deps.get_write_session``), whose transactions begin with the write lock, so a
committing worker only makes them wait their turn. The route table is checked so that a new
write route either takes that session or says why it does not.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi.routing import APIRoute

from cxm.api.app import create_app
from cxm.api.deps import get_write_session
from cxm.journeys import telecom_yaml
from cxm.workspace import Workspace
from helpers import all_routes, bearer, journeys_for, worker_committing

pytestmark = pytest.mark.anyio
YAML = {"content-type": "application/yaml"}

# Write routes that take no write session, and why. Everything else that is not a GET must.
NO_WRITE_SESSION = {
    # Reads sent as POST (a query in the body, or a trial that stores nothing).
    ("POST", "/api/journey/validate"): "checks a map, stores nothing",
    ("POST", "/api/journeys/funnel"): "lake query",
    ("POST", "/api/journeys/paths"): "lake query",
    ("POST", "/api/journeys/stages"): "lake query",
    ("POST", "/api/journeys/scorecard"): "lake query",
    ("POST", "/api/journeys/department"): "lake query",
    ("POST", "/api/metrics/catalogue"): "lake query",
    ("POST", "/api/text/analyse"): "analyses texts, stores nothing",
    ("POST", "/api/automation/rules/{name}/dry-run"): "a trial, stores nothing",
    ("POST", "/api/lake/sync"): "reads the store, writes Parquet files",
    # Bulk imports go through ingestion's writer and must hold no lock while they wait for it.
    ("POST", "/api/sources/{name}/import"): "bulk import through ingestion",
    ("POST", "/api/cases/import"): "bulk import through ingestion",
    # Batch jobs the worker runs too, in transactions of their own.
    ("POST", "/api/cases/build"): "Workspace.build_cases takes the write lock itself",
    ("POST", "/api/privacy/erase/{ref}"): "erasure takes the write lock itself",
    ("POST", "/api/text/enrich"): "batch job with transactions of its own",
    ("POST", "/api/text/topics/discover"): "batch job with transactions of its own",
    ("POST", "/api/insights/refresh"): "batch job with transactions of its own",
}


def _calls(dependant: Any) -> Iterator[Any]:
    for inner in dependant.dependencies:
        yield inner.call
        yield from _calls(inner)


def test_every_write_route_takes_a_write_session_or_says_why_not(workspace: Workspace) -> None:
    """Each one is a plain function (``cxm.api.deps.get_write_session`` says why)."""
    seen = set()
    for route in all_routes(create_app(workspace)):
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        for method in route.methods - {"GET", "HEAD"}:
            seen.add((method, route.path))
            takes = get_write_session in set(_calls(route.dependant))
            if (method, route.path) in NO_WRITE_SESSION:
                assert not takes, f"{method} {route.path} is listed as taking no write session"
            else:
                assert takes, f"{method} {route.path} writes: give it the write session"
                # Run in the thread pool: waiting for the lock must not stall the event loop.
                assert not inspect.iscoroutinefunction(route.endpoint), f"{route.path} is async"
    assert set(NO_WRITE_SESSION) <= seen, set(NO_WRITE_SESSION) - seen


# Each scenario prepares what its handler changes, then returns one call of that handler (the
# i-th: each call changes something, so every one reads and then writes).
Call = Callable[[int], Awaitable[httpx.Response]]


async def _cases(api: httpx.AsyncClient, workspace: Workspace, auth: dict[str, str]) -> Call:
    journeys_for(workspace, {"ania": [{"type": "identify", "at": "2026-05-01T10:00:00Z"}]})
    opened = await api.post("/api/cases", json={"customer": "ania", "title": "Invoice"},
                            headers=auth)  # fmt: skip
    assert opened.status_code == 201, opened.text
    ref = opened.json()["case"]["ref"]
    return lambda i: api.patch(
        f"/api/cases/{ref}",
        headers=auth,
        json={"priority": ("high", "normal")[i % 2], "note": f"call {i}"},
    )


async def _automation_rule(
    api: httpx.AsyncClient, workspace: Workspace, auth: dict[str, str]
) -> Call:
    def rule(i: int) -> bytes:
        return (
            f"name: welcome\ndescription: Welcome, take {i}\n"
            "trigger: {event: Signed Up}\nactions:\n  - nudge: {message: Welcome}\n"
        ).encode()

    created = await api.post("/api/automation/rules", content=rule(0), headers={**auth, **YAML})
    assert created.status_code == 201, created.text
    return lambda i: api.put("/api/automation/rules/welcome", content=rule(i + 1),
                             headers={**auth, **YAML})  # fmt: skip


async def _journey_influence(
    api: httpx.AsyncClient, workspace: Workspace, auth: dict[str, str]
) -> Call:
    saved = await api.put("/api/journey", content=telecom_yaml().encode(),
                          headers={**auth, **YAML})  # fmt: skip
    assert saved.status_code == 200, saved.text
    url = "/api/journey/touchpoints/calls/influence/legal"
    return lambda i: api.put(url, json={"weight": round(0.1 + 0.05 * i, 2)}, headers=auth)


async def _segment(api: httpx.AsyncClient, workspace: Workspace, auth: dict[str, str]) -> Call:
    def segment(i: int) -> dict[str, Any]:
        return {"name": "fibre", "traits": {"plan": "fibre"}, "description": f"take {i}"}

    created = await api.post("/api/segments", json=segment(0), headers=auth)
    assert created.status_code == 201, created.text
    return lambda i: api.put("/api/segments/fibre", json=segment(i + 1), headers=auth)


SCENARIOS = {
    "case-update": _cases,
    "automation-rule-replace": _automation_rule,
    "journey-influence": _journey_influence,
    "segment-replace": _segment,
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_writing_while_the_worker_commits(
    scenario: str, api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    """Each handler reads what it changes and then writes; a thread commits all the while. On
    SQLite the handler's transaction begins with the write lock, so it waits its turn instead
    of failing with "database is locked"."""
    call = await SCENARIOS[scenario](api, workspace, bearer(admin_token))
    with worker_committing(workspace) as worker:
        codes = []
        for i in range(15):
            # The handler holds the lock while it works, and SQLite's waiting is not fair: let
            # the worker commit before each call, so that it really commits in between.
            seen = worker.commits
            with anyio.fail_after(10):
                while worker.commits == seen:
                    await anyio.sleep(0.001)
            answer = await call(i)
            codes.append((answer.status_code, answer.text[:120]))
    assert worker.commits >= 15
    assert [c for c, _ in codes] == [200] * 15, codes

"""Attacks tried against a real workspace, on both stores: SQL injection in every kind of
parameter, path traversal out of the static files, deeply nested and oversized payloads,
cross-site form posts on every page route that changes something (found from the route table,
so a new form without the check fails here), and API tokens and write keys kept out of the
server's logs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from starlette.routing import Route

from cxm.api.app import create_app
from cxm.ingest.tables import events
from cxm.workspace import Workspace
from helpers import all_routes, basic, bearer, free_port, journeys_for, sign_in, wait_for_http

pytestmark = pytest.mark.anyio
INJECTIONS = (
    "' OR '1'='1",
    "x'; DROP TABLE events; --",
    '" OR ""="',
    "1; SELECT pg_sleep(5)",
    "%' UNION SELECT token_hash FROM api_tokens --",
)


def _events(workspace: Workspace) -> int:
    with workspace.session() as s:
        return int(s.execute(select(func.count()).select_from(events)).scalar() or 0)


async def test_sql_injection_finds_nothing_and_changes_nothing(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    journeys_for(workspace, {"ania": [{"type": "identify", "at": "2026-05-01T10:00:00Z",
                                       "traits": {"email": "ania@example.pl"}}]})  # fmt: skip
    before = _events(workspace)
    auth = bearer(admin_token)
    for attack in INJECTIONS:
        found = await api.get("/api/profiles", params={"q": attack}, headers=auth)
        assert found.status_code == 200 and found.json()["profiles"] == [], attack
        for path in (f"/api/profiles/{attack}", f"/api/cases/{attack}",
                     f"/api/segments/{attack}", f"/api/automation/rules/{attack}"):  # fmt: skip
            answer = await api.get(path, headers=auth)
            assert answer.status_code in (400, 404), (path, answer.status_code, answer.text)
            assert answer.json()["ok"] is False
        cases = await api.get("/api/cases", params={"q": attack, "department": attack},
                              headers=auth)  # fmt: skip
        assert cases.status_code in (200, 400) and cases.json().get("cases", []) == []
        audit = await api.get("/api/audit", params={"action": attack}, headers=auth)
        assert audit.status_code == 200 and audit.json()["entries"] == []
    assert _events(workspace) == before
    assert (await api.get("/api/profiles", params={"q": "ania"}, headers=auth)).json()["profiles"]


async def test_no_path_leads_out_of_the_static_files(api: httpx.AsyncClient) -> None:
    for path in ("/static/../cxm.db", "/static/%2e%2e/%2e%2e/pyproject.toml",
                 "/static/..%2f..%2fconfig.py", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                 "/static//etc/passwd", "/static/cxm.css/../../routes.py"):  # fmt: skip
        answer = await api.get(path)
        assert answer.status_code in (400, 404), (path, answer.status_code)
        assert b"root:" not in answer.content and b"[project]" not in answer.content
        assert b"SQLite format" not in answer.content and b"def " not in answer.content


async def test_nested_and_oversized_payloads_are_refused_clearly(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str], admin_token: str
) -> None:
    before = _events(workspace)
    deep = "{}"
    for _ in range(5000):
        deep = '{"a":' + deep + "}"
    body = '{"type":"track","event":"Deep","userId":"u1","properties":' + deep + "}"
    answer = await api.post("/v1/track", content=body, headers={
        **basic(write_keys["website"]), "content-type": "application/json"})  # fmt: skip
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_input", answer.text
    wide = {"type": "track", "event": "Wide", "userId": "u1",
            "properties": {f"k{i}": "x" * 100 for i in range(2000)}}  # fmt: skip
    too_big = await api.post("/v1/track", json=wide, headers=basic(write_keys["website"]))
    assert too_big.status_code == 400 and "KB" in too_big.json()["message"]
    rule = await api.post(
        "/api/automation/rules",
        content="a: " + "[" * 3000 + "]" * 3000,
        headers={**bearer(admin_token), "content-type": "application/yaml"},
    )
    assert rule.status_code == 400, rule.text
    assert _events(workspace) == before


async def test_every_form_that_changes_something_needs_the_csrf_token(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    await sign_in(api, admin_token)
    app = create_app(workspace)
    posted = [
        r for r in all_routes(app)
        if isinstance(r, Route) and (r.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
        and not r.path.startswith(("/api/", "/v1/", "/static"))
    ]  # fmt: skip
    # The public survey page answers a signed invitation link, with no session to ride on;
    # the login form checks its own pre-session token (tests/integration/test_web_pages.py).
    exempt = {"/s/{token}", "/login"}
    checked = 0
    for route in posted:
        if route.path in exempt:
            continue
        path = route.path
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", "1")
        answer = await api.post(path, data={"csrf_token": "forged"})
        # Refused in one place (cxm.web.routes.FormGuard), before any handler runs.
        assert answer.status_code == 403, (route.path, answer.status_code)
        checked += 1
    assert checked >= 10
    # The header works as well as the field, and a right value passes the guard.
    page = await api.get("/overview")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    passed = await api.post("/review/999", data={"decision": "merge"},
                            headers={"X-CSRF-Token": token.group(1)})  # fmt: skip
    assert passed.status_code == 404  # past the guard: the pair does not exist


def test_tokens_and_write_keys_stay_out_of_the_logs(tmp_path: Path) -> None:
    from cxm.config import Settings
    from cxm.ingest import do_create_source

    with Workspace.open(settings=Settings(workspace=tmp_path)) as ws:
        token = ws.initialise()
        with ws.session() as s:
            _, key = do_create_source(s, actor="test", name="web", channel="web")
    assert token is not None
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "cxm", "serve", "--port", str(port)],
            env={**os.environ, "CXM_WORKSPACE": str(tmp_path), "CXM_LOG_LEVEL": "DEBUG"},
            stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_http(f"{url}/api/health", timeout=60)
            httpx.get(f"{url}/api/profiles", headers=bearer(token))
            httpx.get(f"{url}/api/profiles", headers=bearer(token + "x"))  # refused
            httpx.post(f"{url}/v1/track", headers=basic(key),
                       json={"type": "track", "event": "E", "userId": "u"})  # fmt: skip
            httpx.post(f"{url}/v1/batch", json={"writeKey": key, "batch": [
                {"type": "track", "event": "E", "userId": "u"}]})  # fmt: skip
            httpx.post(f"{url}/login", data={"token": token})
            time.sleep(1)
        finally:
            server.terminate()
            server.wait(timeout=20)
    written = log.read_text(errors="replace")
    assert "Application startup complete" in written  # the log is there, and speaks
    assert token not in written and token[10:] not in written
    assert key not in written

"""The dashboard over HTTP: sessions, CSRF, redirects, partials and error pages."""

from __future__ import annotations

import re

import httpx
import pytest

from cxm.auth import do_create_token
from cxm.workspace import Workspace
from helpers import basic

pytestmark = pytest.mark.anyio


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def seed(api: httpx.AsyncClient, workspace: Workspace, key: str) -> None:
    batch = [
        {
            "type": "identify",
            "userId": "CUST-1",
            "messageId": "1",
            "traits": {"email": "anna.wisniewska@example.pl", "name": "Anna Wiśniewska"},
        },
        {
            "type": "track",
            "userId": "CUST-1",
            "event": "Plan Viewed",
            "messageId": "2",
            "properties": {"text": "<script>alert(1)</script>"},
        },
    ]
    response = await api.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert response.status_code == 200
    workspace.catch_up()


async def sign_in(api: httpx.AsyncClient, token: str) -> str:
    page = await api.get("/login")
    response = await api.post("/login", data={"token": token, "csrf_token": csrf(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/overview"
    return response.headers["set-cookie"]


async def test_session_lifecycle_and_csrf(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    await seed(api, workspace, write_keys["website"])
    assert (await api.get("/overview")).headers["location"].startswith("/login?next=/overview")
    login = await api.get("/login?next=//evil.example/x")
    assert 'name="next" value="/overview"' in login.text
    assert login.headers["x-frame-options"] == "DENY"
    bad = await api.post("/login", data={"token": admin_token, "csrf_token": "wrong"})
    assert bad.status_code == 400
    wrong = await api.post("/login", data={"token": "cxm_nope", "csrf_token": csrf(bad.text)})
    assert wrong.status_code in (400, 401) and "<html" in wrong.text

    cookie = await sign_in(api, admin_token)
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    overview = await api.get("/overview")
    assert overview.status_code == 200 and "Anna Wiśniewska" in overview.text

    rows = await api.get("/customers?q=wisniewska", headers={"HX-Request": "true"})
    assert rows.status_code == 200 and "<html" not in rows.text and "Anna Wiśniewska" in rows.text

    found = await api.get("/customers/anna.wisniewska@example.pl")
    assert found.status_code == 307 and found.headers["location"].startswith("/customers/p_")
    page = await api.get(found.headers["location"])
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text

    assert (await api.get("/customers/nobody")).status_code == 404
    assert (await api.get(found.headers["location"] + "?channel=fax")).status_code == 400

    polish = await api.get("/lang/pl?next=https://evil.example/")
    assert polish.headers["location"] == "/overview"
    assert "Przegląd" in (await api.get("/overview")).text

    token = csrf((await api.get("/overview")).text)
    assert (await api.post("/logout", data={"csrf_token": "nope"})).status_code == 403
    out = await api.post("/logout", headers={"X-CSRF-Token": token})
    assert out.status_code == 303
    assert (await api.get("/overview")).status_code == 303


async def test_read_only_tokens_cannot_open_the_dashboard(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    with workspace.session() as session:
        _, reader = do_create_token(session, actor="test", name="reader", scopes=("read",))
    page = await api.get("/login")
    response = await api.post("/login", data={"token": reader, "csrf_token": csrf(page.text)})
    assert response.status_code == 403


async def test_unknown_pages_are_html_for_people_and_json_for_programs(
    api: httpx.AsyncClient, workspace: Workspace
) -> None:
    person = await api.get("/nowhere", headers={"Accept": "text/html"})
    assert person.status_code == 404 and person.headers["content-type"].startswith("text/html")
    program = await api.get("/nowhere")
    assert program.status_code == 404 and program.json()["code"] == "not_found"
    api_path = await api.get("/api/nowhere", headers={"Accept": "text/html"})
    assert api_path.json()["ok"] is False
    static = await api.get("/static/vendor/echarts.min.js")
    assert static.status_code == 200 and len(static.content) > 100_000

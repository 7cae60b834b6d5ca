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


async def test_a_token_opens_the_pages_its_scopes_allow(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    with workspace.session() as session:
        _, reader = do_create_token(session, actor="test", name="reader", scopes=("read",))
        _, writer = do_create_token(session, actor="test", name="writer", scopes=("write",))
    page = await api.get("/login")
    refused = await api.post("/login", data={"token": writer, "csrf_token": csrf(page.text)})
    assert refused.status_code == 403  # changes without reading: no page to open
    page = await api.get("/login")
    response = await api.post("/login", data={"token": reader, "csrf_token": csrf(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/cases"
    assert (await api.get("/cases")).status_code == 200
    assert (await api.get("/customers")).status_code == 200
    overview = await api.get("/overview")
    assert overview.status_code == 403 and "/cases" in overview.text
    nav = (await api.get("/cases")).text
    assert 'href="/customers"' in nav and 'href="/overview"' not in nav.split("<main")[0]


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


def live_poll_url(fragment: str) -> str:
    found = re.search(r'<div id="live-poll"[^>]*hx-get="([^"]+)"', fragment)
    assert found, "no live poller in the fragment"
    return found.group(1).replace("&amp;", "&")


async def test_sources_page_and_its_live_events_polling(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    assert (await api.get("/sources")).headers["location"] == "/login?next=/sources"
    hx = {"HX-Request": "true"}
    polled_signed_out = await api.get("/sources/events?after=0", headers=hx)
    assert polled_signed_out.status_code == 401 and "HX-Redirect" in polled_signed_out.headers
    await sign_in(api, admin_token)
    unsafe = "<img src=x onerror=alert(1)>"
    first = {"type": "track", "userId": "CUST-9", "event": "Plan Viewed", "messageId": "s1"}
    response = await api.post(
        "/v1/batch", json={"batch": [first]}, headers=basic(write_keys["website"])
    )
    assert response.status_code == 200

    page = await api.get("/sources")
    assert page.status_code == 200 and page.headers["content-security-policy"]
    html = page.text
    assert 'aria-current="page"' in html and "Live events" in html
    assert write_keys["website"][:10] + "…" in html and write_keys["website"] not in html
    assert "http://cxm.test/v1/batch" in html
    assert 'write_key="YOUR_WRITE_KEY",\n    host="http://cxm.test",' in html
    assert html.count('class="live-item') == 1 and "Waiting for identity resolution" in html
    assert 'hx-trigger="every 3s"' in html and 'hx-swap="afterbegin"' in html
    poll = live_poll_url(html)
    seq = int(re.search(r'data-seq="(\d+)"', html).group(1))  # type: ignore[union-attr]
    assert poll == f"/sources/events?after={seq}&pending={seq}"

    # Nothing new and nothing placed: nothing to swap.
    assert (await api.get(poll, headers=hx)).status_code == 204

    second = {
        "type": "track",
        "anonymousId": "anon-7",
        "event": "Form Sent",
        "messageId": "s2",
        "properties": {"comment": unsafe},
    }
    response = await api.post(
        "/v1/batch", json={"batch": [second]}, headers=basic(write_keys["call-centre"])
    )
    assert response.status_code == 200
    update = await api.get(poll, headers=hx)
    assert update.status_code == 200 and "<html" not in update.text
    assert update.text.count('class="live-item') == 1 and "is-new" in update.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in update.text and "<img" not in update.text
    assert "anon-7" in update.text and "call-centre" in update.text
    assert 'id="live-poll" hidden hx-swap-oob="true"' in update.text
    poll = live_poll_url(update.text)
    assert poll == f"/sources/events?after={seq + 1}&pending={seq + 1}&pending={seq}"

    # The projector places both: their rows get customer links, and nothing stays pending.
    workspace.catch_up()
    placed = await api.get(poll, headers=hx)
    assert placed.status_code == 200 and 'class="live-item' not in placed.text
    links = re.findall(r'id="ev-(\d+)-who" hx-swap-oob="true">\s*<a class="live-profile" '
                       r'href="/customers/(p_[^"]+)"', placed.text)  # fmt: skip
    assert sorted(int(s) for s, _ in links) == [seq, seq + 1]
    assert live_poll_url(placed.text) == f"/sources/events?after={seq + 1}"
    again = await api.get("/sources")
    assert 'href="/customers/p_' in again.text and "Waiting for identity" not in again.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in again.text and "<img src" not in again.text

    # The source filter swaps only the live panel.
    filtered = await api.get("/sources?source=website", headers=hx)
    assert filtered.status_code == 200 and filtered.text.lstrip().startswith(
        '<div class="live-feed"'
    )
    assert "Plan Viewed" in filtered.text and "Form Sent" not in filtered.text
    quiet = await api.get("/sources?source=ivr", headers=hx)
    assert "No events from ivr yet." in quiet.text
    assert live_poll_url(quiet.text) == f"/sources/events?after={seq + 1}&source=ivr"
    assert (await api.get("/sources?source=nope")).status_code == 404

    # A broken poll stops polling with a message instead of prepending errors.
    broken = await api.get("/sources/events?after=abc", headers=hx)
    assert broken.status_code == 400 and 'class="alert alert-error live-stopped"' in broken.text
    assert "hx-get" not in broken.text
    gone = await api.get("/sources/events?after=1&source=nope", headers=hx)
    assert gone.status_code == 404 and "“nope”" in gone.text

"""GET /api/events: the newest events of the log, for watching an integration arrive."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cxm.auth import do_create_token
from cxm.workspace import Workspace
from helpers import basic, bearer

pytestmark = pytest.mark.anyio


def track(n: int, event: str = "Plan Viewed", **extra: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "userId": f"u{n}",
        "messageId": f"m{n}",
        "timestamp": "2026-03-01T10:00:00Z",
        "properties": {"plan": "Fibre 600", "n": n},
        **extra,
    }


async def send(api: httpx.AsyncClient, key: str, batch: list[dict[str, Any]]) -> None:
    response = await api.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert response.status_code == 200 and response.json()["accepted"] == len(batch)


async def events(api: httpx.AsyncClient, token: str, query: str = "") -> dict[str, Any]:
    response = await api.get(f"/api/events{query}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["ok"] is True
    return body


def message_ids(body: dict[str, Any]) -> list[str]:
    return [e["payload"]["messageId"] for e in body["events"]]


async def test_newest_first_then_only_newer_with_after(
    api: httpx.AsyncClient, write_keys: dict[str, str], admin_token: str
) -> None:
    assert await events(api, admin_token) == {"ok": True, "events": [], "last_seq": 0}
    await send(api, write_keys["website"], [track(1), track(2)])
    await send(api, write_keys["call-centre"], [track(3, event="Call Ended")])

    body = await events(api, admin_token)
    assert message_ids(body) == ["m3", "m2", "m1"]
    seqs = [e["seq"] for e in body["events"]]
    assert seqs == sorted(seqs, reverse=True) and body["last_seq"] == seqs[0]
    newest = body["events"][0]
    assert {k: newest[k] for k in ("source", "channel", "type", "event", "user_id")} == {
        "source": "call-centre",
        "channel": "phone",
        "type": "track",
        "event": "Call Ended",
        "user_id": "u3",
    }
    assert newest["anonymous_id"] is None
    assert newest["timestamp"].startswith("2026-03-01T10:00:00")
    assert newest["received_at"] != newest["timestamp"]  # the customer's clock and ours
    assert newest["payload"]["properties"] == {"plan": "Fibre 600", "n": 3}

    assert message_ids(await events(api, admin_token, f"?after={seqs[1]}")) == ["m3"]
    assert message_ids(await events(api, admin_token, "?limit=2")) == ["m3", "m2"]

    # Polling: pass last_seq back as `after`; nothing new keeps it where it was.
    last = body["last_seq"]
    assert await events(api, admin_token, f"?after={last}") == {
        "ok": True,
        "events": [],
        "last_seq": last,
    }
    await send(api, write_keys["website"], [track(4)])
    later = await events(api, admin_token, f"?after={last}")
    assert message_ids(later) == ["m4"] and later["last_seq"] > last


async def test_source_filter_and_unknown_source(
    api: httpx.AsyncClient, write_keys: dict[str, str], admin_token: str
) -> None:
    await send(api, write_keys["website"], [track(1), track(2)])
    await send(api, write_keys["call-centre"], [track(3)])

    website = await events(api, admin_token, "?source=website")
    assert message_ids(website) == ["m2", "m1"]
    assert {e["source"] for e in website["events"]} == {"website"}
    # A quiet source's poll continues from the head of the log, not from its own last event.
    everything = await events(api, admin_token)
    assert website["last_seq"] == everything["last_seq"]
    quiet = await events(api, admin_token, "?source=ivr")
    assert quiet["events"] == [] and quiet["last_seq"] == everything["last_seq"]

    response = await api.get("/api/events?source=nope", headers=bearer(admin_token))
    assert response.status_code == 404
    body = response.json()
    assert body["ok"] is False and body["code"] == "not_found" and body["errors"] == []
    assert "'nope'" in body["message"] and "website" in body["message"]


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("?limit=0", ["query", "limit"]),
        ("?limit=501", ["query", "limit"]),
        ("?limit=many", ["query", "limit"]),
        ("?after=-1", ["query", "after"]),
        ("?after=abc", ["query", "after"]),
    ],
)
async def test_bad_parameters_get_the_error_envelope(
    api: httpx.AsyncClient, admin_token: str, query: str, loc: list[str]
) -> None:
    response = await api.get(f"/api/events{query}", headers=bearer(admin_token))
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and body["code"] == "invalid_input"
    assert body["errors"][0]["loc"] == loc


async def test_needs_a_token_with_the_read_scope(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    anonymous = await api.get("/api/events")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
    wrong = await api.get("/api/events", headers=bearer("cxm_not-a-token"))
    assert wrong.status_code == 401
    with workspace.session() as session:
        _, reader = do_create_token(session, actor="test", name="reader", scopes=("read",))
        _, writer = do_create_token(session, actor="test", name="writer", scopes=("write",))
    assert (await api.get("/api/events", headers=bearer(reader))).status_code == 200
    forbidden = await api.get("/api/events", headers=bearer(writer))
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"


async def test_profile_id_appears_once_identity_resolution_placed_the_event(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str], admin_token: str
) -> None:
    await send(
        api,
        write_keys["website"],
        [track(1, anonymousId="a-1"), {"type": "page", "anonymousId": "a-2", "messageId": "p1"}],
    )
    before = await events(api, admin_token)
    assert [e["profile_id"] for e in before["events"]] == [None, None]

    workspace.catch_up()
    after = await events(api, admin_token)
    placed = {e["payload"]["messageId"]: e["profile_id"] for e in after["events"]}
    assert all(placed.values()) and placed["m1"] != placed["p1"]
    profile = await api.get("/api/profiles/u1", headers=bearer(admin_token))
    assert profile.json()["profile"]["id"] == placed["m1"]

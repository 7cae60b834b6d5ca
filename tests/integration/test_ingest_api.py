"""The Segment-compatible ingestion API, checked through HTTP and in the stored event log."""

from __future__ import annotations

import gzip

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from cxm.ingest.tables import events
from cxm.workspace import Workspace
from helpers import basic

pytestmark = pytest.mark.anyio


def stored_ids(ws: Workspace) -> set[str]:
    with ws.session() as session:
        return set(session.execute(select(events.c.message_id)).scalars())


def track(n: int, **extra: object) -> dict[str, object]:
    return {
        "type": "track",
        "event": "Plan Viewed",
        "userId": f"u{n}",
        "messageId": f"m{n}",
        "timestamp": "2026-03-01T10:00:00Z",
        "properties": {"plan": "Fibre 600"},
        **extra,
    }


async def test_batch_keeps_good_events_and_rejects_bad_ones_with_reasons(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    batch = [
        track(1),
        {"type": "teleport", "userId": "u2", "messageId": "m2"},
        track(3, timestamp="last tuesday"),
        {"type": "track", "messageId": "m4", "event": "No Identity"},
        {"type": "identify", "anonymousId": "a5", "traits": {"email": "e@x.pl"}, "messageId": "m5"},
        {"type": "track", "userId": "u6", "messageId": "m6"},
        "not an event",
        track(8, timestamp="2099-01-01T00:00:00Z"),
    ]
    response = await api.post(
        "/v1/batch", json={"batch": batch}, headers=basic(write_keys["website"])
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["accepted"] == 2 and body["duplicates"] == 0
    rejected = {r["index"]: r for r in body["rejected"]}
    assert set(rejected) == {1, 2, 3, 5, 6, 7}
    assert rejected[1]["errors"][0]["loc"] == ["batch", 1, "type"]
    assert "teleport" in rejected[1]["message"]
    assert rejected[2]["errors"][0]["loc"] == ["batch", 2, "timestamp"]
    assert "last tuesday" in rejected[2]["message"]
    assert "userId or an anonymousId" in rejected[3]["message"]
    assert rejected[5]["errors"][0]["loc"] == ["batch", 5, "event"]
    assert "JSON object" in rejected[6]["message"]
    assert "24 hours ahead" in rejected[7]["message"]
    assert stored_ids(workspace) == {"m1", "m5"}


async def test_retried_batch_is_not_stored_twice(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    body = {"batch": [track(n) for n in range(20)]}
    first = await api.post("/v1/batch", json=body, headers=basic(write_keys["website"]))
    again = await api.post("/v1/batch", json=body, headers=basic(write_keys["website"]))
    assert first.json()["duplicates"] == 0
    assert again.status_code == 200 and again.json()["duplicates"] == 20
    with workspace.session() as session:
        assert session.execute(select(func.count()).select_from(events)).scalar() == 20


async def test_gzip_body_and_write_key_in_body_are_accepted(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    payload = {"batch": [track(1), track(2)], "writeKey": write_keys["call-centre"]}
    response = await api.post(
        "/v1/batch",
        content=gzip.compress(orjson.dumps(payload)),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    with workspace.session() as session:
        channels = set(session.execute(select(events.c.channel)).scalars())
    assert channels == {"phone"}


@pytest.mark.parametrize(
    ("content", "headers", "code", "fragment"),
    [
        (b"{not json", {}, "invalid_input", "not valid JSON"),
        (b"[1, 2]", {}, "invalid_input", "must be a JSON object"),
        (b'{"events": []}', {}, "invalid_input", "'batch' list"),
        (b'{"batch": []}', {}, "invalid_input", "empty"),
        (b"\x1f\x8b garbage", {"Content-Encoding": "gzip"}, "invalid_input", "gzip"),
        (b"{}", {"Content-Encoding": "br"}, "invalid_input", "Content-Encoding"),
        (b"x" * (501 * 1024), {}, "payload_too_large", "500 KB"),
    ],
)
async def test_malformed_requests_get_a_clear_envelope_and_store_nothing(
    api: httpx.AsyncClient,
    workspace: Workspace,
    write_keys: dict[str, str],
    content: bytes,
    headers: dict[str, str],
    code: str,
    fragment: str,
) -> None:
    response = await api.post(
        "/v1/batch", content=content, headers={**basic(write_keys["website"]), **headers}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and body["code"] == code
    assert fragment in body["message"]
    assert stored_ids(workspace) == set()


async def test_gzip_bomb_is_refused(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * (5 * 1024 * 1024) + b"]}")
    assert len(bomb) < 500 * 1024
    response = await api.post(
        "/v1/batch",
        content=bomb,
        headers={**basic(write_keys["website"]), "Content-Encoding": "gzip"},
    )
    assert response.status_code == 400 and response.json()["code"] == "payload_too_large"


async def test_oversized_event_is_rejected_alone(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    big = track(2, properties={"text": "x" * (33 * 1024)})
    response = await api.post(
        "/v1/batch", json={"batch": [track(1), big]}, headers=basic(write_keys["website"])
    )
    assert response.status_code == 200
    assert response.json()["rejected"][0]["index"] == 1
    assert "limit is 32768 bytes" in response.json()["rejected"][0]["message"]
    assert stored_ids(workspace) == {"m1"}
    single = await api.post("/v1/track", json=big, headers=basic(write_keys["website"]))
    assert single.status_code == 400 and single.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic d2tfbm9wZTo="}, {"Authorization": "Bearer wk_x"}],
    ids=["none", "unknown-key", "wrong-scheme"],
)
async def test_wrong_or_missing_write_key_is_401(
    api: httpx.AsyncClient,
    workspace: Workspace,
    write_keys: dict[str, str],
    headers: dict[str, str],
) -> None:
    response = await api.post("/v1/batch", json={"batch": [track(1)]}, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert "write key" in response.json()["message"]
    assert stored_ids(workspace) == set()


async def test_single_event_endpoints(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    key = basic(write_keys["website"])
    sent = {
        "identify": {"userId": "u1", "traits": {"name": "Ewa"}, "messageId": "i"},
        "track": {"userId": "u1", "event": "Login", "messageId": "t"},
        "page": {"anonymousId": "a1", "name": "Home", "messageId": "p"},
        "screen": {"userId": "u1", "name": "Billing", "messageId": "s"},
        "group": {"userId": "u1", "groupId": "acme", "messageId": "g"},
        "alias": {"userId": "u1", "previousId": "a1", "messageId": "al"},
    }
    for kind, body in sent.items():
        response = await api.post(f"/v1/{kind}", json=body, headers=key)
        assert response.status_code == 200, (kind, response.text)
    with workspace.session() as session:
        stored = dict(session.execute(select(events.c.message_id, events.c.type)).all())
    assert stored == {
        "i": "identify",
        "t": "track",
        "p": "page",
        "s": "screen",
        "g": "group",
        "al": "alias",
    }
    wrong = await api.post("/v1/track", json={"type": "identify", "userId": "u"}, headers=key)
    assert wrong.status_code == 400 and "takes 'track' events" in wrong.json()["message"]
    alias = await api.post("/v1/alias", json={"userId": "u1"}, headers=key)
    assert alias.status_code == 400 and alias.json()["errors"][0]["loc"] == ["previousId"]


async def test_stored_event_keeps_payload_and_both_clocks(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    event = track(1, timestamp="2026-03-01T12:00:00+02:00", context={"locale": "pl-PL"})
    await api.post("/v1/batch", json={"batch": [event]}, headers=basic(write_keys["website"]))
    with workspace.session() as session:
        row = session.execute(select(events)).one()
    assert row.timestamp.isoformat() == "2026-03-01T10:00:00+00:00"
    assert row.received_at > row.timestamp
    assert orjson.loads(row.payload) == event
    assert row.channel == "web" and row.user_id == "u1"


async def test_clock_skew_is_corrected_from_sent_at(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    # A device whose clock is a year behind: originalTimestamp and sentAt share the error.
    event = {
        "type": "track",
        "event": "Open",
        "userId": "u",
        "messageId": "sk",
        "originalTimestamp": "2025-01-01T10:00:00Z",
    }
    body = {"batch": [event], "sentAt": "2025-01-01T10:00:05Z"}
    await api.post("/v1/batch", json=body, headers=basic(write_keys["website"]))
    with workspace.session() as session:
        row = session.execute(select(events)).one()
    assert abs((row.received_at - row.timestamp).total_seconds() - 5) < 2


async def test_overload_answers_429_with_retry_after(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    writer = api._transport.app.state.writer  # type: ignore[attr-defined]
    writer._max_pending = 5
    response = await api.post(
        "/v1/batch",
        json={"batch": [track(n) for n in range(10)]},
        headers=basic(write_keys["website"]),
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["code"] == "overloaded"
    assert stored_ids(workspace) == set()


async def test_browser_sdk_paths_and_cors(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    # analytics.js: short paths, writeKey in a text/plain body, called cross-origin.
    preflight = await api.options(
        "/v1/t",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    body = orjson.dumps({**track(1), "writeKey": write_keys["website"]})
    sent = await api.post(
        "/v1/t",
        content=body,
        headers={"Content-Type": "text/plain", "Origin": "https://shop.example"},
    )
    assert sent.status_code == 200 and sent.headers["access-control-allow-origin"] == "*"
    page = await api.post("/v1/p", json={"anonymousId": "a", "writeKey": write_keys["website"]})
    imported = await api.post(
        "/v1/import", json={"batch": [track(3)]}, headers=basic(write_keys["website"])
    )
    assert page.status_code == imported.status_code == 200
    assert stored_ids(workspace) >= {"m1", "m3"}
    assert len(stored_ids(workspace)) == 3
    rest = await api.get("/api/health", headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in rest.headers


async def test_a_failing_store_answers_503_and_acknowledges_nothing(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    # The events table disappears under the server (a broken disk, a dropped table): the
    # request must fail loudly with a retryable status, never report success.
    with workspace.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE events RENAME TO events_away")
    try:
        response = await api.post(
            "/v1/batch", json={"batch": [track(1)]}, headers=basic(write_keys["website"])
        )
    finally:
        with workspace.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE events_away RENAME TO events")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["code"] == "store_unavailable"
    retried = await api.post(
        "/v1/batch", json={"batch": [track(1)]}, headers=basic(write_keys["website"])
    )
    assert retried.status_code == 200 and stored_ids(workspace) == {"m1"}

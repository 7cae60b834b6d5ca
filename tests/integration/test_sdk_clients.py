"""Real Segment and RudderStack SDKs pointed at a live ``cxm serve``: profiles appear."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient
from segment.analytics.request import APIError

from cxm.config import Settings
from cxm.ingest import do_create_source
from cxm.workspace import Workspace
from helpers import bearer, running_server


@dataclass
class LiveServer:
    url: str
    token: str
    keys: dict[str, str]


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """``cxm serve`` (with its background projector) in a subprocess on a free port."""
    settings = Settings(workspace=tmp_path / "ws", database_url=database_url)
    with Workspace.open(settings=settings) as ws:
        token = ws.initialise()
        assert token
        with ws.session() as session:
            keys = {
                name: do_create_source(session, actor="test", name=name, channel=channel)[1]
                for name, channel in (
                    ("website", "web"),
                    ("mobile-app", "app"),
                    ("call-centre", "phone"),
                )
            }
    with running_server(
        settings.workspace, database_url=database_url, env={"CXM_PROJECTOR_INTERVAL_S": "0.1"}
    ) as url:
        yield LiveServer(url=url, token=token, keys=keys)


def wait_for_profile(server: LiveServer, ref: str, *, events: int) -> dict:
    """Poll the REST API until the background projector has applied ``events`` events."""
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=server.url, headers=bearer(server.token)) as client:
        while True:
            response = client.get(f"/api/profiles/{ref}")
            if response.status_code == 200 and response.json()["profile"]["event_count"] >= events:
                return response.json()["profile"]
            assert time.monotonic() < deadline, f"profile {ref} not ready: {response.text}"
            time.sleep(0.2)


def test_segment_and_rudderstack_sdks_feed_one_profile(live_server: LiveServer) -> None:
    errors: list[object] = []
    segment = SegmentClient(
        write_key=live_server.keys["website"],
        host=live_server.url,
        sync_mode=True,
        gzip=True,
        on_error=lambda e, batch: errors.append(e),
        max_retries=1,
    )
    segment.page(anonymous_id="b-42", name="Fibre offers", properties={"path": "/fibre"})
    segment.identify(
        user_id="CUST-42",
        anonymous_id="b-42",
        traits={"email": "Zofia.Nowak@example.pl", "name": "Zofia Nowak"},
    )
    segment.track(
        user_id="CUST-42",
        event="Order Completed",
        properties={"product": "Fibre 600", "price": 79.99, "currency": "PLN"},
        timestamp=datetime(2026, 5, 2, 9, 30, tzinfo=UTC),
    )
    segment.flush()

    rudder = RudderClient(
        write_key=live_server.keys["mobile-app"],
        host=live_server.url,
        sync_mode=True,
        on_error=lambda e, batch: errors.append(e),
        max_retries=1,
    )
    rudder.screen(user_id="CUST-42", name="Invoices")
    rudder.track(
        anonymous_id="app-device-9",
        event="App Opened",
        context={"traits": {"email": "zofia.nowak@example.pl"}},
    )
    rudder.flush()

    assert errors == []
    profile = wait_for_profile(live_server, "zofia.nowak@example.pl", events=5)
    assert profile["display_name"] == "Zofia Nowak"
    kinds = {(i["kind"], i["value"]) for i in profile["identifiers"]}
    assert {
        ("user_id", "CUST-42"),
        ("anonymous_id", "b-42"),
        ("anonymous_id", "app-device-9"),
    } <= kinds

    with httpx.Client(base_url=live_server.url, headers=bearer(live_server.token)) as client:
        timeline = client.get(f"/api/profiles/{profile['id']}/timeline").json()["items"]
    assert {i["channel"] for i in timeline} == {"web", "app"}
    order = next(i for i in timeline if i["event"] == "Order Completed")
    assert order["at"].startswith("2026-05-02T09:30:00")
    assert order["properties"]["product"] == "Fibre 600"


def test_sdk_sees_a_wrong_write_key_as_an_error(live_server: LiveServer) -> None:
    client = SegmentClient(
        write_key="wk_not-a-key", host=live_server.url, sync_mode=True, max_retries=0
    )
    with pytest.raises(APIError) as raised:
        client.track(user_id="x", event="Nope")
    assert raised.value.status == 401 and raised.value.code == "unauthenticated"
    assert "matches no active source" in raised.value.message

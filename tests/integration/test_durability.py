"""A real crash: SIGKILL a loaded `cxm serve`; every acknowledged event must be stored.

The group-commit writer answers a request only after its rows are committed, so killing the
process at any instant may lose unanswered requests but never an acknowledged one. This kills the
server mid-load (requests in flight) and reads the store back, once on SQLite and once on
PostgreSQL. It covers a process crash, not a power cut: SQLite's fsync policy is not exercised.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

import cxm
from cxm.ingest import do_create_source
from cxm.ingest.tables import events
from helpers import free_port, wait_for_http

CLIENTS = 4
BATCH_EVENTS = 40
LOAD_BEFORE_KILL_S = 1.5
# Enough acknowledged batches that the check means something, whatever the machine's speed.
MIN_ACKNOWLEDGED_BATCHES = 5
MAX_BATCHES_PER_CLIENT = 5_000


@dataclass
class Load:
    """What the client threads saw; appended to under ``lock``."""

    acknowledged: list[str] = field(default_factory=list)
    acknowledged_batches: int = 0
    # Requests that failed in transport once the server was gone: proof it died mid-load.
    cut_off: int = 0
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _send_batches(
    base_url: str, write_key: str, client: int, load: Load, stop: threading.Event
) -> None:
    with httpx.Client(base_url=base_url, auth=(write_key, ""), timeout=30, trust_env=False) as http:
        for n in range(MAX_BATCHES_PER_CLIENT):
            if stop.is_set():
                return
            ids = [f"crash-{client}-{n}-{i}" for i in range(BATCH_EVENTS)]
            batch = [
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": f"user-{client}-{i}",
                    "messageId": message_id,
                    "timestamp": "2024-05-01T12:00:00Z",
                    "properties": {"order_id": message_id, "total": 99.5, "currency": "PLN"},
                    "context": {"library": {"name": "analytics-python", "version": "2.3.3"}},
                }
                for i, message_id in enumerate(ids)
            ]
            try:
                response = http.post("/v1/batch", json={"batch": batch})
            except httpx.TransportError:
                with load.lock:
                    load.cut_off += 1
                return  # the server is gone (or going): this batch's fate is unknown
            except Exception as exc:  # a thread must not die silently
                with load.lock:
                    load.unexpected.append(repr(exc))
                return
            with load.lock:
                if response.status_code == 200 and response.json()["accepted"] == len(ids):
                    load.acknowledged.extend(ids)
                    load.acknowledged_batches += 1
                elif response.status_code != 429:
                    load.unexpected.append(f"HTTP {response.status_code}: {response.text[:300]}")
                    return


@pytest.fixture
def crash_workspace(database_url: str, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A migrated workspace on the test's database with one source; yields (path, write key)."""
    ws = cxm.open(tmp_path, database_url=database_url)
    try:
        ws.initialise()
        with ws.session() as session:
            _, write_key = do_create_source(session, actor="test", name="crash", channel="web")
    finally:
        ws.close()
    yield tmp_path, write_key


def test_acknowledged_events_survive_sigkill(
    crash_workspace: tuple[Path, str], database_url: str
) -> None:
    workspace, write_key = crash_workspace
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CXM_WORKSPACE": str(workspace), "CXM_DATABASE_URL": database_url}
    load = Load()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_send_batches, args=(base_url, write_key, client, load, stop), daemon=True
        )
        for client in range(CLIENTS)
    ]
    log_path = workspace / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "cxm", "serve", "--no-worker"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_for_http(f"{base_url}/api/health", timeout=60)
        except TimeoutError:
            pytest.fail(f"cxm serve did not start:\n{log_path.read_text()[-3000:]}")
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        started = time.monotonic()
        while time.monotonic() < deadline:
            with load.lock:
                enough = load.acknowledged_batches >= MIN_ACKNOWLEDGED_BATCHES
            if enough and time.monotonic() - started >= LOAD_BEFORE_KILL_S:
                break
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        for thread in threads:
            thread.join(timeout=40)

    assert not any(thread.is_alive() for thread in threads), "a client thread hung"
    assert server.returncode == -signal.SIGKILL
    assert not load.unexpected, load.unexpected[:5]
    assert load.acknowledged_batches >= MIN_ACKNOWLEDGED_BATCHES, (
        f"only {load.acknowledged_batches} batches were acknowledged before the kill; "
        f"server log:\n{log_path.read_text()[-3000:]}"
    )
    assert load.cut_off > 0, "no request was in flight at the kill: it did not hit mid-load"

    ws = cxm.open(workspace, database_url=database_url)
    try:
        with ws.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
            stored = set(conn.execute(select(events.c.message_id)).scalars())
    finally:
        ws.close()
    missing = set(load.acknowledged) - stored
    assert not missing, (
        f"{len(missing)} of {len(load.acknowledged)} acknowledged events were lost, "
        f"e.g. {sorted(missing)[:5]}"
    )

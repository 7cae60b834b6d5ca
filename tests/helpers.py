"""Small helpers shared by the test suites: `from helpers import free_port, wait_for_http`.

`tests/` is on `sys.path` because `tests/conftest.py` sits in a directory without `__init__.py`
(pytest's default "prepend" import mode puts it there).
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxm.profiles import ProfileCard

# Tests talk to servers on 127.0.0.1 only: never through a proxy from the environment.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    >>> 1024 <= free_port() <= 65535
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, timeout: float = 30) -> None:
    """Wait until `url` answers an HTTP request (any status), or raise TimeoutError.

    For a server started in a subprocess: `wait_for_http(f"http://127.0.0.1:{port}/")`.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _NO_PROXY_OPENER.open(url, timeout=2):
                return
        except urllib.error.HTTPError as exc:
            exc.close()
            return  # an error status is still an answer
        except OSError as exc:  # refused, reset, timed out: not listening yet
            last_error = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s: {last_error}")
        time.sleep(0.1)


def basic(write_key: str) -> dict[str, str]:
    """Headers for the ingestion API: HTTP Basic with the write key as user name."""
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    """Headers for the REST API: the API token as a Bearer token."""
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def running_server(
    workspace: Path, *, database_url: str | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """``cxm serve`` (with its worker) in a subprocess on a free port; yields its base URL."""
    port = free_port()
    server_env = {**os.environ, "CXM_WORKSPACE": str(workspace), **(env or {})}
    if database_url:
        server_env["CXM_DATABASE_URL"] = database_url
    server = subprocess.Popen(
        [sys.executable, "-m", "cxm", "serve", "--port", str(port)],
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/health", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@dataclass(frozen=True)
class YearDemo:
    """A year of the demo company (1,000 customers), built once per test run (``year_demo``)."""

    path: Path
    token: str  # an admin API token
    truth: dict[str, Any]  # what the generator planted (demo/ground_truth.json)


@dataclass(frozen=True)
class LiveDemo:
    """A live server over a small demo company (tests/e2e)."""

    url: str
    token: str
    customer: ProfileCard  # an active customer seen in at least four channels


def journeys_for(
    workspace: Any, people: dict[str, list[dict[str, Any]]], *, source: str = "journeys"
) -> dict[str, str]:
    """Customers' journeys written as data, ingested, placed on profiles and copied to the lake.

    ``{"ania": [{"event": "Plan Viewed", "channel": "web", "at": "2026-01-05T10:00:00Z"}]}``:
    each person's events get ``userId`` = the person's key; ``type`` defaults to ``track`` (for
    ``page``/``screen`` the ``event`` is the page name); ``traits``/``properties`` pass through,
    ``context`` joins the channel. Returns each person's profile id.
    """
    from cxm.ingest import do_create_source, do_ingest_events, get_source

    with workspace.session() as session:
        try:
            src = get_source(session, source)
        except LookupError:
            src, _ = do_create_source(session, actor="test", name=source, channel="other")
    batch: list[tuple[Any, dict[str, Any]]] = []
    for person, steps in people.items():
        for i, step in enumerate(steps):
            kind = step.get("type", "track")
            payload: dict[str, Any] = {
                "type": kind,
                "userId": person,
                "timestamp": step["at"],
                "messageId": f"{person}-{i}",
                "context": {"channel": step.get("channel", "web"), **step.get("context", {})},
            }
            if kind == "track":
                payload["event"] = step["event"]
            elif kind in ("page", "screen"):
                payload["name"] = step["event"]
            for key in ("traits", "properties"):
                if key in step:
                    payload[key] = step[key]
            batch.append((f"{person}[{i}]", payload))
    report = do_ingest_events(workspace.engine, source=src, events=batch)
    assert not report.rejected, report.rejected
    workspace.catch_up()
    workspace.sync_lake()
    return {person: workspace.profile(person).id for person in people}


def all_routes(app: Any) -> list[Any]:
    """Every route of a FastAPI app, through the routers it includes (tests only)."""
    found: list[Any] = []
    stack = list(app.routes)
    while stack:
        route = stack.pop(0)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            stack.extend(inner.routes)
        else:
            found.append(route)
    return found


async def sign_in(api: Any, token: str) -> None:
    """Sign the in-process client in to the dashboard with an API token (the login form)."""
    import re

    page = await api.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "no CSRF token on the login page"
    response = await api.post("/login", data={"token": token, "csrf_token": found.group(1)})
    assert response.status_code == 303, response.text


def sign_in_browser(page: Any, url: str, token: str, target: str) -> None:
    """Open ``target`` in the browser, get sent to the login page, sign in with ``token`` and
    land back on ``target`` (tests/e2e)."""
    import re

    from playwright.sync_api import expect

    page.goto(url + target)
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=token]", token)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))


def recording_model(model: Any) -> Any:
    """``model`` (a real ``SentimentModel``), unchanged, that keeps in ``.asked`` the texts it
    was asked to read: the tests of what is analysed once, or read back instead."""
    from dataclasses import fields

    from cxm.text.sentiment import SentimentModel

    class Recording(SentimentModel):
        asked: list[list[str]]

        def predict(self, texts: Any, use_vectors: Any = None, languages: Any = None) -> Any:
            self.asked.append(list(texts))
            return super().predict(texts, use_vectors, languages)

    copy = Recording(**{f.name: getattr(model, f.name) for f in fields(model)})
    copy.asked = []
    return copy


@dataclass
class Committer:
    commits: int = 0


@contextlib.contextmanager
def worker_committing(workspace: Any) -> Iterator[Committer]:
    """A thread that commits to the workspace's store all the while (a token each time), as
    the server's worker does; ``commits`` counts its commits. On SQLite a transaction that read
    before such a commit cannot write any more, which is what the tests using it check."""
    import threading

    from cxm.auth import do_create_token

    stop = threading.Event()
    state = Committer()

    def run() -> None:
        while not stop.is_set():
            with workspace.session() as s:
                do_create_token(s, actor="test", name=f"busy-{state.commits}", scopes=["read"])
            state.commits += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join()

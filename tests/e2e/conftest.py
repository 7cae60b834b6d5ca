"""A live ``cxm serve`` over a small demo company, for the browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cxm.config import Settings
from cxm.demo import build_demo, do_issue_demo_token
from cxm.profiles import ProfileCard
from cxm.workspace import Workspace
from helpers import free_port, wait_for_http


@dataclass(frozen=True)
class LiveDemo:
    url: str
    token: str
    customer: ProfileCard  # an active customer seen in at least four channels


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    path: Path = tmp_path_factory.mktemp("demo")
    settings = Settings(workspace=path)
    with Workspace.open(settings=settings) as ws:
        ws.initialise()
        build_demo(ws, customers=150, days=90)
        token = do_issue_demo_token(ws)
        cards = ws.search("", limit=200)
    customer = max(cards, key=lambda c: (len(c.channels), c.event_count))
    assert len(customer.channels) >= 4 and customer.display_name
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cxm", "serve", "--port", str(port)],
        env={**os.environ, "CXM_WORKSPACE": str(path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/health", timeout=60)
        yield LiveDemo(url=f"http://127.0.0.1:{port}", token=token, customer=customer)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

"""A live ``cxm serve`` over a small demo company, for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cxm.config import Settings
from cxm.demo import build_demo, do_issue_demo_token
from cxm.workspace import Workspace
from helpers import LiveDemo, running_server


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
    with running_server(path) as url:
        yield LiveDemo(url=url, token=token, customer=customer)

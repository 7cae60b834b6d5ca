"""A live ``cxm serve`` over a small demo company, for the browser tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cxm.config import Settings
from cxm.demo import build_demo, do_issue_demo_token
from cxm.profiles import ProfileCard
from cxm.workspace import Workspace
from helpers import LiveDemo, running_server

# Playwright's assertions wait 5 s by default. Two test workers, each with a live server and its
# background work, share two cores in CI: a search or a page can then take longer than that,
# without anything being wrong. Assertions still fail, after 15 s.
expect.set_options(timeout=15_000)


@dataclass(frozen=True)
class DemoTemplate:
    path: Path
    token: str
    customer: ProfileCard


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> DemoTemplate:
    """The small demo company, built once per run; each module serves a copy of its own (a
    workspace is a folder that holds no absolute paths, so a copy is a workspace)."""
    path: Path = tmp_path_factory.mktemp("demo-template")
    with Workspace.open(settings=Settings(workspace=path)) as ws:
        ws.initialise()
        build_demo(ws, customers=150, days=90)
        token = do_issue_demo_token(ws)
        cards = ws.search("", limit=200)
    customer = max(cards, key=lambda c: (len(c.channels), c.event_count))
    assert len(customer.channels) >= 4 and customer.display_name
    return DemoTemplate(path=path, token=token, customer=customer)


@pytest.fixture(scope="module")
def live_demo(
    demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveDemo]:
    """A server over this module's own copy of the demo: what a module's tests change stays in
    that module."""
    path = tmp_path_factory.mktemp("demo") / "workspace"
    shutil.copytree(demo_template.path, path)
    with running_server(path) as url:
        yield LiveDemo(url=url, token=demo_template.token, customer=demo_template.customer)

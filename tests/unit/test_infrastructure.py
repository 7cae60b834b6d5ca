"""The shared test fixtures themselves work: a database on each backend, a real browser."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from helpers import free_port, wait_for_http


def test_database_url_gives_an_empty_working_database(database_url: str) -> None:
    metadata = MetaData()
    notes = Table(
        "notes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("body", String(200), nullable=False),
    )
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            assert conn.dialect.name == database_url.split(":")[0].split("+")[0]
            metadata.create_all(conn)
            conn.execute(insert(notes), [{"body": "zażółć gęślą jaźń"}, {"body": "second"}])
        with engine.connect() as conn:
            rows = conn.execute(select(notes.c.body).order_by(notes.c.id)).scalars().all()
        assert rows == ["zażółć gęślą jaźń", "second"]
    finally:
        engine.dispose()


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server over a tiny page, so the browser test needs no network."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><title>cxm</title><h1 id='greeting'>Hello from cxm</h1>"
        "<script>document.getElementById('greeting').dataset.ready = 'yes';</script>",
        encoding="utf-8",
    )

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), partial(QuietHandler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, timeout=5)
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_page_renders_a_local_page_with_javascript(page: Page, static_site: str) -> None:
    page.goto(static_site)
    greeting = page.locator("#greeting")
    assert greeting.text_content() == "Hello from cxm"
    assert greeting.get_attribute("data-ready") == "yes"
    assert page.title() == "cxm"


def test_page_renders_a_data_url(page: Page) -> None:
    page.goto("data:text/html,<p id='x'>inline</p>")
    assert page.locator("#x").inner_text() == "inline"

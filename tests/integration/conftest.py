"""Fixtures for integration tests: a migrated workspace per backend and the in-process API."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cxm.api import create_app
from cxm.cli.app import app as cli
from cxm.config import Settings
from cxm.ingest import do_create_source
from cxm.workspace import Workspace

SOURCES = {
    "website": "web",
    "call-centre": "phone",
    "branches": "branch",
    "email-support": "email",
    "ivr": "ivr",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(workspace=tmp_path / "ws", database_url=database_url)


@pytest.fixture
def workspace(settings: Settings) -> Iterator[Workspace]:
    ws = Workspace.open(settings=settings)
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def cxm(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``cxm ARGS`` on the test's workspace (wide output); returns the click result."""
    monkeypatch.setenv("CXM_WORKSPACE", str(workspace.path))
    monkeypatch.setenv("CXM_DATABASE_URL", workspace.settings.resolved_database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), env={"COLUMNS": "250"})


@pytest.fixture
def admin_token(workspace: Workspace) -> str:
    token = workspace.initialise()
    assert token is not None
    return token


@pytest.fixture
def write_keys(workspace: Workspace) -> dict[str, str]:
    """A write key per source name in SOURCES."""
    keys = {}
    with workspace.session() as session:
        for name, channel in SOURCES.items():
            _, keys[name] = do_create_source(session, actor="test", name=name, channel=channel)
    return keys


@pytest.fixture
async def api(workspace: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    """The real application in-process, with its lifespan (the group-commit writer) running."""
    app = create_app(workspace)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://cxm.test"
        ) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local Spark for the whole run (starting the JVM costs seconds)."""
    from pyspark.sql import SparkSession

    # Ibis reads JSON on Spark with Python UDFs: the workers need this interpreter's packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("cxm-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()

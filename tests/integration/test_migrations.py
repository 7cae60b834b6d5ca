"""The Alembic migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from cxm.store.migrate import head_revision, store_revision
from cxm.store.registry import metadata
from cxm.workspace import Workspace


def test_migrated_store_matches_the_declared_tables(workspace: Workspace) -> None:
    assert store_revision(workspace.engine) == head_revision(workspace.engine)
    with workspace.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    tables = set(inspect(workspace.engine).get_table_names())
    assert {"events", "sources", "profiles", "identifiers", "merges"} <= tables


def test_migrating_twice_changes_nothing(workspace: Workspace) -> None:
    workspace.migrate()
    workspace.migrate()
    assert store_revision(workspace.engine) == head_revision(workspace.engine)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_store_runs_in_wal_mode(workspace: Workspace) -> None:
    with workspace.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL

"""Engine and session factory for the store (SQLite in WAL mode, or PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # not POSIX: SQLite's own busy waiting is all there is
    fcntl = None

# SQLite answers "database is locked" after this long instead of failing at once when another
# process (the projector, an importer) holds the write lock.
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Work that will write (the worker's case builder and automation, an action's writes)
# begins its SQLite transactions IMMEDIATE: it waits for the write lock up front (the busy
# timeout applies) instead of reading a snapshot first and failing with "database is locked"
# when another writer committed before it could upgrade (SQLite cannot wait in that case).
# Two ways to ask: ``write_intent()`` for every transaction begun in this context, or an engine
# from ``write_intent_engine()`` for the transactions of the sessions bound to it alone.
WRITE_INTENT: ContextVar[bool] = ContextVar("cxm_write_intent", default=False)
WRITE_INTENT_OPTION = "cxm_write_intent"

# One application-wide advisory lock id: writers of the event log take it so that sequence
# numbers become visible in commit order on PostgreSQL (readers sync "everything after N").
EVENT_LOG_LOCK_ID = 0x63786D01


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", echo: bool = False) -> Engine:
    """Create the store engine. SQLite gets WAL, a busy timeout and explicit transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    # Sessions run in UTC so that date functions (e.g. daily counts) agree with SQLite's.
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"options": "-c timezone=UTC"},
    )


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    level = synchronous.upper()
    if level not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(
            f"CXM_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not {level!r}"
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin (pysqlite's implicit
        # BEGIN is emitted lazily and breaks SAVEPOINT and lock ordering).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={level}")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten, not left in free pages (erasure must reach the file).
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Also fires for connections of engines made by ``write_intent_engine`` (they share
        # this engine's events and pool), which carry the option.
        intent = WRITE_INTENT.get() or conn.get_execution_options().get(WRITE_INTENT_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if intent else "BEGIN")


@contextmanager
def write_intent() -> Iterator[None]:
    """Within this block, SQLite transactions take the write lock when they begin."""
    token = WRITE_INTENT.set(True)
    try:
        yield
    finally:
        WRITE_INTENT.reset(token)


def write_intent_engine(engine: Engine) -> Engine:
    """``engine`` whose SQLite transactions take the write lock when they begin.

    The same pool and events as ``engine``; only what runs through this one (a session bound
    to it) waits for the lock up front, while other sessions of the same thread read as usual.
    That is narrower than ``write_intent()``, which reaches every transaction begun in its
    context. Either way, a second transaction that writes while one with the lock is still open
    waits for that lock (the busy timeout) and then fails: commit the first before writing
    elsewhere. PostgreSQL ignores the option.
    """
    return engine.execution_options(**{WRITE_INTENT_OPTION: True})


@contextmanager
def write_turn(engine: Engine) -> Iterator[None]:
    """Take turns with other processes before a bulk write transaction on SQLite.

    SQLite has one write lock, and a writer that finds it taken polls for it with growing
    sleeps (up to 100 ms each), so an ingestion commit waiting behind the profile projector
    could stall for far longer than the projector held the lock. An OS file lock wakes the
    next writer the moment the lock is released. Bulk writers (group commit, importers,
    projector) take it; PostgreSQL needs nothing of the kind.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or fcntl is None or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.write-turn", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def lock_event_log(conn: Connection) -> None:
    """Serialise writers of the event log for the rest of this transaction.

    On SQLite the database write lock already does this; a no-op there.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_LOG_LOCK_ID})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

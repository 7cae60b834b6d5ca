"""High-water marks of derived views over the event log (text enrichment, cases …).

A mark is a row of ``cursors``: how far a derived view has read. ``read_mark(lock=True)``
takes the row for the rest of the transaction (SQLite's write lock, PostgreSQL's row lock),
so two runs of one view never work on the same events at once.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxm.store.metadata import utcnow
from cxm.store.tables import cursors


def read_mark(db: Session | Connection, name: str, *, lock: bool = False) -> int:
    """The mark called ``name`` (0 when there is none yet)."""
    conn = db.connection() if isinstance(db, Session) else db
    if lock:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # Writing first takes SQLite's write lock before the mark is read.
        conn.execute(
            dialect.insert(cursors)
            .values(name=name, position=0, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        query = select(cursors.c.position).where(cursors.c.name == name).with_for_update()
    else:
        query = select(cursors.c.position).where(cursors.c.name == name)
    return int(conn.execute(query).scalar() or 0)


def write_mark(db: Session | Connection, name: str, position: int) -> None:
    conn = db.connection() if isinstance(db, Session) else db
    read_mark(conn, name, lock=True)
    conn.execute(
        update(cursors).where(cursors.c.name == name).values(position=position, updated_at=utcnow())
    )

"""The group-commit writer: one refused request does not fail the others in its group."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from cxm.errors import StoreUnavailable
from cxm.ingest.tables import events
from cxm.ingest.writer import GroupCommitWriter
from cxm.store.metadata import utcnow
from cxm.workspace import Workspace

pytestmark = pytest.mark.anyio

# A store-level refusal that validation cannot foresee (here a trigger; in life a constraint
# added by an operator, a full disk for one tablespace, …).
REFUSE_SQLITE = """
CREATE TRIGGER refuse_poison BEFORE INSERT ON events WHEN NEW.message_id = 'poison'
BEGIN SELECT RAISE(ABORT, 'poison refused'); END
"""
REFUSE_POSTGRESQL = [
    """CREATE FUNCTION refuse_poison() RETURNS trigger AS $$
    BEGIN
      IF NEW.message_id = 'poison' THEN RAISE EXCEPTION 'poison refused'; END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER refuse_poison BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_poison()""",
]


def rows(source_id: int, *ids: str) -> list[dict[str, object]]:
    now = utcnow()
    return [
        {
            "source_id": source_id,
            "message_id": m,
            "type": "track",
            "event": "E",
            "user_id": "u",
            "anonymous_id": None,
            "channel": "web",
            "timestamp": now,
            "received_at": now,
            "payload": "{}",
        }
        for m in ids
    ]


async def test_a_refused_request_fails_alone(
    workspace: Workspace, write_keys: dict[str, str]
) -> None:
    with workspace.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for statement in REFUSE_POSTGRESQL:
                conn.exec_driver_sql(statement)
        else:
            conn.exec_driver_sql(REFUSE_SQLITE)
    writer = GroupCommitWriter(
        workspace.engine, max_pending_events=100, max_group_events=100, threads=1
    )
    # Queue three requests before the writer starts, so that they form one group.
    requests = [
        asyncio.ensure_future(writer.write(rows(1, "a1", "a2"))),
        asyncio.ensure_future(writer.write(rows(1, "b1", "poison"))),
        asyncio.ensure_future(writer.write(rows(1, "c1"))),
    ]
    await asyncio.sleep(0)
    writer.start()
    try:
        outcomes = await asyncio.gather(*requests, return_exceptions=True)
    finally:
        writer.stop()
    assert outcomes[0] == 2 and outcomes[2] == 1
    assert isinstance(outcomes[1], StoreUnavailable)
    with workspace.session() as session:
        stored = set(session.execute(select(events.c.message_id)).scalars())
    assert stored == {"a1", "a2", "c1"}  # nothing of the refused request, all of the others
    assert writer.pending_events == 0
    assert writer.commits == 1  # the three arrived as one group

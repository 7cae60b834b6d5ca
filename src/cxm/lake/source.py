"""Reading the store for the lake: events with their customer, in Arrow batches.

Queries are built with SQLAlchemy. On PostgreSQL they run through the ADBC driver (binary COPY
straight into Arrow columns, no Python object per value); on SQLite through the standard
driver's raw cursor, turned into Arrow column by column. (The ADBC SQLite driver was tried and
dropped: it kept reading an old snapshot of a database another connection writes in WAL mode.)
Timestamps travel as integer epoch microseconds (PostgreSQL) or SQLite's fixed ISO text parsed
by Arrow in bulk, never as Python datetimes, which would cost more than the rest of the sync.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Select,
    String,
    cast,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from cxm.cases.tables import data_requests
from cxm.identity.tables import profiles
from cxm.ingest.tables import events
from cxm.lake.layout import EVENTS_SCHEMA, KNOWN_ASKS_SCHEMA, TRAITS_SCHEMA
from cxm.profiles.projector import CURSOR as PROJECTOR_CURSOR
from cxm.profiles.tables import profile_changes, profile_events, trait_observations
from cxm.store.tables import cursors

BATCH = 100_000
# Analytics segment customers by traits such as plan or city; the lake never holds the traits
# that identify or contact a person (they stay in the store, where access is controlled).
PERSONAL_TRAITS = (
    "name", "firstName", "lastName", "first_name", "last_name", "email", "phone", "mobile",
    "address", "street", "postalCode", "postal_code", "birthday", "birth_date", "username",
    "avatar", "ssn", "pesel", "passport", "iban",
)  # fmt: skip
IN_CHUNK = 500


def projected_seq(conn: Connection) -> int:
    """Events up to this seq have been placed on profiles (the projector's cursor)."""
    position = conn.execute(
        select(cursors.c.position).where(cursors.c.name == PROJECTOR_CURSOR)
    ).scalar()
    return int(position or 0)


def last_change_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(profile_changes.c.id))).scalar() or 0)


def changed_profiles(conn: Connection, after: int, upto: int) -> set[str]:
    return set(
        conn.execute(
            select(profile_changes.c.profile_id).where(
                profile_changes.c.id > after, profile_changes.c.id <= upto
            )
        ).scalars()
    )


def _micros(conn: Connection) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", events.c.timestamp) * 1_000_000), BigInteger)
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" in UTC: Arrow parses the text in bulk (faster
    # than strftime() per row; julianday() would round the microseconds through a float).
    return type_coerce(events.c.timestamp, String)


def _properties(conn: Connection) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return cast(cast(events.c.payload, JSONB)["properties"], String)
    # The -> operator (SQLite 3.38+) returns the same JSON text as json_extract(), in half the time.
    return type_coerce(events.c.payload.op("->")("$.properties"), String)


def _events_select(conn: Connection) -> Select[Any]:
    return select(
        events.c.seq,
        profile_events.c.profile_id.label("customer_id"),
        _micros(conn).label("t"),
        events.c.type,
        events.c.event,
        events.c.channel,
        events.c.source_id,
        _properties(conn).label("properties"),
    ).join(profile_events, profile_events.c.seq == events.c.seq)


class ArrowReader:
    """A connection to the store's database for bulk reads into Arrow."""

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect
        url = engine.url
        self._adbc = url.get_backend_name() == "postgresql"
        if self._adbc:
            import adbc_driver_postgresql.dbapi as pg

            uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._conn: Any = pg.connect(uri)
        else:
            self._conn = engine.raw_connection()

    def fetch(self, stmt: Select[Any]) -> pa.Table:
        # Values are bound as literals by SQLAlchemy's compiler (ints and ids from the store),
        # since the ADBC driver's parameter style differs from the SQLAlchemy dialect's.
        sql = str(stmt.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))
        with contextlib.closing(self._conn.cursor()) as cur:
            cur.execute(sql)
            if self._adbc:
                return cur.fetch_arrow_table()
            rows = cur.fetchall()
            names = [d[0] for d in cur.description]
        if not rows:
            return pa.table({name: pa.array([], pa.null()) for name in names})
        columns = zip(*rows, strict=True)
        return pa.table(
            {name: pa.array(values) for name, values in zip(names, columns, strict=True)}
        )

    def close(self) -> None:
        if not self._adbc:
            self._conn.rollback()  # end the read transaction before the pool takes it back
        self._conn.close()


def _to_events(raw: pa.Table) -> pa.Table:
    when = raw["t"]
    if pa.types.is_integer(when.type) or pa.types.is_null(when.type):
        t = pc.cast(when, pa.int64())
    else:
        t = pc.cast(pc.cast(when, pa.timestamp("us")), pa.int64())
    return pa.table(
        {
            "seq": pc.cast(raw["seq"], pa.int64()),
            "customer_id": pc.cast(raw["customer_id"], pa.string()),
            "ts": pc.cast(t, pa.timestamp("us", tz="UTC")),
            "t": t,
            "type": pc.cast(raw["type"], pa.string()),
            "event": pc.cast(raw["event"], pa.string()),
            "channel": pc.cast(raw["channel"], pa.string()),
            "source_id": pc.cast(raw["source_id"], pa.int32()),
            "properties": pc.cast(raw["properties"], pa.string()),
        },
        schema=EVENTS_SCHEMA,
    )


def read_events(engine: Engine, *, after: int, upto: int) -> Iterator[pa.Table]:
    """Placed events with ``after < seq <= upto``, in batches of consecutive seq ranges.

    The next batch is read on another thread while the caller handles this one (the database
    driver works without Python's lock for part of each read).
    """
    done = object()
    batches: queue.Queue[Any] = queue.Queue(maxsize=2)

    def produce() -> None:
        try:
            with engine.connect() as conn, contextlib.closing(ArrowReader(engine)) as reader:
                start = after
                while start < upto:
                    end = min(start + BATCH, upto)
                    stmt = _events_select(conn).where(events.c.seq > start, events.c.seq <= end)
                    batches.put(_to_events(reader.fetch(stmt)))
                    start = end
            batches.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            batches.put(exc)

    worker = threading.Thread(target=produce, name="cxm-lake-read", daemon=True)
    worker.start()
    try:
        while (item := batches.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        while worker.is_alive():  # the consumer stopped early: let the producer finish
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.1)
        worker.join()


def read_customers_events(
    conn: Connection, reader: ArrowReader, customer_ids: set[str], *, upto: int
) -> pa.Table:
    """Every placed event (seq <= ``upto``) now on one of these profiles."""
    ids = sorted(customer_ids)
    parts = [EVENTS_SCHEMA.empty_table()]
    for i in range(0, len(ids), IN_CHUNK):
        stmt = _events_select(conn).where(
            profile_events.c.profile_id.in_(ids[i : i + IN_CHUNK]), events.c.seq <= upto
        )
        parts.append(_to_events(reader.fetch(stmt)))
    return pa.concat_tables(parts)


def traits_mark(conn: Connection) -> str:
    """Changes whenever the current traits of any profile may have changed."""
    last = conn.execute(select(func.max(trait_observations.c.id))).scalar() or 0
    return f"{last}:{last_change_id(conn)}"


def known_asks_mark(conn: Connection) -> str:
    """Changes whenever a request for data is added or a case's replay re-judged one."""
    d = data_requests.c
    row = conn.execute(
        select(func.count(), func.max(d.id), func.count().filter(d.repeated_fields != "[]"))
    ).one()
    return f"{row[0]}:{row[1] or 0}:{row[2]}"


def read_known_asks(reader: ArrowReader) -> pa.Table:
    """The seqs of the requests for data that asked for something the profile already held."""
    raw = reader.fetch(select(data_requests.c.seq).where(data_requests.c.repeated_fields != "[]"))
    return pa.table({"seq": pc.cast(raw["seq"], pa.int64())}, schema=KNOWN_ASKS_SCHEMA)


def read_traits(reader: ArrowReader) -> pa.Table:
    """Each live profile's latest value of every non-personal trait, as text (JSON if not text)."""
    latest = (
        select(func.max(trait_observations.c.id).label("id"))
        .group_by(trait_observations.c.profile_id, trait_observations.c.key)
        .subquery()
    )
    stmt = (
        select(
            trait_observations.c.profile_id, trait_observations.c.key, trait_observations.c.value
        )
        .join(latest, latest.c.id == trait_observations.c.id)
        .join(profiles, profiles.c.id == trait_observations.c.profile_id)
        .where(profiles.c.merged_into.is_(None), trait_observations.c.key.not_in(PERSONAL_TRAITS))
    )
    raw = reader.fetch(stmt)
    # Values are stored as JSON; strings lose their quotes so a breakdown reads Fibre 600, not
    # "Fibre 600" (strings with escapes keep their JSON form).
    value = pc.cast(raw["value"], pa.string())
    plain = pc.and_(
        pc.match_substring_regex(value, r'^"[^"\\\\]*"$'),
        pc.greater_equal(pc.utf8_length(value), 2),
    )
    unquoted = pc.utf8_slice_codeunits(value, 1, -1)
    value = pc.if_else(plain, unquoted, value)
    value = pc.if_else(pc.equal(value, "null"), pa.scalar(None, pa.string()), value)
    return pa.table(
        {
            "customer_id": pc.cast(raw["profile_id"], pa.string()),
            "key": pc.cast(raw["key"], pa.string()),
            "value": value,
        },
        schema=TRAITS_SCHEMA,
    )

#!/usr/bin/env python
"""Journey analytics over 10,000,000 events of 1,000,000 customers: cxm's lake against SQL.

The data set (``bench/journeys_data.py``) is a Polish telecom's 90 days: site and app traffic,
plan shopping, billing and connection trouble. It is generated once and cached as Parquet under
``--data-dir``. The figure that matters is a 3-step funnel (``Plan Viewed`` on web or app →
``Checkout Started`` → ``Order Completed``, strictly in that order, the last step within 7 days
of the first), answered by

- cxm: the lake (``cxm.lake``) and the funnel runner on DuckDB, warm, median of 5 runs;
- PostgreSQL and SQLite: the straightforward SQL an analyst writes (for each first step the next
  second step, then the next third step, by correlated subqueries over an index on
  (customer_id, t)), one cold and one warm run, the warm one reported;
- DuckDB over the Parquet file: the best hand-written SQL (one window pass), as a reference.

Every engine must give the same answer. At start-up (``--check``) all of them are compared with
a brute-force reference on a small sample plus hand-made edge cases. Also timed: the top paths
after ``Payment Failed``, the touchpoint scorecard, and the lake's sync from a cxm store of
2,000,000 events. Figures end the output as ``BENCH journeys.<name>=<value>`` lines.

    .venv/bin/python bench/journeys.py                                     # 10M events
    .venv/bin/python bench/journeys.py --events 1000000 --customers 100000
    .venv/bin/python bench/journeys.py --skip-sqlite --postgres-url postgresql://postgres@/bench
"""

from __future__ import annotations

import argparse
import io
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
import journeys_data as data  # noqa: E402
from journeys_data import FUNNEL_STEPS, WINDOW_DAYS, WINDOW_US, FunnelResult  # noqa: E402

TABLE = "bench_journey_events"
META_TABLE = "bench_journey_meta"
CHECK_EVENTS = 50_000
CHECK_CUSTOMERS = 5_000
SYNC_EVENTS = 2_000_000
TARGET_FUNNEL_S = 0.3
TARGET_SPEEDUP = 15
TARGET_SYNC_EVENTS_PER_S = 200_000


def _predicate(step: int, alias: str = "") -> str:
    name, channels = FUNNEL_STEPS[step]
    sql = f"{alias}event = '{name}'"
    if channels:
        sql += f" AND {alias}channel IN ({', '.join(repr(c) for c in channels)})"
    return sql


def naive_funnel_sql(table: str) -> str:
    """For each first-step event the earliest second step after it (within the window), then
    the earliest third step after that: for a fixed start that chain is the shortest, so the
    best over all starts gives each customer's level and time to convert."""
    return f"""
WITH starts AS (
    SELECT customer_id, t AS t1 FROM {table} WHERE {_predicate(0)}
),
reached2 AS (
    SELECT customer_id, t1, (
        SELECT MIN(e.t) FROM {table} e
        WHERE e.customer_id = starts.customer_id AND {_predicate(1, "e.")}
          AND e.t > starts.t1 AND e.t <= starts.t1 + {WINDOW_US}
    ) AS t2
    FROM starts
),
reached3 AS (
    SELECT customer_id, t1, t2, (
        SELECT MIN(e.t) FROM {table} e
        WHERE e.customer_id = reached2.customer_id AND {_predicate(2, "e.")}
          AND e.t > reached2.t2 AND e.t <= reached2.t1 + {WINDOW_US}
    ) AS t3
    FROM reached2
),
per_customer AS (
    SELECT customer_id, MIN(t2 - t1) AS d2, MIN(t3 - t1) AS d3
    FROM reached3 GROUP BY customer_id
)
SELECT COUNT(*), COUNT(d2), COUNT(d3), AVG(d2) / 1e6, AVG(d3) / 1e6 FROM per_customer
"""


def duckdb_funnel_sql(source: str) -> str:
    """One window pass over the funnel's events: for each second-step event the latest first
    step strictly before it and the earliest third step strictly after it (RANGE frames on the
    integer ``t``, so ties never chain); the best second-step event per customer decides."""
    return f"""
WITH steps AS (
    SELECT customer_id, t,
        CASE WHEN {_predicate(0)} THEN 1 WHEN {_predicate(1)} THEN 2 ELSE 3 END AS step
    FROM {source}
    WHERE ({_predicate(0)}) OR ({_predicate(1)}) OR ({_predicate(2)})
),
around AS (
    SELECT customer_id, step, t,
        MAX(CASE WHEN step = 1 THEN t END) OVER (
            PARTITION BY customer_id ORDER BY t
            RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS t1,
        MIN(CASE WHEN step = 3 THEN t END) OVER (
            PARTITION BY customer_id ORDER BY t
            RANGE BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS t3
    FROM steps
),
per_customer AS (
    SELECT customer_id,
        BOOL_OR(step = 1) AS started,
        MIN(CASE WHEN step = 2 AND t - t1 <= {WINDOW_US} THEN t - t1 END) AS d2,
        MIN(CASE WHEN step = 2 AND t3 - t1 <= {WINDOW_US} THEN t3 - t1 END) AS d3
    FROM around GROUP BY customer_id
)
SELECT COUNT(*) FILTER (WHERE started), COUNT(d2), COUNT(d3), AVG(d2) / 1e6, AVG(d3) / 1e6
FROM per_customer
"""


def _result(row: tuple[Any, ...]) -> FunnelResult:
    return FunnelResult(
        customers=tuple(int(x) for x in row[:3]),
        mean_seconds=tuple(None if x is None else float(x) for x in row[3:]),
    )


def timed(fn: Callable[[], Any], *, runs: int, warmup: int) -> tuple[float, Any]:
    """Median seconds of ``runs`` calls after ``warmup`` calls, and the last answer."""
    answer = None
    for _ in range(warmup):
        answer = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), answer


def cold_then_warm(name: str, fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = fn()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    answer = fn()
    warm = time.perf_counter() - started
    print(f"{name}: cold {cold:.2f} s, warm {warm:.2f} s → {answer}")
    return warm, answer


# --- PostgreSQL ------------------------------------------------------------------------------


def load_postgres(conn: Any, table: pa.Table, *, name: str, marker: str) -> bool:
    """(Re)load ``name`` unless it already holds this data set; True when it loaded."""
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (name text PRIMARY KEY, marker text)")
        cur.execute(f"SELECT marker FROM {META_TABLE} WHERE name = %s", (name,))
        found = cur.fetchone()
        cur.execute("SELECT to_regclass(%s)", (name,))
        if found and found[0] == marker and cur.fetchone()[0] is not None:
            cur.execute(f"SELECT count(*) FROM {name}")
            if cur.fetchone()[0] == table.num_rows:
                conn.commit()
                return False
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        # Unlogged only to load faster; queries read it like any table.
        cur.execute(
            f"""CREATE UNLOGGED TABLE {name} (
                seq bigint NOT NULL, customer_id text NOT NULL, ts timestamptz NOT NULL,
                t bigint NOT NULL, type text NOT NULL, event text, channel text NOT NULL,
                source_id integer, properties text)"""
        )
        columns = ", ".join(table.column_names)
        options = pa_csv.WriteOptions(include_header=False)
        with cur.copy(f"COPY {name} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
            for batch in table.to_batches(max_chunksize=500_000):
                buffer = io.BytesIO()
                pa_csv.write_csv(batch, buffer, options)
                copy.write(buffer.getvalue())
        cur.execute(f"CREATE INDEX {name}_customer_t ON {name} (customer_id, t)")
        cur.execute(
            f"INSERT INTO {META_TABLE} VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET marker = excluded.marker",
            (name, marker),
        )
    conn.commit()
    conn.autocommit = True
    conn.execute(f"VACUUM ANALYZE {name}")
    conn.autocommit = False
    return True


def postgres_funnel(conn: Any, name: str) -> FunnelResult:
    with conn.cursor() as cur:
        cur.execute(naive_funnel_sql(name))
        answer = _result(cur.fetchone())
    conn.rollback()
    return answer


# --- SQLite ----------------------------------------------------------------------------------


def load_sqlite(path: Path, table: pa.Table) -> bool:
    """The SQLite copy of the data set at ``path``, built unless it exists; True when built."""
    if path.exists():
        return False
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    fill_sqlite(db, table)
    db.close()
    partial.rename(path)
    return True


def fill_sqlite(db: sqlite3.Connection, table: pa.Table) -> None:
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute(
        f"""CREATE TABLE {TABLE} (
            seq INTEGER NOT NULL, customer_id TEXT NOT NULL, ts TEXT NOT NULL, t INTEGER NOT NULL,
            type TEXT NOT NULL, event TEXT, channel TEXT NOT NULL, source_id INTEGER,
            properties TEXT)"""
    )
    insert = f"INSERT INTO {TABLE} VALUES ({', '.join('?' * 9)})"
    for batch in table.to_batches(max_chunksize=250_000):
        columns = [batch.column(i) for i in range(batch.num_columns)]
        columns[2] = columns[2].cast(pa.string())
        with db:
            db.executemany(insert, zip(*(c.to_pylist() for c in columns), strict=True))
    db.execute(f"CREATE INDEX {TABLE}_customer_t ON {TABLE} (customer_id, t)")
    db.execute("ANALYZE")
    db.commit()


def sqlite_funnel(db: sqlite3.Connection) -> FunnelResult:
    return _result(db.execute(naive_funnel_sql(TABLE)).fetchone())


# --- DuckDB, hand-written ------------------------------------------------------------------


def duckdb_funnel(db: duckdb.DuckDBPyConnection, source: str) -> FunnelResult:
    row = db.execute(duckdb_funnel_sql(source)).fetchone()
    assert row is not None
    return _result(row)


# --- cxm (the lake and the journey runners) ------------------------------------------------

JOURNEY_MAP = """\
journey: Telecom customer journey (bench)
departments:
  sales: {name: Sales, lead: Ewa Nowak}
  digital: {name: Digital, lead: Piotr Wójcik}
  billing: {name: Billing, lead: Anna Kowalska}
  care: {name: Customer care, lead: Tomasz Lewandowski}
  field: {name: Field service, lead: Marek Kamiński}
stages:
  - {id: consider, name: Consider}
  - {id: buy, name: Buy}
  - {id: pay, name: Pay}
  - {id: support, name: Get help}
touchpoints:
  - id: plan-viewed
    name: Plan viewed
    stage: consider
    match: {type: track, event: [Plan Viewed], channel: [web, app]}
    owner: digital
    influence: {digital: 1.0, sales: 0.6}
  - id: checkout-started
    name: Checkout started
    stage: buy
    match: {type: track, event: [Checkout Started]}
    owner: digital
    influence: {digital: 1.0, sales: 0.8}
  - id: order-completed
    name: Order completed
    stage: buy
    match: {type: track, event: [Order Completed]}
    owner: sales
    influence: {sales: 1.0, digital: 0.5}
  - id: payment-failed
    name: Payment failed
    stage: pay
    match: {type: track, event: [Payment Failed]}
    owner: billing
    influence: {billing: 1.0}
  - id: invoice-paid
    name: Invoice paid
    stage: pay
    match: {type: track, event: [Invoice Paid]}
    owner: billing
    influence: {billing: 1.0}
  - id: ivr-call
    name: IVR call
    stage: support
    match: {type: track, event: [IVR Call], channel: [ivr]}
    owner: care
    influence: {care: 1.0}
  - id: call-started
    name: Call with an agent
    stage: support
    match: {type: track, event: [Call Started], channel: [phone]}
    owner: care
    influence: {care: 1.0, billing: 0.5}
  - id: chat-started
    name: Chat with an agent
    stage: support
    match: {type: track, event: [Chat Started], channel: [chat]}
    owner: care
    influence: {care: 1.0}
  - id: connection-issue
    name: Connection issue reported
    stage: support
    match: {type: track, event: [Connection Issue Reported]}
    owner: care
    influence: {care: 1.0, field: 0.3}
  - id: ticket-opened
    name: Ticket opened
    stage: support
    match: {type: track, event: [Ticket Opened]}
    owner: care
    influence: {care: 1.0}
  - id: technician-visit
    name: Technician visit
    stage: support
    match: {type: track, event: [Technician Visit], channel: [field_service]}
    owner: field
    influence: {field: 1.0, care: 0.8}
  - id: ticket-closed
    name: Ticket closed
    stage: support
    match: {type: track, event: [Ticket Closed]}
    owner: care
    influence: {care: 1.0, field: 0.8}
  - id: survey-completed
    name: Survey completed
    stage: support
    match: {type: track, event: [Survey Completed], channel: [survey]}
    owner: care
    influence: {care: 1.0}
"""
FUNNEL_TOUCHPOINTS = ["plan-viewed", "checkout-started", "order-completed"]


def cxm_build_lake(root: Path, table: pa.Table, *, marker: str) -> Any:
    """The lake at ``root`` holding this data set, written and compacted unless already so."""
    from cxm.lake import Lake

    marker_file = root / "bench-data-set.txt"
    if marker_file.exists() and marker_file.read_text() == marker:
        return Lake(root)
    shutil.rmtree(root, ignore_errors=True)
    lake = Lake(root)
    started = time.perf_counter()
    lake.write_events(table)
    written = time.perf_counter() - started
    lake.compact()
    print(
        f"lake: {table.num_rows:,} events written in {written:.1f} s, compacted in "
        f"{time.perf_counter() - started - written:.1f} s"
    )
    marker_file.write_text(marker)
    return lake


class CxmJourneys:
    """cxm's query runners over one lake, as the API and the notebook call them."""

    def __init__(self, lake: Any) -> None:
        from cxm.analytics import DuckDBEngine
        from cxm.journeys.map import parse_journey_map

        self.engine = DuckDBEngine(lake)
        self.journey_map = parse_journey_map(JOURNEY_MAP, filename="bench-journey.yaml")

    def funnel(self) -> FunnelResult:
        from cxm.journeys.analytics import FunnelQuery, run_funnel

        frame = run_funnel(
            self.engine,
            self.journey_map,
            FunnelQuery(steps=FUNNEL_TOUCHPOINTS, window_days=WINDOW_DAYS),
        )
        means = frame["mean_seconds_to_convert"].tolist()[1:]
        return FunnelResult(
            customers=tuple(int(x) for x in frame["customers"]),
            mean_seconds=tuple(None if m is None or m != m else float(m) for m in means),
        )

    def paths(self) -> Any:
        from cxm.journeys.analytics import PathQuery, run_paths

        return run_paths(
            self.engine, self.journey_map, PathQuery(touchpoint="payment-failed", depth=3, top=10)
        )

    def scorecard(self) -> Any:
        from cxm.journeys.analytics import ScorecardQuery, run_scorecard

        return run_scorecard(self.engine, self.journey_map, ScorecardQuery())


def build_sync_store(path: Path, table: pa.Table) -> None:
    """A cxm workspace whose store holds ``table``'s events, all placed on their profiles.

    Rows go straight into ``events`` and ``profile_events`` (timestamps in the text form the
    store's SQLite type writes), and the projector's cursor is moved past them.
    """
    from sqlalchemy import insert

    import cxm
    from cxm.ingest.tables import sources
    from cxm.profiles.projector import CURSOR
    from cxm.store.metadata import utcnow
    from cxm.store.tables import cursors

    ws = cxm.open(path)
    by_channel = pa.table({"channel": table.column("channel"), "id": table.column("source_id")})
    ids = {
        row["channel"]: row["id_min"]
        for row in by_channel.group_by("channel").aggregate([("id", "min")]).to_pylist()
    }
    with ws.engine.begin() as conn:
        conn.execute(
            insert(sources),
            [
                {
                    "id": ids[c],
                    "name": f"bench-{c}",
                    "channel": c,
                    "write_key_hash": f"bench-{c}".ljust(64, "0"),
                    "write_key_prefix": f"wk_{ids[c]}",
                    "created_at": utcnow(),
                    "disabled": False,
                }
                for c in ids
            ],
        )
    stamp = pc.strftime(table.column("ts").cast(pa.timestamp("us")), "%Y-%m-%d %H:%M:%S")
    seq_text = pc.cast(table.column("seq"), pa.string())
    message_id = pc.binary_join_element_wise("m", seq_text, "")
    iso = pc.strftime(table.column("ts").cast(pa.timestamp("us")), "%Y-%m-%dT%H:%M:%SZ")
    payload = pc.binary_join_element_wise(
        '{"type":"', table.column("type"), '","event":"', table.column("event"),
        '","messageId":"', message_id, '","timestamp":"', iso, '","properties":',
        table.column("properties"), "}", "",
    )  # fmt: skip
    event_rows = pa.table(
        {
            "seq": table.column("seq"),
            "source_id": table.column("source_id"),
            "message_id": message_id,
            "type": table.column("type"),
            "event": table.column("event"),
            "user_id": table.column("customer_id"),
            "channel": table.column("channel"),
            "timestamp": stamp,
            "received_at": stamp,
            "payload": payload,
        }
    )
    placed = pa.table(
        {
            "seq": table.column("seq"),
            "profile_id": table.column("customer_id"),
            "at": stamp,
            "channel": table.column("channel"),
        }
    )
    with ws.engine.begin() as conn:
        for name, rows in (("events", event_rows), ("profile_events", placed)):
            sql = (
                f"INSERT INTO {name} ({', '.join(rows.column_names)}) "
                f"VALUES ({', '.join('?' * rows.num_columns)})"
            )
            for batch in rows.to_batches(max_chunksize=200_000):
                values = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                conn.exec_driver_sql(sql, list(zip(*values, strict=True)))
        conn.execute(
            insert(cursors).values(
                name=CURSOR, position=int(pc.max(table.column("seq")).as_py()), updated_at=utcnow()
            )
        )
    ws.close()


def cxm_sync_events_per_s(data_dir: Path, table: pa.Table, *, marker: str) -> float:
    """Events per second of ``Lake.sync`` from a fresh copy of a store of ``table``'s events."""
    import cxm
    from cxm.lake import Lake

    cached = data_dir / f"sync-store-{marker}"
    marker_file = cached / "bench-data-set.txt"
    if not (marker_file.exists() and marker_file.read_text() == marker):
        shutil.rmtree(cached, ignore_errors=True)
        started = time.perf_counter()
        build_sync_store(cached, table)
        marker_file.write_text(marker)
        print(f"sync store: {table.num_rows:,} events in {time.perf_counter() - started:.0f} s")
    with tempfile.TemporaryDirectory(prefix="cxm-bench-sync-", dir=data_dir) as scratch:
        ws_path = Path(scratch) / "ws"
        shutil.copytree(cached, ws_path)
        ws = cxm.open(ws_path)
        lake = Lake(ws_path / "lake")
        started = time.perf_counter()
        report = lake.sync(ws.engine)
        seconds = time.perf_counter() - started
        ws.close()
    print(f"lake sync: {report.events:,} of {table.num_rows:,} events in {seconds:.2f} s")
    if report.events != table.num_rows:
        print("lake sync: not every event was copied; the figure is of what was")
    return table.num_rows / seconds


def cxm_sync_postgres_events_per_s(postgres_url: str, table: pa.Table, scratch: Path) -> float:
    """Events per second of ``Lake.sync`` from a cxm store on PostgreSQL holding ``table``.

    The store is a database of its own (``cxm_bench_sync``, recreated each run), filled with
    COPY; the lake's reads go through ADBC (binary COPY into Arrow).
    """
    import psycopg

    import cxm
    from cxm.lake import Lake
    from cxm.profiles.projector import CURSOR

    admin = psycopg.connect(postgres_url, autocommit=True)
    admin.execute("DROP DATABASE IF EXISTS cxm_bench_sync")
    admin.execute("CREATE DATABASE cxm_bench_sync")
    admin.close()
    base = postgres_url.rsplit("/", 1)[0]
    url = f"{base}/cxm_bench_sync"
    ws = cxm.open(
        scratch / "pg-ws", database_url=url.replace("postgresql://", "postgresql+psycopg://")
    )
    started = time.perf_counter()
    channels = sorted(set(table.column("channel").to_pylist()))
    ids = {c: i + 1 for i, c in enumerate(channels)}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for c, i in ids.items():
            cur.execute(
                "INSERT INTO sources (id, name, channel, write_key_hash, write_key_prefix,"
                " created_at, disabled) VALUES (%s, %s, %s, %s, %s, now(), false)",
                (i, f"bench-{c}", c, f"bench-{c}".ljust(64, "0"), f"wk_{i}"),
            )
        iso = table.column("ts").to_pylist()
        columns = zip(
            table.column("seq").to_pylist(), table.column("customer_id").to_pylist(),
            table.column("type").to_pylist(), table.column("event").to_pylist(),
            table.column("channel").to_pylist(), table.column("properties").to_pylist(),
            iso, strict=True,
        )  # fmt: skip
        with (
            cur.copy(
                "COPY events (seq, source_id, message_id, type, event, user_id, channel,"
                " timestamp, received_at, payload) FROM STDIN"
            ) as events_copy,
        ):
            placed = []
            for seq, customer, kind, name, channel, props, at in columns:
                payload = f'{{"type":"{kind}","event":"{name}","properties":{props}}}'
                events_copy.write_row(
                    (seq, ids[channel], f"m{seq}", kind, name, customer, channel, at, at,
                     payload)
                )  # fmt: skip
                placed.append((seq, customer, at, channel))
        with cur.copy("COPY profile_events (seq, profile_id, at, channel) FROM STDIN") as pe:
            for row in placed:
                pe.write_row(row)
        cur.execute(
            "INSERT INTO cursors (name, position, updated_at) VALUES (%s, %s, now())",
            (CURSOR, int(pc.max(table.column("seq")).as_py())),
        )
    loaded = time.perf_counter() - started
    print(f"sync store on PostgreSQL: {table.num_rows:,} events in {loaded:.0f} s")
    lake = Lake(scratch / "pg-lake")
    started = time.perf_counter()
    report = lake.sync(ws.engine)
    seconds = time.perf_counter() - started
    ws.close()
    print(f"lake sync from PostgreSQL: {report.events:,} events in {seconds:.2f} s")
    return report.events / seconds


# --- the run ---------------------------------------------------------------------------------


def check(args: argparse.Namespace) -> None:
    """Every engine against the brute-force reference on a small sample and the edge cases."""
    table = pa.concat_tables(
        [data.generate(CHECK_EVENTS, CHECK_CUSTOMERS, args.seed + 1), data.edge_cases()]
    )
    expected = data.reference_funnel(table)
    answers: dict[str, FunnelResult] = {}
    db = sqlite3.connect(":memory:")
    fill_sqlite(db, table)
    answers["sqlite"] = sqlite_funnel(db)
    duck = duckdb.connect()
    duck.register("check_events", table)
    answers["duckdb_sql"] = duckdb_funnel(duck, "check_events")
    if not args.skip_postgres:
        import psycopg

        with psycopg.connect(args.postgres_url) as conn:
            name = f"{TABLE}_check"
            load_postgres(conn, table, name=name, marker=f"check-{args.seed}-v{data.VERSION}")
            answers["postgres"] = postgres_funnel(conn, name)
    # cxm itself, on the same sample
    with tempfile.TemporaryDirectory(prefix="cxm-bench-check-") as scratch:
        lake = cxm_build_lake(Path(scratch) / "lake", table, marker="check")
        answers["cxm"] = CxmJourneys(lake).funnel()
    wrong = {name: a for name, a in answers.items() if not a.matches(expected)}
    print(f"check ({table.num_rows:,} events): reference {expected}")
    for name, answer in wrong.items():
        print(f"check: {name} differs: {answer}")
    if wrong:
        sys.exit(1)
    print(f"check: {', '.join(answers)} agree with the reference")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20250106)
    parser.add_argument("--data-dir", type=Path, default=Path(".bench-data/journeys"))
    parser.add_argument(
        "--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test", help="libpq URL"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true", help="SQLite takes minutes at 10M")
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument(
        "--check",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="compare every engine with the reference on a small sample first",
    )
    args = parser.parse_args()
    if args.check:
        check(args)

    started = time.perf_counter()
    parquet, cached = data.load_or_generate(args.data_dir, args.events, args.customers, args.seed)
    table = pq.read_table(parquet)
    marker = data.fingerprint(args.events, args.customers, args.seed)
    print(
        f"data set: {table.num_rows:,} events, "
        f"{pc.count_distinct(table.column('customer_id')).as_py():,} customers with "
        f"events, {parquet.stat().st_size / 2**20:.0f} MiB Parquet "
        f"({'cached' if cached else 'generated'} in {time.perf_counter() - started:.1f} s)"
    )
    label = _size_label(table.num_rows)
    figures: dict[str, float] = {"journeys.events": table.num_rows}
    answers: dict[str, FunnelResult] = {}

    duck = duckdb.connect()
    source = f"read_parquet('{parquet}')"
    seconds, answers["duckdb_sql"] = timed(lambda: duckdb_funnel(duck, source), runs=5, warmup=1)
    print(f"duckdb hand-written SQL over Parquet: {seconds:.3f} s → {answers['duckdb_sql']}")
    figures[f"journeys.funnel_{label}_duckdb_sql_s"] = seconds

    if not args.skip_postgres:
        import psycopg

        with psycopg.connect(args.postgres_url) as conn:
            started = time.perf_counter()
            if load_postgres(conn, table, name=TABLE, marker=marker):
                print(f"postgres: loaded in {time.perf_counter() - started:.0f} s")
            seconds, answers["postgres"] = cold_then_warm(
                "postgres naive SQL", lambda: postgres_funnel(conn, TABLE)
            )
        figures[f"journeys.funnel_{label}_postgres_s"] = seconds

    if not args.skip_sqlite:
        path = args.data_dir / f"{marker}.sqlite"
        started = time.perf_counter()
        if load_sqlite(path, table):
            print(f"sqlite: loaded in {time.perf_counter() - started:.0f} s")
        db = sqlite3.connect(path)
        seconds, answers["sqlite"] = cold_then_warm("sqlite naive SQL", lambda: sqlite_funnel(db))
        figures[f"journeys.funnel_{label}_sqlite_s"] = seconds

    # cxm's runners over its lake
    lake = cxm_build_lake(args.data_dir / f"lake-{marker}", table, marker=marker)
    runners = CxmJourneys(lake)
    seconds, answers["cxm"] = timed(runners.funnel, runs=5, warmup=1)
    print(f"cxm funnel (lake, DuckDB): {seconds:.3f} s → {answers['cxm']}")
    figures[f"journeys.funnel_{label}_s"] = seconds
    if "postgres" in answers:
        figures["journeys.funnel_speedup_vs_postgres"] = (
            figures[f"journeys.funnel_{label}_postgres_s"] / seconds
        )
    seconds, paths = timed(runners.paths, runs=5, warmup=1)
    print(f"cxm top paths after payment-failed: {seconds:.3f} s\n{paths.to_string()}")
    figures[f"journeys.paths_{label}_s"] = seconds
    seconds, scorecard = timed(runners.scorecard, runs=5, warmup=1)
    print(f"cxm touchpoint scorecard: {seconds:.3f} s\n{scorecard.to_string()}")
    figures[f"journeys.scorecard_{label}_s"] = seconds
    if not args.skip_sync:
        figures["journeys.sync_events_per_s"] = cxm_sync_events_per_s(
            args.data_dir, table.slice(0, SYNC_EVENTS), marker=f"{marker}-sync{SYNC_EVENTS}"
        )
        if not args.skip_postgres:
            with tempfile.TemporaryDirectory(prefix="cxm-bench-pg-", dir=args.data_dir) as d:
                figures["journeys.sync_postgres_events_per_s"] = cxm_sync_postgres_events_per_s(
                    args.postgres_url, table.slice(0, SYNC_EVENTS), Path(d)
                )

    reference = answers["duckdb_sql"]
    disagree = [name for name, a in answers.items() if not a.matches(reference)]
    for name in disagree:
        print(f"funnel: {name} differs from DuckDB's hand-written SQL: {answers[name]}")
    if not disagree:
        print(f"funnel: {', '.join(answers)} agree")
    print(
        f"targets: funnel ≤ {TARGET_FUNNEL_S} s, ≥ {TARGET_SPEEDUP}× PostgreSQL, "
        f"sync ≥ {TARGET_SYNC_EVENTS_PER_S:,} events/s"
    )
    for name, value in figures.items():
        shown = f"{value:.4f}" if isinstance(value, float) and value < 1000 else f"{value:.0f}"
        print(f"BENCH {name}={shown}")
    return 1 if disagree else 0


def _size_label(events: int) -> str:
    """``10m`` for 10,000,000 events, ``1m`` for 1,000,000, ``50k``...: the figures' names."""
    if events % 1_000_000 == 0:
        return f"{events // 1_000_000}m"
    if events % 1_000 == 0:
        return f"{events // 1_000}k"
    return str(events)


if __name__ == "__main__":
    sys.exit(main())

"""Where analytic queries run: DuckDB in-process (the default) or Spark, over the lake's files.

Queries are Ibis expressions over *unbound* tables (:func:`events_table`, :func:`traits_table`)
with fixed schemas; an engine binds those names to the lake's current files and executes. The
same expression therefore runs unchanged on either engine, and tests compare their answers.

>>> engine = DuckDBEngine(Lake(workspace.path / "lake"))
>>> engine.execute(events_table().count())
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from cxm.lake import EVENTS_SCHEMA, KNOWN_ASKS_SCHEMA, TRAITS_SCHEMA, Lake

EVENTS = "events"
TRAITS = "traits"
KNOWN_ASKS = "known_asks"
KNOWN_ASKS_IBIS = ibis.Schema.from_pyarrow(KNOWN_ASKS_SCHEMA)
EVENTS_IBIS = ibis.Schema.from_pyarrow(EVENTS_SCHEMA)
TRAITS_IBIS = ibis.Schema.from_pyarrow(TRAITS_SCHEMA)


def events_table() -> ir.Table:
    """The lake's events: seq, customer_id, ts, t (epoch µs), type, event, channel, ..."""
    return ibis.table(EVENTS_IBIS, name=EVENTS)


def known_asks_table() -> ir.Table:
    """The seqs of requests for data that asked for what the profile already held."""
    return ibis.table(KNOWN_ASKS_IBIS, name=KNOWN_ASKS)


def traits_table() -> ir.Table:
    """Each customer's current non-personal traits: customer_id, key, value (text)."""
    return ibis.table(TRAITS_IBIS, name=TRAITS)


class ResultCache:
    """Answers of recent queries, for as long as the lake has not changed.

    A dashboard asks the same questions again and again between two syncs (a page reload, the
    paths table and the Sankey of one touchpoint); the key is the query's expression tree
    (structural equality, hashed once when built) and the lake's generation, so any sync that
    changes the lake makes every cached answer unreachable.
    """

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._answers: OrderedDict[tuple[int, Any], pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, Any]) -> pd.DataFrame | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is None:
                return None
            self._answers.move_to_end(key)
            return answer.copy()

    def put(self, key: tuple[int, Any], answer: pd.DataFrame) -> None:
        with self._lock:
            self._answers[key] = answer.copy()
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)


def _as_frame(result: Any) -> pd.DataFrame:
    return result if isinstance(result, pd.DataFrame) else pd.DataFrame({"value": [result]})


class Engine(Protocol):
    name: str

    def execute(self, expr: ir.Expr) -> pd.DataFrame: ...

    def to_arrow(self, expr: ir.Table) -> pa.Table: ...

    def remember(self, key: Any, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame: ...

    def close(self) -> None: ...


class _LakeEngine:
    """What both engines share: the tables bound to the lake's current files, the answer cache
    and the ways to ask. Subclasses connect (``con``), bind a table to files (``_bind``) and say
    how queries take turns (``_turn``)."""

    name: str
    lake: Lake
    con: Any
    cache: ResultCache
    _generation: int

    def _bind(self, name: str, paths: list[Path], schema: pa.Schema) -> None:
        raise NotImplementedError

    def _turn(self) -> AbstractContextManager[Any]:
        return nullcontext()

    def refresh(self) -> None:
        """Point the tables at the lake's current files (cheap when nothing changed)."""
        manifest = self.lake.manifest()
        if manifest.generation == self._generation:
            return
        self._bind(EVENTS, self.lake.event_paths(manifest), EVENTS_SCHEMA)
        traits = self.lake.table_path(TRAITS, manifest)
        self._bind(TRAITS, [traits] if traits else [], TRAITS_SCHEMA)
        known = self.lake.table_path(KNOWN_ASKS, manifest)
        self._bind(KNOWN_ASKS, [known] if known else [], KNOWN_ASKS_SCHEMA)
        self._generation = manifest.generation

    def execute(self, expr: ir.Expr) -> pd.DataFrame:
        key = (self.lake.manifest().generation, expr.op())
        answer = self.cache.get(key)
        if answer is not None:
            return answer
        with self._turn():
            self.refresh()
            answer = _as_frame(self.con.execute(expr))
        self.cache.put(key, answer)
        return answer

    def remember(self, key: Any, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """An answer computed in Python from several queries, cached like one query's."""
        cache_key = (self.lake.manifest().generation, key)
        answer = self.cache.get(cache_key)
        if answer is None:
            answer = compute()
            self.cache.put(cache_key, answer)
        return answer

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        """Rows for processing in this process (not cached: they can be many)."""
        with self._turn():
            self.refresh()
            return self.con.to_pyarrow(expr)


class DuckDBEngine(_LakeEngine):
    """DuckDB in this process, reading the lake's Parquet files (no copy, no server)."""

    name = "duckdb"

    def __init__(self, lake: Lake, *, threads: int | None = None) -> None:
        self.lake = lake
        # Results are ordered by the queries themselves where order matters.
        config: dict[str, Any] = {"preserve_insertion_order": False}
        if threads is not None:
            config["threads"] = threads
        self.con = ibis.duckdb.connect(**config)
        self._generation = -1
        self._lock = threading.Lock()
        self.cache = ResultCache()

    def _turn(self) -> AbstractContextManager[Any]:
        return self._lock  # one DuckDB connection: queries from several threads take turns

    def _bind(self, name: str, paths: list[Path], schema: pa.Schema) -> None:
        # DuckDB's relational API: a view over exactly the manifest's files (or an empty table).
        raw = self.con.con
        if paths:
            relation = raw.read_parquet([str(p) for p in paths])
        else:
            relation = raw.from_arrow(schema.empty_table())
        relation.create_view(name, replace=True)

    def close(self) -> None:
        self.con.disconnect()


class SparkEngine(_LakeEngine):
    """Spark (local mode by default, or the session given) over the same Parquet files."""

    name = "spark"

    def __init__(self, lake: Lake, *, session: Any = None) -> None:
        from pyspark.sql import SparkSession

        # Ibis reads JSON on Spark with Python UDFs: workers need this interpreter's packages.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        self.lake = lake
        self.session = session or (
            SparkSession.builder.master("local[2]")
            .appName("cxm")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .getOrCreate()
        )
        self.con = ibis.pyspark.connect(self.session)
        self._generation = -1
        self.cache = ResultCache()

    def _bind(self, name: str, paths: list[Path], schema: pa.Schema) -> None:
        from pyspark.sql.pandas.types import from_arrow_schema

        spark_schema = from_arrow_schema(schema)
        if paths:
            frame = self.session.read.schema(spark_schema).parquet(*[str(p) for p in paths])
        else:
            frame = self.session.createDataFrame([], spark_schema)
        frame.createOrReplaceTempView(name)

    def close(self) -> None:
        pass  # the session may be shared; stopping it is its owner's call

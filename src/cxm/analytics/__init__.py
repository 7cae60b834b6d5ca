"""Analytic queries as Ibis expressions, run by DuckDB in-process or by Spark over the lake."""

from cxm.analytics.engine import (
    DuckDBEngine,
    Engine,
    SparkEngine,
    events_table,
    known_asks_table,
    traits_table,
)

__all__ = [
    "DuckDBEngine",
    "Engine",
    "SparkEngine",
    "events_table",
    "known_asks_table",
    "traits_table",
]

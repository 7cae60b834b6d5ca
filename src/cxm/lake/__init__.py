"""The lake: Parquet copy of the store for analytics (sync by sequence number, compaction)."""

from cxm.lake.lake import DEFAULT_BUCKETS, Lake, LakeStatus, SyncReport
from cxm.lake.layout import EVENTS_SCHEMA, KNOWN_ASKS_SCHEMA, TRAITS_SCHEMA

__all__ = [
    "DEFAULT_BUCKETS",
    "EVENTS_SCHEMA",
    "KNOWN_ASKS_SCHEMA",
    "TRAITS_SCHEMA",
    "Lake",
    "LakeStatus",
    "SyncReport",
]

"""Ingestion: sources, the Segment-spec validator, the event log, group commit, importers."""

from __future__ import annotations

from cxm.ingest.importers import ColumnMapping
from cxm.ingest.queries import (
    RecentEvent,
    SourceActivity,
    event_profiles,
    event_properties,
    log_head,
    recent_events,
    source_activity,
)
from cxm.ingest.service import IngestReport, do_import_file, do_import_upload, do_ingest_events
from cxm.ingest.sources import Source, do_create_source, get_source, list_sources, source_named

__all__ = [
    "event_properties",
    "ColumnMapping",
    "IngestReport",
    "RecentEvent",
    "Source",
    "SourceActivity",
    "do_create_source",
    "do_import_file",
    "do_import_upload",
    "do_ingest_events",
    "event_profiles",
    "get_source",
    "source_named",
    "list_sources",
    "log_head",
    "recent_events",
    "source_activity",
]

"""What data-subject requests leave behind: the requests with their reports, and tombstones.

``privacy_requests`` records every export and erasure: who asked, for whom (the profile id,
never an identifier), when, and the report of what was found or removed. ``erasure_tombstones``
holds, for each identifier of an erased person, a keyed hash (HMAC with the workspace's
secret) and no identifier itself: ingest refuses events carrying one of them until a person
records a new lawful basis (``cxm privacy allow``).
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

privacy_requests = Table(
    "privacy_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # export, erasure
    Column("profile_id", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("report", Text, nullable=False),  # JSON
)

erasure_tombstones = Table(
    "erasure_tombstones",
    metadata,
    Column("digest", String(64), primary_key=True),  # HMAC-SHA256 of "kind:value"
    Column("kind", String(40), nullable=False),
    Column("request_id", Integer, nullable=False),
    Column("erased_at", UTCDateTime, nullable=False),
)

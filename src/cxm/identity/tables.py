"""The identity graph: profiles, the identifiers they hold and the merges that joined them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

profiles = Table(
    "profiles",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_seq", BigInteger, nullable=False),
    # A merged-away profile keeps its row and points at the survivor, so old links still work.
    Column("merged_into", String(40), nullable=True, index=True),
    # Denormalised for lists and search; recomputed by the projector.
    Column("display_name", String(300), nullable=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("first_seen", UTCDateTime, nullable=True),
    Column("last_seen", UTCDateTime, nullable=True, index=True),
    Column("event_count", Integer, nullable=False, default=0),
    Column("search_text", Text, nullable=True),
)

identifiers = Table(
    "identifiers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("value", String(320), nullable=False),
    Column("profile_id", String(40), nullable=False, index=True),
    Column("source_id", Integer, nullable=True),
    Column("first_seq", BigInteger, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Index("uq_identifiers_kind_value", "kind", "value", unique=True),
)

merges = Table(
    "merges",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("winner_id", String(40), nullable=False, index=True),
    Column("loser_id", String(40), nullable=False, index=True),
    Column("rule", String(60), nullable=False),
    Column("reason", Text, nullable=False),
    Column("link_kind", String(40), nullable=True),
    Column("link_value", String(320), nullable=True),
    Column("seq", BigInteger, nullable=True),
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # The loser's identifiers at merge time (JSON list), so the merge can be undone later.
    Column("loser_identifiers", Text, nullable=False),
)

"""The identity graph: profiles, the identifiers they hold and the merges that joined them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text

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
    # Usually one profile holds an identifier. A shared one (a family phone, a shared computer)
    # is held by each person seen with it, up to its kind's limit; see cxm.identity.policy.
    Index("ix_identifiers_kind_value", "kind", "value"),
    Index("uq_identifiers_kind_value_profile", "kind", "value", "profile_id", unique=True),
)

# Identifiers that reached their kind's limit of holders: they no longer link anyone.
noisy_identifiers = Table(
    "noisy_identifiers",
    metadata,
    Column("kind", String(40), primary_key=True),
    Column("value", String(320), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("holders", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
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
    # Probabilistic and reviewed merges: match probability and the evidence per field (JSON).
    Column("score", Float, nullable=True),
    Column("evidence", Text, nullable=True),
)

# Decisions about pairs of profiles, kept across rebuilds (everything above is derived from the
# log and these). ``review``: waiting for a person; ``merged``: the two are one person (accepted,
# merged by hand, or above the model's threshold); ``separate``: never join them (rejected or
# unmerged). Profile ids are named after the identifier that created them, so a rebuild
# recreates the same ids and the decisions still apply.
identity_pairs = Table(
    "identity_pairs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_a", String(40), nullable=False),
    Column("profile_b", String(40), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("probability", Float, nullable=True),
    Column("evidence", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_by", String(100), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("note", Text, nullable=True),
    Index("uq_identity_pairs_a_b", "profile_a", "profile_b", unique=True),
    Index("ix_identity_pairs_status", "status"),
)

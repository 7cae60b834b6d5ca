"""What cxm knows about each free text: its analysis, its vectors, and the topics.

The text itself is not copied: it stays in the event's payload (or the anonymous survey
response), so erasing the source erases the text. ``text_items`` holds the analysis of one
text field of one source row; ``text_vectors`` caches encodings by the text's hash (the same
words are encoded once, however often customers send them).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from cxm.store.metadata import BigId, UTCDateTime, metadata

text_items = Table(
    "text_items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),  # "event" or "survey" (anonymous answers)
    Column("ref", BigInteger, nullable=False),  # events.seq or survey_responses.id
    Column("field", String(100), nullable=False),  # the property holding the text
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("channel", String(32), nullable=True),
    Column("event", String(200), nullable=True),
    Column("touchpoint", String(100), nullable=True),  # by the journey map when enriched
    Column("text_hash", String(64), nullable=False),
    Column("chars", Integer, nullable=False),
    Column("language", String(8), nullable=False),
    Column("language_confidence", Float, nullable=False),
    Column("sentiment", String(16), nullable=True),
    Column("sentiment_score", Float, nullable=True),
    Column("sentiment_confidence", Float, nullable=True),
    Column("sentiment_model", String(8), nullable=True),
    Column("emotion", String(16), nullable=True),
    Column("emotion_score", Float, nullable=True),
    Column("topic_id", Integer, nullable=True),
    Column("topic_similarity", Float, nullable=True),
    Column("pii", String(100), nullable=False, default=""),  # kinds found, comma-separated
    # Why a text was not (fully) analysed: empty, binary, truncated, no_letters.
    Column("flag", String(32), nullable=True),
    Column("model_version", String(200), nullable=False),
    Column("enriched_at", UTCDateTime, nullable=False),
    Index("uq_text_items_source_ref_field", "source", "ref", "field", unique=True),
    Index("ix_text_items_topic_occurred", "topic_id", "occurred_at"),
    Index("ix_text_items_occurred", "occurred_at"),
    Index("ix_text_items_text_hash", "text_hash"),
)

text_vectors = Table(
    "text_vectors",
    metadata,
    Column("text_hash", String(64), primary_key=True),
    Column("encoder", String(16), primary_key=True),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian
)

text_topics = Table(
    "text_topics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("label", String(200), nullable=True),  # a name a person gave; else keyphrases
    Column("keyphrases", Text, nullable=False),  # JSON: language -> [phrase, ...]
    Column("centroid", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("pinned", Boolean, nullable=False, default=False),  # kept by every rediscovery
    Column("merged_into", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

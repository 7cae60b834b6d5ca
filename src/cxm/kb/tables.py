"""The knowledge base's tables: articles, and every version of each in each language."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

kb_articles = Table(
    "kb_articles",
    metadata,
    Column("id", String(100), primary_key=True),  # a slug: router-restart
    Column("kind", String(16), nullable=False),  # faq, qa, guide, video
    Column("stage", String(100), nullable=True),  # the journey stage it serves
    Column("touchpoint", String(100), nullable=True),
    Column("department", String(100), nullable=True),  # who keeps it true
    Column("status", String(16), nullable=False),  # published, retired
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

kb_versions = Table(
    "kb_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("article_id", String(100), nullable=False),
    Column("language", String(8), nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),  # Markdown, raw HTML refused
    Column("video", String(500), nullable=True),
    Column("actor", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The title and text as vectors (float32) for semantic search: e5's passage vector and
    # the multilingual USE vector (cxm.kb.search ranks by both).
    Column("encoder", String(32), nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("use_vector", LargeBinary, nullable=False),
    Index(
        "uq_kb_versions_article_language_version", "article_id", "language", "version", unique=True
    ),  # fmt: skip
)

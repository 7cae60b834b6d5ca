"""Imports every domain's tables so ``metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

import cxm.audit.tables
import cxm.auth.tables
import cxm.automation.tables
import cxm.cases.tables
import cxm.consistency.tables
import cxm.identity.tables
import cxm.ingest.tables
import cxm.insights.tables
import cxm.journeys.tables
import cxm.kb.tables
import cxm.privacy.tables
import cxm.profiles.tables
import cxm.segments.tables
import cxm.store.tables
import cxm.surveys.tables
import cxm.text.tables  # noqa: F401
from cxm.store.metadata import metadata

__all__ = ["metadata"]

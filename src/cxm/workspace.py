"""A workspace: the store, the lake and the models of one organisation, opened as one object.

>>> import cxm
>>> ws = cxm.open("./cxm-data")          # doctest: +SKIP
>>> ws.profile("anna.kowalska@example.pl").display_name   # doctest: +SKIP
'Anna Kowalska'
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cxm.auth.service import any_token_exists, do_create_token
from cxm.config import Settings
from cxm.errors import NotFound, WorkspaceError
from cxm.profiles import (
    Profile,
    ProfileCard,
    ProjectionResult,
    TimelineItem,
    WhatWeKnow,
    get_profile,
    get_timeline,
    project_pending,
    search_profiles,
    what_we_know,
)
from cxm.profiles.queries import REGION_KEY
from cxm.store.engine import (
    make_engine,
    make_session_factory,
    session_scope,
    write_intent_engine,
)
from cxm.store.migrate import upgrade_store
from cxm.store.tables import workspace_meta

if TYPE_CHECKING:
    from cxm.analytics import Engine as QueryEngine
    from cxm.automation.runtime import Automation
    from cxm.cases import BuildReport, Case, CasePolicy
    from cxm.identity.resolve import ResolveReport
    from cxm.insights.runtime import Insights
    from cxm.journeys.analytics import JourneyAnalytics
    from cxm.journeys.map import JourneyMap
    from cxm.lake import Lake, SyncReport
    from cxm.metrics.analytics import MetricAnalytics
    from cxm.text.analytics import TextAnalytics


class Workspace:
    """Open with :func:`cxm.open` or ``Workspace.open``; close with :meth:`close`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        if settings.workspace.exists() and not settings.workspace.is_dir():
            raise WorkspaceError(
                f"the workspace {settings.workspace} is a file; give a directory "
                "(--workspace or CXM_WORKSPACE)"
            )
        settings.workspace.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(
            settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        self._sessions = make_session_factory(self.engine)
        self._write_sessions = make_session_factory(write_intent_engine(self.engine))
        self._query_engine: QueryEngine | None = None

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        migrate: bool = True,
        **overrides: Any,
    ) -> Workspace:
        if settings is None:
            if path is not None:
                overrides["workspace"] = Path(path)
            settings = Settings(**overrides)
        ws = cls(settings)
        if migrate:
            ws.migrate()
        return ws

    @property
    def path(self) -> Path:
        return self.settings.workspace

    def migrate(self) -> None:
        upgrade_store(self.engine)

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on error.

        ``write=True`` is for work that reads and then writes: each of the session's
        transactions takes SQLite's write lock when it begins, so another connection's commit
        between the read and the write makes it wait its turn instead of failing with
        "database is locked" (``cxm.store.engine.write_intent_engine``). Do not write through
        another session while one of these has a transaction open: it would wait for this one.

        >>> with ws.session(write=True) as s:     # doctest: +SKIP
        ...     do_update_case(session=s, actor="user:ania", policy=ws.case_policy, ref=ref,
        ...                    status="resolved")
        """
        factory = self._write_sessions if write else self._sessions
        with session_scope(factory) as session:
            session.info[REGION_KEY] = self.settings.default_region
            yield session

    def initialise(self) -> str | None:
        """Migrate, create the signing secret, and the first admin token if there is none.

        Returns that token (shown once), or None when the workspace already had tokens.
        """
        self.migrate()
        _ = self.secret_key
        with self.session() as session:
            if any_token_exists(session):
                return None
            _, token = do_create_token(
                session, actor="system:init", name="admin", scopes=("admin",)
            )
            return token

    @cached_property
    def secret_key(self) -> bytes:
        """The workspace's secret for signing cookies, kept in the store (shared by servers)."""
        with self.session() as session:
            value = session.execute(
                select(workspace_meta.c.value).where(workspace_meta.c.key == "secret_key")
            ).scalar()
            if value is None:
                value = secrets.token_hex(32)
                session.execute(insert(workspace_meta).values(key="secret_key", value=value))
        return bytes.fromhex(value)

    def catch_up(self, **kwargs: Any) -> ProjectionResult:
        """Apply events not yet reflected in profiles (the background worker does this too)."""
        kwargs.setdefault("chunk_events", self.settings.projector_chunk_events)
        return project_pending(
            self.engine,
            region=self.settings.default_region,
            policy=self.settings.identity_policy,
            **kwargs,
        )

    def resolve(self, *, full: bool = True, **kwargs: Any) -> ResolveReport:
        """Probabilistic identity resolution: merge sure matches, queue likely ones for review.

        ``full=False`` scores only profiles created since the last pass, without refitting.
        """
        from cxm.identity.resolve import resolve_identities

        return resolve_identities(
            self.session,
            models_dir=self.settings.workspace / "models" / "identity",
            policy=self.settings.identity_policy,
            merge_probability=self.settings.match_merge_probability,
            review_probability=self.settings.match_review_probability,
            full=full,
            **kwargs,
        )

    # The lake and journey analytics (imported on first use: the CLI starts faster without).
    @cached_property
    def lake(self) -> Lake:
        from cxm.lake import Lake

        return Lake(self.path / "lake", buckets=self.settings.lake_buckets)

    def sync_lake(self, **kwargs: Any) -> SyncReport:
        """Copy what is new in the store to the lake (the background worker does this too)."""
        return self.lake.sync(self.engine, **kwargs)

    def query_engine(self) -> QueryEngine:
        """The analytics engine over the lake (``CXM_ANALYTICS_ENGINE``), created once."""
        if self._query_engine is None:
            from cxm.analytics import DuckDBEngine, SparkEngine

            if self.settings.analytics_engine == "spark":
                from pyspark.sql import SparkSession

                # Ibis reads JSON on Spark with Python UDFs: the workers need this interpreter.
                os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
                session = (
                    SparkSession.builder.master(self.settings.spark_master)
                    .appName("cxm")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.session.timeZone", "UTC")
                    .getOrCreate()
                )
                self._query_engine = SparkEngine(self.lake, session=session)
            else:
                self._query_engine = DuckDBEngine(self.lake)
        return self._query_engine

    def journey_map(self) -> JourneyMap:
        """The current version of the workspace's journey map."""
        from cxm.journeys.service import current_journey_map

        with self.engine.connect() as conn:
            journey = current_journey_map(conn)
        if journey is None:
            raise NotFound(
                "this workspace has no journey map yet; load one with `cxm journey load FILE` "
                "or PUT /api/journey (`cxm journey show --example` prints the telecom example)"
            )
        return journey

    @property
    def journeys(self) -> JourneyAnalytics:
        """Journey analytics over the lake: ``ws.journeys.funnel([...])`` returns a DataFrame."""
        from cxm.journeys.analytics import JourneyAnalytics

        return JourneyAnalytics(engine=self.query_engine, journey=self.journey_map)

    @property
    def metrics(self) -> MetricAnalytics:
        """CX metrics over the lake: ``ws.metrics.catalogue(by=["touchpoint"])``."""
        from cxm.metrics.analytics import MetricAnalytics

        return MetricAnalytics(
            engine=self.query_engine,
            journey=self.journey_map,
            members=self.segment_members,
            session=self.session,
        )

    @property
    def text(self) -> TextAnalytics:
        """Text analytics: ``ws.text.enrich()``, ``ws.text.topics()``, ``ws.text.search(...)``."""
        from cxm.text.analytics import TextAnalytics

        return TextAnalytics(
            session=self.session, settings=self.settings, models_dir=self.path / "models" / "text"
        )

    @cached_property
    def automation(self) -> Automation:
        """Rules and their actions: ``ws.automation.run_once()`` (the worker does it too)."""
        from cxm.automation.runtime import Automation

        return Automation(self)

    @property
    def insights(self) -> Insights:
        """Churn scores, drivers and alerts: ``ws.insights.refresh()`` (the worker does it too)."""
        from cxm.insights.runtime import Insights

        return Insights(self)

    # Cases ---------------------------------------------------------------------------------
    @property
    def case_policy(self) -> CasePolicy:
        """Case windows, service levels and known fields, from the settings."""
        from cxm.cases import CasePolicy

        return CasePolicy.from_settings(self.settings)

    def build_cases(self, *, full: bool = False, **kwargs: Any) -> BuildReport:
        """Place events that arrived since the last run into cases (the worker does this too);
        ``full`` places every event again, keeping what people did in cxm. Each batch reads
        and then writes, so its transaction takes the write lock when it begins."""
        from cxm.cases import do_build_cases, do_rebuild_cases

        build = do_rebuild_cases if full else do_build_cases
        return build(session=partial(self.session, write=True), policy=self.case_policy, **kwargs)

    def case(self, ref: str) -> Case:
        """One case with its activity: ``ws.case("CASE-2026-00042").handoffs``."""
        from cxm.cases import get_case

        with self.session() as session:
            return get_case(session, ref)

    def cases(self, **filters: Any) -> list[Case]:
        """The inbox as a list: ``ws.cases(department="call-centre", status=["open"])``."""
        from cxm.cases import CaseFilter, list_cases

        with self.session() as session:
            return list_cases(session, CaseFilter(**filters)).cases

    def segment_members(self, name: str) -> list[str]:
        """The profile ids in the saved segment ``name`` now (``NotFound`` if there is none)."""
        from cxm.segments.queries import get_segment, segment_members

        with self.session() as session:
            segment = get_segment(session, name)
            return segment_members(session, segment.definition, now=datetime.now(UTC))

    # The notebook surface: plain calls returning the same objects as the API.
    def profile(self, ref: str) -> Profile:
        with self.session() as session:
            return get_profile(session, ref)

    def search(self, query: str = "", *, limit: int = 50) -> list[ProfileCard]:
        with self.session() as session:
            return search_profiles(session, query, limit=limit)

    def timeline(self, ref: str, *, limit: int = 100) -> list[TimelineItem]:
        with self.session() as session:
            return get_timeline(session, get_profile(session, ref).id, limit=limit)

    def brief(self, ref: str) -> WhatWeKnow:
        with self.session() as session:
            return what_we_know(session, get_profile(session, ref).id)

    def close(self) -> None:
        if self._query_engine is not None:
            self._query_engine.close()
            self._query_engine = None
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(path: str | Path | None = None, **overrides: Any) -> Workspace:  # noqa: A001
    """Open (and migrate) the workspace at ``path`` (default: ``CXM_WORKSPACE`` or ./cxm-data)."""
    return Workspace.open(path, **overrides)

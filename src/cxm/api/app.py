"""The ASGI application: ingestion, REST API and the web dashboard on one server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cxm import __version__
from cxm.api import (
    audit,
    automation,
    cases,
    consistency,
    departments,
    events,
    identity,
    ingest,
    insights,
    journey_map,
    journeys,
    kb,
    metrics,
    privacy,
    profiles,
    segments,
    sources,
    surveys,
    text,
)
from cxm.api.cors import TrackingCors
from cxm.api.errors import install_error_handlers
from cxm.api.responses import JsonResponse
from cxm.api.spec import cxm_openapi
from cxm.ingest.sources import SourceRegistry
from cxm.ingest.writer import GroupCommitWriter
from cxm.privacy.tombstones import Tombstones
from cxm.workspace import Workspace


def create_app(workspace: Workspace, *, web: bool = True) -> FastAPI:
    """Build the app over an open workspace. The group-commit writer runs while it serves."""
    settings = workspace.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.writer.start()
        try:
            yield
        finally:
            app.state.writer.stop()

    app = FastAPI(
        title="cxm",
        version=__version__,
        summary="Customer experience management: one memory of each customer across channels.",
        lifespan=lifespan,
        default_response_class=JsonResponse,
        # The interactive docs pages load their scripts from a CDN; cxm serves no third-party
        # content, so only the spec itself is published.
        docs_url=None,
        redoc_url=None,
    )
    app.state.workspace = workspace
    app.state.sources = SourceRegistry(workspace.engine)
    app.state.tombstones = Tombstones(workspace.engine, region=settings.default_region)
    app.state.writer = GroupCommitWriter(
        workspace.engine,
        max_pending_events=settings.ingest_max_pending_events,
        max_group_events=settings.ingest_commit_max_events,
    )
    install_error_handlers(app)
    app.openapi = lambda: cxm_openapi(app)  # type: ignore[method-assign]

    @app.get("/api/health", tags=["health"], summary="Liveness: no authentication")
    def health() -> JsonResponse:
        return JsonResponse({"ok": True, "version": __version__})

    app.include_router(ingest.router)
    app.include_router(events.router)
    app.include_router(profiles.router)
    app.include_router(identity.router)
    app.include_router(sources.router)
    app.include_router(audit.router)
    app.include_router(journey_map.router)
    app.include_router(journeys.router)
    app.include_router(surveys.router)
    app.include_router(segments.router)
    app.include_router(metrics.router)
    app.include_router(text.router)
    app.include_router(cases.router)
    app.include_router(automation.router)
    app.include_router(insights.router)
    app.include_router(insights.profiles_router)
    app.include_router(privacy.router)
    app.include_router(departments.router)
    app.include_router(kb.router)
    app.include_router(consistency.router)
    if web:
        from cxm.web import mount_web

        mount_web(app)
    app.add_middleware(TrackingCors)
    return app

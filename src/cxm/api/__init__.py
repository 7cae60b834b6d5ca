"""Delivery over HTTP: the Segment-compatible ingestion API, the REST API, the dashboard."""

from __future__ import annotations

from cxm.api.app import create_app

__all__ = ["create_app"]

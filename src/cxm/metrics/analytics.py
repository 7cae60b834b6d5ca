"""CX metrics for Python users: every answer is a pandas DataFrame.

>>> ws = cxm.open("./cxm-data")
>>> ws.metrics.catalogue(by=["touchpoint", "month"])       # every lake metric with intervals
>>> ws.metrics.catalogue(metrics=["nps", "effort_index"], by=["department"])
>>> ws.metrics.movers(by="touchpoint")                      # last whole month vs the one before
>>> ws.metrics.effort().customer_effort.head()              # the hardest journeys first
>>> ws.metrics.retention()                                  # by cohort
>>> ws.metrics.department("call-centre").link             # its CX beside its staff's eNPS
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from cxm.analytics import Engine
from cxm.journeys.map import JourneyMap
from cxm.metrics.departments import DepartmentView, department_summaries, department_view
from cxm.metrics.effort import EffortValidation, effort_validation
from cxm.metrics.queries import CatalogueQuery
from cxm.metrics.runner import run_catalogue
from cxm.metrics.trends import MoversQuery, run_movers, run_retention


class MetricAnalytics:
    """The metric analyses over one engine and the workspace's current journey map."""

    def __init__(
        self,
        *,
        engine: Callable[[], Engine],
        journey: Callable[[], JourneyMap],
        members: Callable[[str], list[str]],
        session: Callable[[], AbstractContextManager[Session]] | None = None,
    ) -> None:
        self._engine = engine
        self._journey = journey
        self._members = members  # a segment's profile ids, by the segment's name
        self._session = session

    def catalogue(self, **options: Any) -> pd.DataFrame:
        query = CatalogueQuery(**options)
        members = self._members(query.segment) if query.segment else None
        return run_catalogue(self._engine(), self._journey(), query, members=members)

    def movers(self, **options: Any) -> pd.DataFrame:
        query = MoversQuery(**options)
        segment = (
            query.by.partition(":")[2] if query.by and query.by.startswith("segment:") else None
        )
        members = self._members(segment) if segment else None
        return run_movers(self._engine(), self._journey(), query, members=members)

    def effort(self, **options: Any) -> EffortValidation:
        return effort_validation(self._engine(), self._journey(), CatalogueQuery(**options))

    def retention(self, **options: Any) -> pd.DataFrame:
        return run_retention(self._engine(), **options)

    def department(self, department: str, **options: Any) -> DepartmentView:
        """One department's view (``cxm.metrics.departments.department_view``)."""
        assert self._session is not None, "a workspace's metrics have a store session"
        with self._session() as s:
            return department_view(self._engine(), self._journey(), s, department, **options)

    def departments(self, **options: Any) -> pd.DataFrame:
        """Every department's headline figures, one row each."""
        assert self._session is not None, "a workspace's metrics have a store session"
        with self._session() as s:
            rows = department_summaries(self._engine(), self._journey(), s, **options)
        return pd.json_normalize(rows)

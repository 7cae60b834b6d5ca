"""CX metrics for Python users: every answer is a pandas DataFrame.

>>> ws = cxm.open("./cxm-data")
>>> ws.metrics.catalogue(by=["touchpoint", "month"])       # every lake metric with intervals
>>> ws.metrics.catalogue(metrics=["nps", "effort_index"], by=["department"])
>>> ws.metrics.movers(by="touchpoint")                      # last whole month vs the one before
>>> ws.metrics.effort().customer_effort.head()              # the hardest journeys first
>>> ws.metrics.retention()                                  # by cohort
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from cxm.analytics import Engine
from cxm.journeys.map import JourneyMap
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
    ) -> None:
        self._engine = engine
        self._journey = journey
        self._members = members  # a segment's profile ids, by the segment's name

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

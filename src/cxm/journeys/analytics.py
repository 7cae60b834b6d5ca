"""Journey analytics for Python users: every analysis returns a pandas DataFrame.

>>> ws = cxm.open("./cxm-data")
>>> ws.journeys.funnel(["offer-pages", "web-checkout", "web-order"], window_days=7)
>>> ws.journeys.paths("payment-failed", depth=3)
>>> ws.journeys.scorecard(start=date(2026, 1, 1))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from cxm.analytics import Engine
from cxm.journeys.funnel import run_funnel
from cxm.journeys.map import JourneyMap
from cxm.journeys.paths import run_paths, run_sankey
from cxm.journeys.progression import run_progression, run_transitions
from cxm.journeys.queries import (
    DepartmentQuery,
    FunnelQuery,
    PathQuery,
    ProgressionQuery,
    ScorecardQuery,
)
from cxm.journeys.scorecard import run_department, run_scorecard


class JourneyAnalytics:
    """The analyses over one engine and the workspace's current journey map."""

    def __init__(self, *, engine: Callable[[], Engine], journey: Callable[[], JourneyMap]) -> None:
        self._engine = engine
        self._journey = journey

    @property
    def map(self) -> JourneyMap:
        return self._journey()

    def funnel(self, steps: list[Any], **options: Any) -> pd.DataFrame:
        return run_funnel(self._engine(), self.map, FunnelQuery(steps=steps, **options))

    def paths(self, touchpoint: str, **options: Any) -> pd.DataFrame:
        return run_paths(self._engine(), self.map, PathQuery(touchpoint=touchpoint, **options))

    def sankey(self, touchpoint: str, **options: Any) -> dict[str, Any]:
        return run_sankey(self._engine(), self.map, PathQuery(touchpoint=touchpoint, **options))

    def progression(self, **options: Any) -> pd.DataFrame:
        return run_progression(self._engine(), self.map, ProgressionQuery(**options))

    def transitions(self, **options: Any) -> pd.DataFrame:
        return run_transitions(self._engine(), self.map, ProgressionQuery(**options))

    def scorecard(self, **options: Any) -> pd.DataFrame:
        return run_scorecard(self._engine(), self.map, ScorecardQuery(**options))

    def department(self, department: str, **options: Any) -> pd.DataFrame:
        query = DepartmentQuery(department=department, **options)
        return run_department(self._engine(), self.map, query)


__all__ = [
    "DepartmentQuery",
    "FunnelQuery",
    "JourneyAnalytics",
    "PathQuery",
    "ProgressionQuery",
    "ScorecardQuery",
    "run_department",
    "run_funnel",
    "run_paths",
    "run_progression",
    "run_sankey",
    "run_scorecard",
    "run_transitions",
]

"""Movers between two periods and retention by cohort, over the catalogue's tallies.

A *mover* is a (metric, group) whose change from period A to period B survives the
Benjamini–Hochberg procedure over every comparison on the page (docs/metrics.md#many-
comparisons-benjamini-hochberg): the dashboard shows only these with an arrow, so a quiet
month does not produce a list of noise.

>>> movers = run_movers(engine, journey, MoversQuery(by="touchpoint"))   # doctest: +SKIP
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cxm.analytics import Engine, events_table
from cxm.journeys.map import JourneyMap
from cxm.metrics.behaviour import Members, month_label, month_of
from cxm.metrics.catalogue import metric as catalogue_metric
from cxm.metrics.changes import bh_adjusted
from cxm.metrics.queries import DIMENSION, DIMENSIONS_HELP, CatalogueQuery
from cxm.metrics.runner import tallies
from cxm.metrics.stats import wilson_interval


class MoversQuery(BaseModel):
    """Period A (before) against period B (after); default: the last two whole months."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str | None = Field(None, description=f"One of: {DIMENSIONS_HELP}; none: the whole base.")
    a_start: date | None = None
    a_end: date | None = None
    b_start: date | None = None
    b_end: date | None = None
    metrics: tuple[str, ...] | None = None
    q: float = Field(0.05, gt=0, lt=1, description="False discovery rate of the flagged movers.")
    min_sample: int = Field(30, ge=1)

    @field_validator("by")
    @classmethod
    def _dimension(cls, value: str | None) -> str | None:
        if value is not None and not DIMENSION.match(value):
            raise ValueError(f"unknown dimension {value!r}; use {DIMENSIONS_HELP}")
        if value == "month":
            raise ValueError("movers compare two periods already; group them by anything but month")
        return value

    @model_validator(mode="after")
    def _periods(self) -> MoversQuery:
        given = [self.a_start, self.a_end, self.b_start, self.b_end]
        if any(given) and not all(given):
            raise ValueError("give all of a_start, a_end, b_start and b_end, or none of them")
        return self


def latest_event(engine: Engine) -> datetime | None:
    """When the lake's latest event happened (None on an empty lake)."""
    ev = events_table()
    last = engine.execute(ev.aggregate(last=ev.t.max()))["last"].iloc[0]
    if last is None or pd.isna(last):
        return None
    return datetime.fromtimestamp(int(last) / 1e6, tz=UTC)


def last_whole_months(engine: Engine) -> tuple[date, date, date] | None:
    """(start of the month before last, start of the last whole month, start of the month of
    the latest event): the default periods; None on an empty lake."""
    moment = latest_event(engine)
    if moment is None:
        return None
    current = date(moment.year, moment.month, 1)
    b = _shift(current, -1)
    return _shift(b, -1), b, current


def _shift(month: date, by: int) -> date:
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def run_movers(
    engine: Engine, journey: JourneyMap, query: MoversQuery, *, members: Members = None
) -> pd.DataFrame:
    """Every comparison reportable in both periods, with its BH-adjusted p-value and whether it
    moved; the ones that moved first, largest standardised change (|z|) first."""
    if query.a_start is None:
        months = last_whole_months(engine)
        if months is None:
            return pd.DataFrame(columns=MOVER_COLUMNS)
        a_start, b_start, b_end = months
        a_end = b_start
    else:
        assert query.a_end and query.b_start and query.b_end  # the query checked all or none
        a_start, a_end, b_start, b_end = query.a_start, query.a_end, query.b_start, query.b_end
    by = (query.by,) if query.by else ()
    common: dict[str, Any] = {"by": by, "metrics": query.metrics, "min_sample": query.min_sample}
    before = tallies(
        engine, journey, CatalogueQuery(start=a_start, end=a_end, **common), members=members
    )
    after = tallies(
        engine, journey, CatalogueQuery(start=b_start, end=b_end, **common), members=members
    )
    rows = []
    latest = latest_event(engine)
    # Churn in a period is known only churn_days after it ends; a later period would be judged
    # on its first days' customers alone, so it is not compared.
    churn_known = latest is None or (
        b_end + timedelta(days=CatalogueQuery().churn_days) <= latest.date()
    )
    for metric_id, groups in after.items():
        direction = catalogue_metric(metric_id).direction
        if metric_id == "churn_rate" and not churn_known:
            continue
        for key, later in groups.items():
            earlier = before.get(metric_id, {}).get(key)
            if earlier is None or min(earlier.n, later.n) < query.min_sample:
                continue
            change = earlier.compare(later)
            if math.isnan(change.p_value):
                continue
            better = change.difference > 0 if direction == "higher" else change.difference < 0
            rows.append(
                {
                    "metric": metric_id,
                    "group": key[0] if key else None,
                    "a": change.a.estimate,
                    "b": change.b.estimate,
                    "a_n": change.a.n,
                    "b_n": change.b.n,
                    "difference": change.difference,
                    "low": change.low,
                    "high": change.high,
                    "z": change.z,
                    "p_value": change.p_value,
                    "better": bool(better) if change.difference != 0 else None,
                }
            )
    frame = pd.DataFrame(
        rows, columns=[c for c in MOVER_COLUMNS if c not in ("adjusted_p", "moved")]
    )
    adjusted = bh_adjusted(frame["p_value"].tolist()) if len(frame) else []
    frame["adjusted_p"] = adjusted
    frame["moved"] = frame["adjusted_p"] <= query.q
    frame["a_period"] = f"{a_start}..{a_end}"
    frame["b_period"] = f"{b_start}..{b_end}"
    order = frame.assign(size=frame["z"].abs()).sort_values(["moved", "size"], ascending=False)
    return order.drop(columns="size").reset_index(drop=True)[MOVER_COLUMNS]


MOVER_COLUMNS = [
    "metric", "group", "a", "b", "a_n", "b_n", "difference", "low", "high", "z", "p_value",
    "adjusted_p", "moved", "better", "a_period", "b_period",
]  # fmt: skip


def retention_expr() -> Any:
    """Per first-activity month (cohort) and months since: customers active."""
    ev = events_table()
    active = ev.select(c=ev.customer_id.hash(), month=month_of(ev.t)).distinct()
    first = active.group_by("c").aggregate(cohort=active.month.min())
    j = active.join(first, "c")
    j = j.mutate(months_since=j.month - j.cohort)
    return j.group_by(["cohort", "months_since"]).aggregate(customers=j.count())


def run_retention(engine: Engine, *, confidence: float = 0.95) -> pd.DataFrame:
    """Retention by cohort: of the customers first seen in a month, the share active (any
    event) k months later, with its Wilson interval. The latest month counts as partial."""
    frame = engine.execute(retention_expr()).copy()
    if not len(frame):
        return pd.DataFrame(columns=RETENTION_COLUMNS)
    frame["cohort"] = [month_label(int(m)) for m in frame["cohort"]]
    size = frame[frame["months_since"] == 0].set_index("cohort")["customers"]
    frame["cohort_size"] = frame["cohort"].map(size).astype(int)
    intervals = [
        wilson_interval(int(k), int(n), confidence)
        for k, n in zip(frame["customers"], frame["cohort_size"], strict=True)
    ]
    frame["retention"] = [i.estimate for i in intervals]
    frame["low"] = [i.low for i in intervals]
    frame["high"] = [i.high for i in intervals]
    frame = frame.sort_values(["cohort", "months_since"]).reset_index(drop=True)
    return frame[RETENTION_COLUMNS]


RETENTION_COLUMNS = [
    "cohort", "months_since", "cohort_size", "customers", "retention", "low", "high",
]  # fmt: skip

__all__ = ["MoversQuery", "last_whole_months", "run_movers", "run_retention"]

"""What the overview's CX metrics and the Metrics page show, built from the lake metrics'
DataFrames: figures with their intervals, tiles with trends, movers, effort, the catalogue
table. Pure functions of their inputs (the reads are in :mod:`cxm.web.metrics`), so tests can
build them from hand-made frames.

A figure below the minimum sample has no value: it reads "insufficient data (n = 12)". A tile
shows an arrow only when its change from the month before survived the Benjamini-Hochberg
procedure over every comparison made (:mod:`cxm.metrics.trends`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cxm.journeys.map import JourneyMap
from cxm.metrics.catalogue import (
    CATALOGUE,
    Metric,
    format_change,
    format_value,
    localise_number,
    metric_scale,
)
from cxm.metrics.runner import LAKE_METRICS
from cxm.metrics.sequences import NO_TOUCHPOINT
from cxm.web.metric_charts import sparkline_option
from cxm.web.survey_views import Figure

Translate = Callable[..., str]

# The overview's tiles, in reading order: what customers say, then what they had to do.
TILE_METRICS: tuple[str, ...] = (
    "nps", "csat", "ces", "first_contact_resolution", "repeat_contact_rate", "channel_hopping",
    "time_to_resolution", "effort_index", "churn_rate",
)  # fmt: skip
TABLE_DIMENSIONS: tuple[str, ...] = ("month", "touchpoint", "stage", "department", "channel")
_BY_ID: dict[str, Metric] = {m.id: m for m in CATALOGUE}


def scale(metric_id: str) -> str:
    """How a metric is read: ``share`` (per cent), ``points`` (NPS), ``hours`` or ``number``."""
    return metric_scale(metric_id)


def metric_name(metric_id: str, t: Translate) -> str:
    key = f"metric.{metric_id}"
    text = t(key)
    return _BY_ID[metric_id].name if text == key else text


def figure(
    metric_id: str, row: Mapping[str, Any] | None, t: Translate, lang: str, label: str = ""
) -> Figure:
    """A catalogue row ready to show, or why it has no value (none, or too few)."""
    if row is None or not row.get("n"):
        note = t("metrics.no_data")
        return Figure(metric_id, None, label, 0, None, None, note, False, None, None, None)
    n = int(row["n"])
    estimate, low, high = row.get("estimate"), row.get("low"), row.get("high")
    if row.get("reportable") and estimate is not None and low is not None and high is not None:
        interval = t(
            "surveys.interval",
            low=format_value(metric_id, low, lang),
            high=format_value(metric_id, high, lang),
        )
        value = format_value(metric_id, estimate, lang)
        return Figure(metric_id, None, label, n, value, interval, None, False, estimate, low, high)
    note = t("metrics.insufficient", count=n, n=f"{n:,}".replace(",", "\u00a0"))
    return Figure(metric_id, None, label, n, None, None, note, False, None, None, None)


@dataclass(frozen=True)
class Move:
    """A change that survived the false-discovery control, ready to show."""

    up: bool
    better: bool
    change: str
    interval: str
    since: str  # the earlier month, "YYYY-MM"


def move_of(row: Mapping[str, Any], t: Translate, lang: str) -> Move:
    metric_id = row["metric"]
    return Move(
        up=row["difference"] > 0,
        better=bool(row["better"]),
        change=format_change(metric_id, row["difference"], lang),
        interval=t(
            "surveys.interval",
            low=format_change(metric_id, row["low"], lang),
            high=format_change(metric_id, row["high"], lang),
        ),
        since=str(row["a_period"])[:7],
    )


@dataclass(frozen=True)
class Tile:
    """One metric on the overview: its latest whole month, the trend, and a mover's arrow."""

    metric: str
    name: str
    direction: str  # which way is better: "higher" or "lower"
    month: str | None
    figure: Figure
    move: Move | None
    chart: dict[str, Any] | None


def month_axis(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` ("YYYY-MM"), both included.

    >>> month_axis("2025-11", "2026-02")
    ['2025-11', '2025-12', '2026-01', '2026-02']
    """
    start, end = pd.Period(first, "M"), pd.Period(last, "M")
    return [str(p) for p in pd.period_range(start, end, freq="M")]


def tiles(
    monthly: pd.DataFrame, movers: pd.DataFrame, last_month: str, t: Translate, lang: str
) -> list[Tile]:
    """The tiles from the catalogue by month and the whole base's movers.

    Each shows the last whole month, or for a metric without it (churn needs ``churn_days``
    after the month to be judged) its latest month before; the sparkline has every month up to
    the last whole one, a month below the minimum sample as a gap.
    """
    rows = monthly[monthly["month"] <= last_month] if len(monthly) else monthly
    months = month_axis(str(rows["month"].min()), last_month) if len(rows) else []
    moved = {r["metric"]: r for r in movers.to_dict("records") if r["moved"]} if len(movers) else {}
    out = []
    for metric_id in TILE_METRICS:
        mine = {r["month"]: r for r in rows[rows["metric"] == metric_id].to_dict("records")}
        month = max((m for m, r in mine.items() if r["n"]), default=None)
        points: list[tuple[float, float, float] | None] = []
        for m in months:
            r = mine.get(m)
            ok = r is not None and r["reportable"] and r["estimate"] is not None
            points.append((r["estimate"], r["low"], r["high"]) if ok and r else None)
        shown = month == last_month and metric_id in moved
        out.append(
            Tile(
                metric=metric_id,
                name=metric_name(metric_id, t),
                direction=_BY_ID[metric_id].direction,
                month=month,
                figure=figure(metric_id, mine.get(month) if month else None, t, lang),
                move=move_of(moved[metric_id], t, lang) if shown else None,
                chart=sparkline_option(
                    metric_name(metric_id, t), months, points, percent=scale(metric_id) == "share"
                )
                if any(points)
                else None,
            )
        )
    return out


def group_label(dimension: str, value: str, journey: JourneyMap, t: Translate) -> str:
    """A group's name: the map's name for a touchpoint, stage or department, the channel's
    label, the month as it is; events on no touchpoint are "not on the map"."""
    if value == NO_TOUCHPOINT and dimension != "month":
        return t("metrics.group.none")
    names: dict[str, str] = {}
    if dimension == "touchpoint":
        names = {tp.id: tp.name for tp in journey.touchpoints}
    elif dimension == "stage":
        names = {s.id: s.name for s in journey.stages}
    elif dimension == "department":
        names = {d.id: d.name for d in journey.departments}
    elif dimension == "channel":
        key = f"channel.{value}"
        label = t(key)
        return value if label == key else label
    return names.get(value, value)


def group_order(dimension: str, values: Sequence[str], journey: JourneyMap) -> list[str]:
    """Groups in the map's order (journey order for stages), then the rest sorted."""
    order: list[str] = []
    if dimension == "touchpoint":
        order = [tp.id for tp in journey.touchpoints]
    elif dimension == "stage":
        order = [s.id for s in journey.stages]
    elif dimension == "department":
        order = [d.id for d in journey.departments]
    present = set(values)
    known = [v for v in order if v in present]
    return known + sorted(present - set(known), key=lambda v: (v == NO_TOUCHPOINT, v))


@dataclass(frozen=True)
class MoverRow:
    metric: str
    name: str
    group: str
    group_name: str
    before: str
    after: str
    move: Move
    adjusted_p: float


def movers_card(
    frame: pd.DataFrame, journey: JourneyMap, t: Translate, lang: str, *, limit: int = 8
) -> dict[str, Any]:
    """The movers by touchpoint: only the rows that survived BH, largest change first."""
    if not len(frame):
        return {"rows": [], "compared": 0, "a": None, "b": None}
    rows = []
    for r in frame[frame["moved"]].head(limit).to_dict("records"):
        metric_id, group = r["metric"], str(r["group"])
        rows.append(
            MoverRow(
                metric=metric_id,
                name=metric_name(metric_id, t),
                group=group,
                group_name=group_label("touchpoint", group, journey, t),
                before=format_value(metric_id, r["a"], lang),
                after=format_value(metric_id, r["b"], lang),
                move=move_of(r, t, lang),
                adjusted_p=float(r["adjusted_p"]),
            )
        )
    first = frame.iloc[0]
    return {
        "rows": rows,
        "compared": len(frame),
        "moved": int(frame["moved"].sum()),
        "a": str(first["a_period"])[:7],
        "b": str(first["b_period"])[:7],
    }


def effort_card(
    figures: Mapping[str, Any],
    touchpoints: pd.DataFrame,
    journey: JourneyMap,
    t: Translate,
    lang: str,
    *,
    limit: int = 8,
) -> dict[str, Any]:
    """Mean effort per touchpoint where matters began (worst first, bars relative to the
    worst) and the index's rank correlation with CES answers about the same matters."""
    rows = []
    shown = touchpoints.head(limit).to_dict("records") if len(touchpoints) else []
    top = max((float(r["effort"]) for r in shown if r["reportable"]), default=0.0) or 1.0
    for r in shown:
        effort = float(r["effort"])
        rows.append(
            {
                "touchpoint": r["touchpoint"],
                "name": group_label("touchpoint", str(r["touchpoint"]), journey, t),
                "matters": int(r["matters"]),
                "effort": localise_number(f"{effort:.2f}", lang),
                "bar": round(100 * min(effort / top, 1.0), 1) if r["reportable"] else 0,
                "reportable": bool(r["reportable"]),
            }
        )
    rho = figures.get("matter_ces_spearman")
    return {
        "rows": rows,
        "rho": None if rho is None else localise_number(f"{rho:+.2f}", lang),
        "rho_n": int(figures.get("matter_ces_n") or 0),
        "customer_rho": _maybe(figures.get("customer_ces_spearman"), lang),
        "customer_n": int(figures.get("customer_ces_n") or 0),
    }


def _maybe(value: float | None, lang: str) -> str | None:
    return None if value is None else localise_number(f"{value:+.2f}", lang)


def catalogue_table(
    frame: pd.DataFrame, dimension: str, journey: JourneyMap, t: Translate, lang: str
) -> dict[str, Any]:
    """The catalogue as a matrix: a row per metric (catalogue order), a column per group."""
    column = dimension
    values = [str(v) for v in frame[column].unique()] if len(frame) else []
    groups = group_order(dimension, values, journey)
    cells = {(r["metric"], str(r[column])): r for r in frame.to_dict("records")}
    rows = []
    for metric_id in LAKE_METRICS:
        if not any((metric_id, g) in cells for g in groups):
            continue
        rows.append(
            {
                "metric": metric_id,
                "name": metric_name(metric_id, t),
                "unit": _BY_ID[metric_id].unit,
                "direction": _BY_ID[metric_id].direction,
                "docs": _BY_ID[metric_id].docs,
                "cells": [figure(metric_id, cells.get((metric_id, g)), t, lang) for g in groups],
            }
        )
    columns = [{"key": g, "label": group_label(dimension, g, journey, t)} for g in groups]
    return {"columns": columns, "rows": rows}

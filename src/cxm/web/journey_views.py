"""What the Journey page shows, built from the lake: the view models behind its templates.

:func:`parse_params` validates the page's query parameters; :func:`wall_context` builds the
stage columns and touchpoint cards (health, department highlighting), :func:`detail_context` a
touchpoint's detail and :func:`funnel_context` the funnel rows. Pure functions of an analytics
engine, the journey map and the parameters; the routes in :mod:`cxm.web.journey` render them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from pydantic import ValidationError

from cxm.analytics import Engine
from cxm.errors import CxmError
from cxm.journeys.analytics import (
    FunnelQuery,
    PathQuery,
    ProgressionQuery,
    ScorecardQuery,
    run_funnel,
    run_paths,
    run_progression,
    run_sankey,
    run_scorecard,
)
from cxm.journeys.map import JourneyMap, Touchpoint
from cxm.journeys.paths import END, START
from cxm.journeys.scorecard import MIN_CUSTOMERS, POOR_RATE, WATCH_RATE
from cxm.web.journey_charts import OTHER, funnel_option, sankey_option

PATH_DEPTH = 3
PATH_TOP = 10
FUNNEL_MAX_STEPS = 5
# Non-zero at every step on the demo company: a visit to the site, the offers, a subscription.
DEFAULT_FUNNEL = ("home-page", "offer-pages", "subscription-start")
DEFAULT_WINDOW_DAYS = 30.0
MAX_WINDOW_DAYS = 366.0
HEALTH = ("good", "watch", "poor", "no-data")
HEALTH_COLORS = {"good": "#16a34a", "watch": "#d97706", "poor": "#dc2626", "no-data": "#94a3b8"}

Translate = Callable[..., str]


@dataclass(frozen=True)
class JourneyParams:
    """What the page was asked for, validated; ``problems`` say what was not understood.

    ``end`` is inclusive (the last day shown); the query objects take the first day excluded.
    """

    start: date | None = None
    end: date | None = None
    department: str | None = None
    steps: tuple[str, ...] = DEFAULT_FUNNEL
    window_days: float = DEFAULT_WINDOW_DAYS
    problems: list[str] = field(default_factory=list)
    funnel_problems: list[str] = field(default_factory=list)

    def period(self) -> dict[str, date | None]:
        return {"start": self.start, "end": self.end + timedelta(days=1) if self.end else None}

    def query_string(self, **extra: Any) -> str:
        """The page's filters as a query string (with ``extra``), for links that keep them."""
        given = {"start": self.start, "end": self.end, "department": self.department, **extra}
        return urlencode([(key, str(value)) for key, value in given.items() if value])


def parse_params(
    journey: JourneyMap | None,
    t: Translate,
    *,
    start: str | None,
    end: str | None,
    department: str | None,
    steps: Sequence[str] | None,
    window: str | None,
) -> JourneyParams:
    """Validate the query parameters; what is wrong becomes a message and its default is used.

    >>> from cxm.web.i18n import translator
    >>> p = parse_params(None, translator("en"), start="2026-01-01", end="nope",
    ...                  department=None, steps=None, window="3")
    >>> (p.start, p.end, p.window_days, p.problems)
    (datetime.date(2026, 1, 1), None, 3.0, ['The end date “nope” is not a date; use YYYY-MM-DD.'])
    """
    problems: list[str] = []
    funnel_problems: list[str] = []
    first = _parse_date(start, "start", t, problems)
    last = _parse_date(end, "end", t, problems)
    if first and last and first > last:
        problems.append(t("journey.error.period", start=first, end=last))
        first = last = None
    dept = (department or "").strip() or None
    if dept and journey is not None and dept not in {d.id for d in journey.departments}:
        problems.append(t("journey.error.department", department=dept))
        dept = None
    chosen: tuple[str, ...] = DEFAULT_FUNNEL
    if steps is not None:
        picked = tuple(s.strip() for s in steps if s.strip())
        known = {tp.id for tp in journey.touchpoints} if journey is not None else set()
        unknown = [s for s in picked if journey is not None and s not in known]
        if unknown:
            funnel_problems.append(t("journey.error.touchpoint", touchpoint=unknown[0]))
        elif not 2 <= len(picked) <= FUNNEL_MAX_STEPS:
            funnel_problems.append(t("journey.error.steps", max=FUNNEL_MAX_STEPS))
        else:
            chosen = picked
    window_days = DEFAULT_WINDOW_DAYS
    if window is not None and window.strip():
        try:
            window_days = float(window)
        except ValueError:
            window_days = math.nan
        if not 0 < window_days <= MAX_WINDOW_DAYS:  # also false for NaN
            funnel_problems.append(t("journey.error.window", value=window, max=366))
            window_days = DEFAULT_WINDOW_DAYS
    return JourneyParams(first, last, dept, chosen, window_days, problems, funnel_problems)


def _parse_date(value: str | None, which: str, t: Translate, problems: list[str]) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(t(f"journey.error.{which}", value=value.strip()[:40]))
        return None


# -- the numbers ----------------------------------------------------------------------------


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def wall_context(
    engine: Engine, journey: JourneyMap, params: JourneyParams, t: Translate
) -> dict[str, Any]:
    """The stages with their progression numbers and touchpoint cards, in journey order."""
    period = params.period()
    scores = {
        r["touchpoint"]: r for r in _rows(run_scorecard(engine, journey, ScorecardQuery(**period)))
    }
    # Progression needs events on the map; with none every number is zero anyway.
    any_visits = any(r["visits"] for r in scores.values())
    progress: dict[str, dict[str, Any]] = {}
    if any_visits:
        frame = run_progression(engine, journey, ProgressionQuery(**period))
        progress = {r["stage"]: r for r in _rows(frame)}
    names = {d.id: d.name for d in journey.departments}
    stages = []
    for stage in sorted(journey.stages, key=lambda s: s.rank):
        cards = [
            _card(tp, scores.get(tp.id, {}), names, params.department)
            for tp in journey.touchpoints
            if tp.stage == stage.id
        ]
        stats = progress.get(stage.id, {})
        stages.append(
            {
                "id": stage.id,
                "name": stage.name,
                "customers": stats.get("customers") or 0,
                "median_time": _days(stats.get("median_days_in_stage"), t),
                "stalled": stats.get("stalled") or 0,
                "regressions": stats.get("regressions_out") or 0,
                "cards": cards,
            }
        )
    return {
        "stages": stages,
        "departments": journey.departments,
        "detail_query": params.query_string(),
        "health_levels": HEALTH,
        "min_customers": MIN_CUSTOMERS,
        "watch_pct": round(100 * WATCH_RATE),
        "poor_pct": round(100 * POOR_RATE),
    }


def _card(
    tp: Touchpoint, score: dict[str, Any], names: dict[str, str], department: str | None
) -> dict[str, Any]:
    influence = sorted(tp.influence.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "id": tp.id,
        "name": tp.name,
        "owner": tp.owner,
        "owner_dept": names.get(tp.owner, tp.owner),
        "owner_name": tp.owner_name,
        "visits": score.get("visits") or 0,
        "customers": score.get("customers") or 0,
        "repeat_rate": score.get("repeat_rate"),
        "contact_after_rate": score.get("contact_after_rate"),
        "health": score.get("health") or "no-data",
        "influence": [
            {"id": dept, "name": names.get(dept, dept), "weight": weight}
            for dept, weight in influence
        ],
        "influence_map": dict(influence),
        "weight": (tp.influence.get(department) or None) if department else None,
    }


def detail_context(
    engine: Engine, journey: JourneyMap, params: JourneyParams, touchpoint: str, t: Translate
) -> dict[str, Any]:
    """One touchpoint: its scorecard row, the top paths out of and into it, a Sankey out."""
    tp = journey.touchpoint(touchpoint)
    period = params.period()
    scores = run_scorecard(engine, journey, ScorecardQuery(**period))
    row = next((r for r in _rows(scores) if r["touchpoint"] == tp.id), {})
    out_query = PathQuery(
        touchpoint=tp.id, direction="out", depth=PATH_DEPTH, top=PATH_TOP, **period
    )
    in_query = out_query.model_copy(update={"direction": "in"})
    names = {p.id: p.name for p in journey.touchpoints}
    names_of: dict[str, str] = {
        **names,
        END: t("journey.path.end"),
        START: t("journey.path.start"),
        OTHER: t("journey.path.other"),
    }
    sankey = run_sankey(engine, journey, out_query)
    return {
        "tp": tp,
        "stage_name": journey.stage(tp.stage).name,
        "owner_dept": next((d.name for d in journey.departments if d.id == tp.owner), tp.owner),
        "depth": PATH_DEPTH,
        "score": {
            "visits": row.get("visits") or 0,
            "customers": row.get("customers") or 0,
            "repeat_rate": row.get("repeat_rate"),
            "contact_after_rate": row.get("contact_after_rate"),
            "health": row.get("health") or "no-data",
        },
        "paths_out": _path_rows(run_paths(engine, journey, out_query), names_of),
        "paths_in": _path_rows(run_paths(engine, journey, in_query), names_of),
        "sankey": sankey_option(sankey, names_of) if sankey["links"] else None,
    }


def _path_rows(frame: pd.DataFrame, names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {**row, "steps": [names.get(str(step), str(step)) for step in row["path"]]}
        for row in _rows(frame)
    ]


def funnel_context(
    engine: Engine, journey: JourneyMap, params: JourneyParams, t: Translate
) -> dict[str, Any]:
    """The funnel over ``params.steps``: rows per step and a bar chart of customers."""
    names = {tp.id: tp.name for tp in journey.touchpoints}
    rows: list[dict[str, Any]] = []
    problems = list(params.funnel_problems)
    if not problems:
        try:
            query = FunnelQuery(
                steps=list(params.steps), window_days=params.window_days, **params.period()
            )
            rows = _rows(run_funnel(engine, journey, query))
        except ValidationError as exc:
            problems.append("; ".join(str(e["msg"]) for e in exc.errors()))
        except CxmError as exc:
            problems.append(exc.message)
    if not rows and not problems:  # nothing in the lake: every step at zero
        rows = [
            {"step": i + 1, "label": s, "customers": 0, "conversion": None,
             "step_conversion": None, "drop_off": 0, "median_seconds_to_convert": None}
            for i, s in enumerate(params.steps)
        ]  # fmt: skip
    for row in rows:
        row["name"] = names.get(row["label"], row["label"])
        row["median_time"] = humanize_seconds(row.get("median_seconds_to_convert"), t)
    return {
        "funnel_rows": rows,
        "funnel_chart": funnel_option(rows, t) if rows else None,
        "funnel_problems": problems,
        "funnel_steps": list(params.steps) + [""] * (FUNNEL_MAX_STEPS - len(params.steps)),
        "window_days": params.window_days,
        "touchpoint_choices": [
            (stage.name, [tp for tp in journey.touchpoints if tp.stage == stage.id])
            for stage in sorted(journey.stages, key=lambda s: s.rank)
        ],
    }


def _days(days: float | None, t: Translate) -> str:
    return humanize_seconds(None if days is None else days * 86400, t)


def humanize_seconds(seconds: float | None, t: Translate) -> str:
    """A duration in the largest unit that keeps it readable: seconds, minutes, hours or days.

    >>> from cxm.web.i18n import translator
    >>> t = translator("en")
    >>> [humanize_seconds(s, t) for s in (None, 42, 209.6, 7200, 1137187.7)]
    ['—', '42 seconds', '3.5 minutes', '2 hours', '13 days']
    """
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    for unit, size, limit in (
        ("seconds", 1, 90),
        ("minutes", 60, 90 * 60),
        ("hours", 3600, 48 * 3600),
    ):
        if seconds < limit:
            return _amount(seconds / size, unit, t)
    return _amount(seconds / 86400, "days", t)


def _amount(value: float, unit: str, t: Translate) -> str:
    rounded = round(value) if value >= 10 else round(value, 1)
    whole = float(rounded).is_integer()
    count: int | float = int(rounded) if whole else rounded
    text = str(count) if t("journey.decimal") == "." else str(count).replace(".", ",")
    return t(f"journey.duration.{unit}", count=count, value=text)

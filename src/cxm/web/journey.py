"""The Journey page: the customer journey map as a wall, a touchpoint's detail and a funnel.

``/journey`` shows the stages as columns in journey order and each stage's touchpoints as cards
coloured by health (the scorecard's judgement); a department filter highlights the touchpoints
that department influences. ``/journey/touchpoints/{id}`` is a touchpoint's detail (scorecard,
top paths out of and into it, a Sankey of the paths out) and ``/journey/funnel`` a funnel over
chosen touchpoints. With htmx both answer a fragment; without it, the whole page with that part
filled in. Every number comes from the lake through :mod:`cxm.journeys.analytics`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from cxm.analytics import Engine
from cxm.errors import CxmError, NotFound
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
from cxm.web.i18n import translator
from cxm.web.viewer import SignedIn, Viewer, is_partial, render_page, workspace_of

router = APIRouter(include_in_schema=False)

PATH_DEPTH = 3
PATH_TOP = 10
SANKEY_NODES_PER_STEP = 7
OTHER = "__other__"  # the Sankey node of the quieter touchpoints at a position
FUNNEL_MAX_STEPS = 5
# Non-zero at every step on the demo company: a visit to the site, the offers, a subscription.
DEFAULT_FUNNEL = ("home-page", "offer-pages", "subscription-start")
DEFAULT_WINDOW_DAYS = 30.0
MAX_WINDOW_DAYS = 366.0
HEALTH = ("good", "watch", "poor", "no-data")
HEALTH_COLORS = {"good": "#16a34a", "watch": "#d97706", "poor": "#dc2626", "no-data": "#94a3b8"}

_CHART_BASE: dict[str, Any] = {
    "textStyle": {"fontFamily": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                  "color": "#475569"},
    "animationDuration": 400,
}  # fmt: skip

Translate = Callable[..., str]
StepList = Annotated[list[str] | None, Query(alias="step")]


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


def busiest_links(links: Sequence[dict[str, Any]], per_step: int) -> list[dict[str, Any]]:
    """The links among the ``per_step`` busiest nodes at each position; flows into the others
    end in one ``OTHER`` node per position (a readable Sankey, not one of every path).

    >>> links = [{"source": "0:a", "target": f"1:{n}", "value": v}
    ...          for n, v in zip("bcd", (5, 3, 1))]
    >>> [(k["target"], k["value"]) for k in busiest_links(links, 2)]
    [('1:b', 5), ('1:c', 3), ('1:__other__', 1)]
    """
    inflow: Counter[str] = Counter()
    for link in links:
        inflow[link["target"]] += int(link["value"])
    by_position: dict[str, list[str]] = {}
    for node, _ in inflow.most_common():
        by_position.setdefault(node.split(":", 1)[0], []).append(node)
    keep = {node for nodes in by_position.values() for node in nodes[:per_step]}
    kept: Counter[tuple[str, str]] = Counter()
    for link in links:
        source, target = link["source"], link["target"]
        if source.startswith("0:") or source in keep:
            if target not in keep:
                target = target.split(":", 1)[0] + ":" + OTHER
            kept[(source, target)] += int(link["value"])
    return [
        {"source": s, "target": t, "value": v}
        for (s, t), v in sorted(kept.items(), key=lambda i: (-i[1], i[0]))
    ]


def sankey_option(sankey: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """An ECharts Sankey of the paths out; a node is a touchpoint at a position.

    Node names must be unique, so a touchpoint at position *i* carries *i* zero-width spaces:
    tooltips and labels show just the name.
    """
    links = busiest_links(sankey["links"], SANKEY_NODES_PER_STEP)
    nodes = sorted({n for k in links for n in (k["source"], k["target"])},
                   key=lambda n: (int(n.split(":", 1)[0]), n))  # fmt: skip

    def label(node: str) -> str:
        position, touchpoint = node.split(":", 1)
        return names.get(touchpoint, touchpoint) + "\u200b" * int(position)

    return {
        **_CHART_BASE,
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "sankey",
                "left": 8,
                "right": 140,
                "top": 8,
                "bottom": 8,
                "nodeGap": 10,
                "nodeAlign": "left",
                "emphasis": {"focus": "adjacency"},
                "lineStyle": {"color": "gradient", "opacity": 0.35},
                "label": {"fontSize": 11},
                "data": [{"name": label(n)} for n in nodes],
                "links": [
                    {
                        "source": label(k["source"]),
                        "target": label(k["target"]),
                        "value": k["value"],
                    }
                    for k in links
                ],
            }
        ],
    }


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


def funnel_option(rows: Sequence[dict[str, Any]], t: Translate) -> dict[str, Any]:
    """Customers at each step as bars, each labelled with its conversion from step one."""
    return {
        **_CHART_BASE,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 16, "top": 24, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [r["name"] for r in rows],
            "axisTick": {"show": False},
        },
        "yAxis": {"type": "value", "minInterval": 1, "name": t("journey.funnel.customers")},
        "series": [
            {
                "type": "bar",
                "name": t("journey.funnel.customers"),
                "barMaxWidth": 56,
                "label": {"show": True, "position": "top"},
                "itemStyle": {"color": "#2563eb", "borderRadius": [4, 4, 0, 0]},
                "data": [r["customers"] for r in rows],
            }
        ],
    }


def _days(days: float | None, t: Translate) -> str:
    return humanize_seconds(None if days is None else days * 86400, t)


def humanize_seconds(seconds: float | None, t: Translate) -> str:
    """A duration in the largest unit that keeps it readable: seconds, minutes, hours or days.

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


# -- routes ---------------------------------------------------------------------------------


def _journey_or_none(request: Request) -> JourneyMap | None:
    try:
        return workspace_of(request).journey_map()
    except NotFound:
        return None


def _params(
    request: Request, viewer: Viewer, journey: JourneyMap | None, steps: list[str] | None
) -> JourneyParams:
    q = request.query_params
    return parse_params(
        journey,
        translator(viewer.lang),
        start=q.get("start"),
        end=q.get("end"),
        department=q.get("department"),
        steps=steps,
        window=q.get("window"),
    )


def _page(
    request: Request,
    viewer: Viewer,
    journey: JourneyMap | None,
    params: JourneyParams,
    touchpoint: str | None = None,
) -> Response:
    t = translator(viewer.lang)
    context: dict[str, Any] = {
        "journey": journey,
        "params": params,
        "detail": None,
        "problem": None,
    }
    status = 400 if params.problems else 200
    if journey is not None:
        engine = workspace_of(request).query_engine()
        context.update(wall_context(engine, journey, params, t))
        context.update(funnel_context(engine, journey, params, t))
        if context["funnel_problems"]:
            status = 400
        if touchpoint:
            detail, problem = _detail(engine, journey, params, touchpoint, t)
            context["detail"] = detail
            if problem:
                params.problems.append(problem)
                status = 404
    return render_page(
        request, "journey.html", context, viewer=viewer, active="journey", status_code=status
    )


def _detail(
    engine: Engine, journey: JourneyMap, params: JourneyParams, touchpoint: str, t: Translate
) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return detail_context(engine, journey, params, touchpoint, t), None
    except NotFound:
        return None, t("journey.error.touchpoint", touchpoint=touchpoint[:100])


def _fragment(
    request: Request, viewer: Viewer, template: str, context: dict[str, Any], status: int
) -> HTMLResponse:
    return render_page(request, template, context, viewer=viewer, status_code=status)


@router.get("/journey", response_class=HTMLResponse)
def journey_page(request: Request, viewer: SignedIn, step: StepList = None) -> Response:
    journey = _journey_or_none(request)
    params = _params(request, viewer, journey, step)
    return _page(request, viewer, journey, params, request.query_params.get("touchpoint"))


@router.get("/journey/touchpoints/{touchpoint}", response_class=HTMLResponse)
def touchpoint_detail(request: Request, viewer: SignedIn, touchpoint: str) -> Response:
    journey = _journey_or_none(request)
    params = _params(request, viewer, journey, None)
    if journey is None or params.problems or not is_partial(request):
        return _page(request, viewer, journey, params, touchpoint)
    t = translator(viewer.lang)
    detail, problem = _detail(workspace_of(request).query_engine(), journey, params, touchpoint, t)
    context = {"detail": detail, "problem": problem, "params": params}
    return _fragment(request, viewer, "_journey_detail.html", context, 404 if problem else 200)


@router.get("/journey/funnel", response_class=HTMLResponse)
def funnel(request: Request, viewer: SignedIn, step: StepList = None) -> Response:
    journey = _journey_or_none(request)
    params = _params(request, viewer, journey, step or [])
    if journey is None or params.problems or not is_partial(request):
        return _page(request, viewer, journey, params)
    context = funnel_context(
        workspace_of(request).query_engine(), journey, params, translator(viewer.lang)
    )
    status = 400 if context["funnel_problems"] else 200
    return _fragment(request, viewer, "_journey_funnel.html", context, status)

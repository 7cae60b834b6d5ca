"""The Journey page: the customer journey map as a wall, a touchpoint's detail and a funnel.

``/journey`` shows the stages as columns in journey order and each stage's touchpoints as cards
coloured by health (the scorecard's judgement); a department filter highlights the touchpoints
that department influences. ``/journey/touchpoints/{id}`` is a touchpoint's detail (scorecard,
top paths out of and into it, a Sankey of the paths out) and ``/journey/funnel`` a funnel over
chosen touchpoints. With htmx both answer a fragment; without it, the whole page with that part
filled in. Every number comes from the lake through :mod:`cxm.journeys.analytics`; the
view models are built in :mod:`cxm.web.journey_views`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from cxm.analytics import Engine
from cxm.errors import NotFound
from cxm.journeys.map import JourneyMap
from cxm.web.i18n import translator
from cxm.web.journey_views import (
    JourneyParams,
    Translate,
    detail_context,
    funnel_context,
    parse_params,
    wall_context,
)
from cxm.web.viewer import SignedIn, Viewer, is_partial, render_page, workspace_of

router = APIRouter(include_in_schema=False)

StepList = Annotated[list[str] | None, Query(alias="step")]


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

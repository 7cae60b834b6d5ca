"""The Text page: topics × sentiment, trending complaints, search and verbatims; and a page per
topic with its weekly trend, touchpoints, departments, customers and verbatims, where a person
can rename, pin or merge it.

Verbatims are redacted (e-mails, phones, account and identity numbers) unless the signed-in
token has the ``pii`` scope (admin has it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cxm.errors import CxmError
from cxm.store.metadata import utcnow
from cxm.web.i18n import translator
from cxm.web.session import CSRF_FIELD
from cxm.web.viewer import (
    SignedIn,
    error_page,
    refuse_change,
    render_page,
    workspace_of,
)

router = APIRouter(include_in_schema=False)
SENTIMENT_ORDER = ("negative", "mixed", "neutral", "positive")


def _bar(counts: dict[str, int]) -> list[dict[str, Any]]:
    total = sum(counts.get(k, 0) for k in SENTIMENT_ORDER) or 1
    return [
        {"key": k, "n": counts.get(k, 0), "pct": round(100 * counts.get(k, 0) / total, 1)}
        for k in SENTIMENT_ORDER
        if counts.get(k, 0)
    ]


@router.get("/text", response_class=HTMLResponse)
def text_page(request: Request, viewer: SignedIn, q: str = "") -> Response:
    ws = workspace_of(request)
    pii = viewer.principal.can("pii")
    now = utcnow()
    topics = ws.text.topics()
    hits: list[Any] = []
    problem = None
    if q.strip():
        try:
            hits = ws.text.search(q, can_see_pii=pii, limit=20)
        except CxmError as exc:
            problem = exc.message
    context = {
        "summary": ws.text.summary(),
        "topics": [{"row": t, "bar": _bar(t.sentiment)} for t in topics],
        "trending": [t for t in ws.text.trending(now=now, days=14) if t.recent][:8],
        "recent": ws.text.verbatims(can_see_pii=pii, sentiment="negative", limit=12),
        "q": q,
        "hits": hits,
        "problem": problem,
        "pii": pii,
    }
    return render_page(request, "text.html", context, viewer=viewer, active="text")


@router.get("/text/topics/{topic_id}", response_class=HTMLResponse)
def topic_page(request: Request, viewer: SignedIn, topic_id: int) -> Response:
    ws = workspace_of(request)
    try:
        detail = ws.text.topic(topic_id, now=utcnow(), weeks=26)
    except CxmError as exc:
        return error_page(request, exc.http_status, exc.message, viewer, "text")
    t = translator(viewer.lang)
    chart = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 40, "right": 40, "top": 30, "bottom": 30},
        "xAxis": {"type": "category", "data": [w["week"] for w in detail.weeks]},
        "yAxis": [{"type": "value"}, {"type": "value", "min": -1, "max": 1}],
        "series": [
            {"name": t("text.chart.texts"), "type": "bar",
             "data": [w["texts"] for w in detail.weeks]},
            {"name": t("text.chart.negative"), "type": "bar",
             "data": [w["negative"] for w in detail.weeks]},
            {"name": t("text.chart.score"), "type": "line", "yAxisIndex": 1,
             "data": [w["mean_score"] for w in detail.weeks]},
        ],
    }  # fmt: skip
    others = [r for r in ws.text.topics() if r.id != topic_id]
    context = {
        "d": detail,
        "bar": _bar(detail.topic.sentiment),
        "chart": chart,
        "others": others,
        "verbatims": ws.text.verbatims(
            can_see_pii=viewer.principal.can("pii"), topic_id=topic_id, limit=20
        ),
        "pii": viewer.principal.can("pii"),
    }
    return render_page(request, "text_topic.html", context, viewer=viewer, active="text")


@router.post("/text/topics/{topic_id}/change", response_class=HTMLResponse)
def change_topic(
    request: Request,
    viewer: SignedIn,
    topic_id: int,
    action: Annotated[str, Form(max_length=16)],
    name: Annotated[str, Form(max_length=300)] = "",
    merge: Annotated[list[int] | None, Form()] = None,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    refused = refuse_change(request, viewer, csrf_token, active="text",
                             need_write="text.need_write")  # fmt: skip
    if refused is not None:
        return refused
    text = workspace_of(request).text
    actor = viewer.principal.actor
    try:
        if action == "rename":
            text.rename_topic(topic_id, name, actor=actor)
        elif action == "pin":
            text.pin_topic(topic_id, pinned=True, actor=actor)
        elif action == "unpin":
            text.pin_topic(topic_id, pinned=False, actor=actor)
        elif action == "merge":
            text.merge_topics(topic_id, list(merge or []), actor=actor)
        else:
            return error_page(request, 400, f"unknown action {action!r}", viewer, "text")
    except CxmError as exc:
        return error_page(request, exc.http_status, exc.message, viewer, "text")
    return RedirectResponse(f"/text/topics/{topic_id}", status_code=303)

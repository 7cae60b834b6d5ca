"""Text analytics over REST: analyse texts, topics (list, detail, discover, rename, merge,
pin), trending complaints, verbatims and semantic search.

``read`` scope to look, ``write`` to change topics or run enrichment. Texts are redacted
(e-mails, phones, account, card and identity numbers) unless the token has the ``pii`` scope
(or ``admin``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cxm.api.deps import get_workspace, require, require_aggregates, write_session
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.errors import InvalidInput
from cxm.metrics.stats import Interval
from cxm.store.metadata import utcnow
from cxm.text import do_merge_topics, do_pin_topic, do_rename_topic
from cxm.text.analysis import TextAnalysis
from cxm.text.queries import TopicRow, Verbatim
from cxm.workspace import Workspace

router = APIRouter(prefix="/api/text", tags=["text"])
require_read = require("read")
require_write = require("write")
MAX_ANALYSE = 200
# All texts of one request together; a single text may be a 1 MB paste.
MAX_ANALYSE_CHARS = 5_000_000


class AnalyseRequest(BaseModel):
    texts: list[Any] = Field(
        max_length=MAX_ANALYSE, description=f"Up to {MAX_ANALYSE} texts (strings) to analyse"
    )


class TopicChange(BaseModel):
    name: str | None = Field(default=None, max_length=200, description="A new name")
    pinned: bool | None = Field(default=None, description="Pin (kept by rediscovery) or unpin")


class MergeRequest(BaseModel):
    topics: list[int] = Field(min_length=1, max_length=100, description="Topics to merge in")


class DiscoverRequest(BaseModel):
    topics: int | None = Field(default=None, ge=1, le=200, description="How many (default: chosen)")


def can_see_pii(principal: ApiPrincipal) -> bool:
    return principal.can("pii")


def analysis_body(a: TextAnalysis) -> dict[str, Any]:
    return {"ok": True, **a.readings(), "personal_data": list(a.pii)}


def interval_body(i: Interval) -> dict[str, Any]:
    if i.n == 0:
        return {"estimate": None, "low": None, "high": None, "n": 0}
    return {"estimate": round(i.estimate, 4), "low": round(i.low, 4), "high": round(i.high, 4),
            "n": i.n}  # fmt: skip


def topic_body(t: TopicRow) -> dict[str, Any]:
    body = asdict(t)
    body["negative_share"] = interval_body(t.negative_share)
    return body


def verbatim_body(v: Verbatim) -> dict[str, Any]:
    body = asdict(v)
    body["occurred_at"] = v.occurred_at.isoformat()
    return body


@router.post("/analyse", summary="Analyse texts without storing them (each bad one is flagged)")
def analyse(
    body: AnalyseRequest,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    strings = [(i, t) for i, t in enumerate(body.texts) if isinstance(t, str)]
    total = sum(len(t) for _, t in strings)
    if total > MAX_ANALYSE_CHARS:
        raise InvalidInput(
            f"the texts hold {total:,} characters together; send at most "
            f"{MAX_ANALYSE_CHARS:,} per request (split them over several)"
        )
    results: list[dict[str, Any]] = [
        {"ok": False, "error": f"texts[{i}] is {type(t).__name__}, not a string"}
        for i, t in enumerate(body.texts)
    ]
    for (i, _text), analysis in zip(strings, ws.text.analyse([t for _, t in strings]), strict=True):
        results[i] = analysis_body(analysis)
    return JsonResponse({"ok": True, "results": results, "model": ws.text.model.version})


@router.post("/enrich", summary="Analyse texts that arrived since the last run (bounded)")
def enrich(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_write)
) -> JsonResponse:
    report = ws.text.enrich(max_batches=5)
    return JsonResponse({"ok": True, **asdict(report)})


@router.get("/model", summary="The sentiment model in use here and its measured accuracy")
def model_card(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_aggregates)
) -> JsonResponse:
    return JsonResponse({"ok": True, **ws.text.model_card()})


@router.get("/summary", summary="Analysed texts by language, sentiment, flag and model")
def summary(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_aggregates)
) -> JsonResponse:
    return JsonResponse({"ok": True, **ws.text.summary()})


@router.get("/topics", summary="Every topic with its texts by sentiment and language")
def topics(
    since: datetime | None = Query(default=None, description="Texts from (ISO 8601)"),
    until: datetime | None = Query(default=None, description="Texts before (ISO 8601)"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    rows = ws.text.topics(since=since, until=until)
    return JsonResponse({"ok": True, "topics": [topic_body(t) for t in rows]})


@router.post("/topics/discover", summary="Cluster the analysed texts into topics")
def discover(
    body: DiscoverRequest,
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    report = ws.text.discover_topics(actor=principal.actor, k=body.topics)
    return JsonResponse({"ok": True, **asdict(report)})


@router.get("/topics/{topic_id}", summary="One topic: weekly trend, touchpoints, departments")
def topic(
    topic_id: int,
    weeks: int = Query(default=26, ge=1, le=260),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    detail = ws.text.topic(topic_id, now=utcnow(), weeks=weeks)
    body = asdict(detail)
    body["topic"] = topic_body(detail.topic)
    for c in body["customers"]:
        c["last_at"] = c["last_at"].isoformat() if c["last_at"] else None
    return JsonResponse({"ok": True, **body})


@router.patch("/topics/{topic_id}", summary="Rename a topic, or pin/unpin it")
def change_topic(
    topic_id: int,
    body: TopicChange,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    if body.name is None and body.pinned is None:
        raise InvalidInput("give a name, pinned, or both")
    if body.name is not None:
        do_rename_topic(session, actor=principal.actor, topic_id=topic_id, label=body.name)
    if body.pinned is not None:
        do_pin_topic(session, actor=principal.actor, topic_id=topic_id, pinned=body.pinned)
    session.commit()
    return JsonResponse({"ok": True, "id": topic_id})


@router.post("/topics/{topic_id}/merge", summary="Merge other topics into this one")
def merge(
    topic_id: int,
    body: MergeRequest,
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
) -> JsonResponse:
    do_merge_topics(session, actor=principal.actor, into=topic_id, others=body.topics)
    session.commit()
    return JsonResponse({"ok": True, "id": topic_id, "merged": body.topics})


@router.get("/trending", summary="Complaint topics rising, with adjusted p-values")
def trending(
    days: int = Query(default=14, ge=1, le=180, description="Window length in days"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    rows = ws.text.trending(now=utcnow(), days=days)
    return JsonResponse({"ok": True, "days": days, "topics": [asdict(t) for t in rows]})


@router.get("/verbatims", summary="Example texts, newest first (redacted without pii scope)")
def read_verbatims(
    topic: int | None = Query(default=None),
    sentiment: str | None = Query(default=None, max_length=16),
    touchpoint: str | None = Query(default=None, max_length=100),
    profile: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=20, ge=1, le=200),
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    rows = ws.text.verbatims(
        can_see_pii=can_see_pii(principal), topic_id=topic, sentiment=sentiment,
        touchpoint=touchpoint, profile_id=profile, limit=limit,
    )  # fmt: skip
    return JsonResponse({"ok": True, "verbatims": [verbatim_body(v) for v in rows]})


@router.get("/search", summary="Texts nearest in meaning to q, in every language")
def search(
    q: str = Query(min_length=1, max_length=500, description="What to look for"),
    limit: int = Query(default=20, ge=1, le=100),
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    hits = ws.text.search(q, can_see_pii=can_see_pii(principal), limit=limit)
    return JsonResponse(
        {
            "ok": True,
            "hits": [{"similarity": s, "copies": n, **verbatim_body(v)} for s, n, v in hits],
        }
    )

"""Reading the text analytics: topics × sentiment, trending complaints, verbatims (redacted for
whoever may not see personal data), and the customers and touchpoints behind a topic."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cxm.errors import InvalidInput, NotFound
from cxm.journeys.map import JourneyMap
from cxm.metrics.changes import bh_adjusted
from cxm.metrics.stats import Interval, wilson_interval
from cxm.profiles.tables import profile_events
from cxm.text.redaction import redact
from cxm.text.tables import text_items, text_topics
from cxm.text.texts import item_texts

SENTIMENTS = ("negative", "neutral", "positive", "mixed")


@dataclass
class TopicRow:
    id: int
    name: str
    label: str | None
    keyphrases: dict[str, list[str]]
    pinned: bool
    texts: int
    sentiment: dict[str, int]
    mean_score: float | None
    negative_share: Interval
    languages: dict[str, int]


def topic_name(label: str | None, phrases: dict[str, list[str]]) -> str:
    if label:
        return label
    for lang in ("en", "pl", "ru", *sorted(phrases)):
        if phrases.get(lang):
            return ", ".join(phrases[lang][:3])
    return "unnamed topic"


def _window(since: datetime | None, until: datetime | None) -> Any:
    conds = []
    if since is not None:
        conds.append(text_items.c.occurred_at >= since)
    if until is not None:
        conds.append(text_items.c.occurred_at < until)
    return and_(True, *conds)


def list_topics(
    s: Session, *, since: datetime | None = None, until: datetime | None = None
) -> list[TopicRow]:
    """Every live topic with its texts in the window, by sentiment and language."""
    topics = (
        s.execute(select(text_topics).where(text_topics.c.merged_into.is_(None))).mappings().all()
    )
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    langs: dict[int, Counter[str]] = defaultdict(Counter)
    scores: dict[int, list[float]] = defaultdict(list)
    c = text_items.c
    for topic_id, sentiment, language, n, total in s.execute(
        select(c.topic_id, c.sentiment, c.language, func.count(), func.sum(c.sentiment_score))
        .where(c.topic_id.is_not(None), _window(since, until))
        .group_by(c.topic_id, c.sentiment, c.language)
    ):
        counts[topic_id][sentiment or "none"] += n
        langs[topic_id][language] += n
        if total is not None:
            scores[topic_id].append(float(total))
    out = []
    for t in topics:
        tid = int(t["id"])
        n = sum(counts[tid].values())
        analysed = sum(v for k, v in counts[tid].items() if k != "none")
        phrases = orjson.loads(t["keyphrases"])
        out.append(
            TopicRow(
                id=tid,
                name=topic_name(t["label"], phrases),
                label=t["label"],
                keyphrases=phrases,
                pinned=bool(t["pinned"]),
                texts=n,
                sentiment={k: counts[tid].get(k, 0) for k in SENTIMENTS},
                mean_score=round(sum(scores[tid]) / analysed, 4) if analysed else None,
                negative_share=wilson_interval(counts[tid].get("negative", 0), analysed),
                languages=dict(langs[tid].most_common()),
            )
        )
    out.sort(key=lambda r: (-r.texts, r.id))
    return out


@dataclass
class Trend:
    topic_id: int
    name: str
    recent: int  # negative texts in the last window
    before: int  # in the window before
    ratio: float | None
    p_value: float
    adjusted_p: float = 1.0
    rising: bool = False


def trending_complaints(
    s: Session, *, now: datetime, days: int = 14, alpha: float = 0.05
) -> list[Trend]:
    """Topics whose negative texts grew from the previous ``days`` to the last ``days``.

    Under "no change", the recent count given the total is Binomial(total, ½) (the two windows
    are equally long); the one-sided exact p-values are adjusted for the number of topics
    (Benjamini–Hochberg) and a topic is *rising* below ``alpha``.
    """
    from scipy.stats import binomtest

    if days < 1:
        raise InvalidInput("the trend window must be at least one day")
    c = text_items.c
    mid, start = now - timedelta(days=days), now - timedelta(days=2 * days)
    rows = s.execute(
        select(c.topic_id, (c.occurred_at >= mid).label("recent"), func.count())
        .where(
            c.topic_id.is_not(None),
            c.sentiment == "negative",
            c.occurred_at >= start,
            c.occurred_at < now,
        )  # fmt: skip
        .group_by(c.topic_id, "recent")
    ).all()
    tally: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for topic_id, recent, n in rows:
        tally[int(topic_id)][0 if recent else 1] += int(n)
    names = {r.id: r.name for r in list_topics(s)}
    trends = []
    for tid, (recent, before) in tally.items():
        if tid not in names:
            continue
        total = recent + before
        p = float(binomtest(recent, total, 0.5, alternative="greater").pvalue) if total else 1.0
        ratio = recent / before if before else None
        trends.append(Trend(tid, names[tid], recent, before, ratio, p))
    for t, adj in zip(trends, bh_adjusted([t.p_value for t in trends]), strict=True):
        t.adjusted_p = adj
        t.rising = adj < alpha and t.recent > t.before
    trends.sort(key=lambda t: (not t.rising, t.adjusted_p, -t.recent))
    return trends


@dataclass
class Verbatim:
    id: int
    text: str
    redacted: bool
    language: str
    sentiment: str | None
    score: float | None
    emotion: str | None
    occurred_at: datetime
    channel: str | None
    touchpoint: str | None
    topic_id: int | None
    profile_id: str | None
    flag: str | None
    pii: list[str] = field(default_factory=list)


def verbatims(
    s: Session,
    *,
    can_see_pii: bool,
    topic_id: int | None = None,
    sentiment: str | None = None,
    touchpoint: str | None = None,
    profile_id: str | None = None,
    ids: list[int] | None = None,
    limit: int = 20,
) -> list[Verbatim]:
    """Example texts, newest first; personal data is redacted unless ``can_see_pii``."""
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise InvalidInput(f"unknown sentiment {sentiment!r}; choose from {', '.join(SENTIMENTS)}")
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be 1 to 500")
    c = text_items.c
    query = (
        select(text_items, profile_events.c.profile_id)
        .outerjoin(profile_events, and_(c.source == "event", profile_events.c.seq == c.ref))
        .order_by(c.occurred_at.desc(), c.id.desc())
        .limit(limit)
    )
    if topic_id is not None:
        query = query.where(c.topic_id == topic_id)
    if sentiment is not None:
        query = query.where(c.sentiment == sentiment)
    if touchpoint is not None:
        query = query.where(c.touchpoint == touchpoint)
    if profile_id is not None:
        query = query.where(profile_events.c.profile_id == profile_id)
    if ids is not None:
        query = query.where(c.id.in_(ids))
    rows = s.execute(query).mappings().all()
    texts = item_texts(s, [(r["source"], int(r["ref"]), r["field"]) for r in rows])
    out = []
    for r in rows:
        raw = texts.get((r["source"], int(r["ref"]), r["field"]), "")
        shown = raw[:2000]
        hide = bool(r["pii"]) and not can_see_pii
        out.append(
            Verbatim(
                id=int(r["id"]),
                text=redact(shown) if hide else shown,
                redacted=hide,
                language=r["language"],
                sentiment=r["sentiment"],
                score=r["sentiment_score"],
                emotion=r["emotion"],
                occurred_at=r["occurred_at"],
                channel=r["channel"],
                touchpoint=r["touchpoint"],
                topic_id=r["topic_id"],
                profile_id=r["profile_id"],
                flag=r["flag"],
                pii=[k for k in (r["pii"] or "").split(",") if k],
            )  # fmt: skip
        )
    return out


@dataclass
class TopicDetail:
    topic: TopicRow
    weeks: list[dict[str, Any]]
    touchpoints: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    channels: dict[str, int]
    emotions: dict[str, int]
    customers: list[dict[str, Any]]


def topic_detail(
    s: Session, topic_id: int, *, journey: JourneyMap | None, now: datetime, weeks: int = 26
) -> TopicDetail:
    rows = {r.id: r for r in list_topics(s)}
    if topic_id not in rows:
        merged = s.execute(
            select(text_topics.c.merged_into).where(text_topics.c.id == topic_id)
        ).scalar()
        hint = f"; it was merged into topic {merged}" if merged else ""
        raise NotFound(f"there is no topic {topic_id}{hint}")
    c = text_items.c
    start = now - timedelta(weeks=weeks)
    items = s.execute(
        select(
            c.occurred_at, c.sentiment, c.sentiment_score, c.touchpoint, c.channel, c.emotion
        ).where(c.topic_id == topic_id, c.occurred_at >= start)
    ).all()
    week_of = lambda t: (t - timedelta(days=t.weekday())).date().isoformat()  # noqa: E731
    by_week: dict[str, list[Any]] = defaultdict(list)
    by_tp: dict[str, list[Any]] = defaultdict(list)
    for r in items:
        by_week[week_of(r.occurred_at)].append(r)
        by_tp[r.touchpoint or "(none)"].append(r)

    def summary(group: list[Any]) -> dict[str, Any]:
        scored = [r.sentiment_score for r in group if r.sentiment_score is not None]
        neg = sum(1 for r in group if r.sentiment == "negative")
        share = wilson_interval(neg, len(scored)) if scored else None
        return {
            "texts": len(group),
            "negative": neg,
            "mean_score": round(sum(scored) / len(scored), 4) if scored else None,
            "negative_share": None if share is None else round(share.estimate, 4),
            "negative_share_low": None if share is None else round(share.low, 4),
            "negative_share_high": None if share is None else round(share.high, 4),
        }

    weeks_out = [{"week": w, **summary(g)} for w, g in sorted(by_week.items())]
    tps = sorted(({"touchpoint": tp, **summary(g)} for tp, g in by_tp.items()),
                 key=lambda d: -d["texts"])  # fmt: skip
    departments: dict[str, float] = defaultdict(float)
    if journey is not None:
        weights: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for row in journey.influence_rows():
            weights[row.touchpoint].append((row.department, row.weight))
        for tp in tps:
            for dept, w in weights.get(tp["touchpoint"], []):
                departments[dept] += w * tp["negative"]
    depts = [
        {"department": d, "weighted_negative_texts": round(v, 2)}
        for d, v in sorted(departments.items(), key=lambda kv: -kv[1])
    ]
    customers = s.execute(
        select(
            profile_events.c.profile_id,
            func.count(),
            func.max(c.occurred_at),
            func.avg(c.sentiment_score),
        )  # fmt: skip
        .join(profile_events, and_(c.source == "event", profile_events.c.seq == c.ref))
        .where(c.topic_id == topic_id)
        .group_by(profile_events.c.profile_id)
        .order_by(func.count().desc(), func.max(c.occurred_at).desc())
        .limit(50)
    ).all()
    return TopicDetail(
        topic=rows[topic_id],
        weeks=weeks_out,
        touchpoints=tps,
        departments=depts,
        channels=dict(Counter(r.channel or "(none)" for r in items).most_common()),
        emotions=dict(Counter(r.emotion or "(none)" for r in items).most_common()),
        customers=[
            {
                "profile_id": p,
                "texts": int(n),
                "last_at": last,
                "mean_score": None if m is None else round(float(m), 4),
            }
            for p, n, last, m in customers
        ],  # fmt: skip
    )


def text_summary(s: Session) -> dict[str, Any]:
    """Totals for the page header and ``cxm text status``."""
    c = text_items.c
    total = int(s.execute(select(func.count()).select_from(text_items)).scalar() or 0)
    by = lambda col: {  # noqa: E731
        (k or "none"): int(n) for k, n in s.execute(select(col, func.count()).group_by(col)).all()
    }
    return {
        "texts": total,
        "languages": by(c.language),
        "sentiment": by(c.sentiment),
        "flags": by(c.flag),
        "models": by(c.model_version),
        "with_pii": int(s.execute(select(func.count()).where(c.pii != "")).scalar() or 0),
        "unassigned": int(
            s.execute(
                select(func.count()).where(c.topic_id.is_(None), c.sentiment.is_not(None))
            ).scalar()
            or 0
        ),
    }

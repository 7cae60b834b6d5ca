"""The anomaly watch: each day's complaint volume per topic and sentiment per touchpoint,
judged against the weeks before it (``cxm.insights.anomaly``), alerts kept and routed.

Three families of series are watched:

- ``topic:<id>``: texts per day on each discovered topic (a spike);
- ``sentiment:<touchpoint>``: the mean sentiment score of the texts written at a touchpoint
  (a drop);
- ``churn-risk:<segment>``: the mean churn risk of each saved segment and of everyone (``*``),
  kept by each day's last scoring (a rise; it needs 14 days of scores first).

The false-alarm rate ``CXM_ALERT_ALPHA`` is the chance that a normal day raises any alert at
all: it is split evenly between the three families, and each family controls it across all of
its series (Holm). A day is judged once it is over, and only days with data are judged, so a
history imported later is watched in its own time. Each alert names the departments it
concerns through the journey map's influence matrix (a topic through the touchpoints where its
texts were written), and automation rules with an ``alert`` trigger deliver it
(``cxm.automation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cxm.insights.anomaly import count_alerts, mean_alerts
from cxm.insights.tables import churn_risk_days, insight_alerts
from cxm.journeys.map import JourneyMap
from cxm.text.queries import topic_name
from cxm.text.tables import text_items, text_topics

BASELINE_DAYS = 28


@dataclass(frozen=True)
class StoredAlert:
    id: int
    series: str
    label: str
    kind: str
    day: date
    observed: float
    expected: float
    p_value: float
    message: str
    departments: dict[str, float]
    raised_at: datetime
    deliveries: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "series": self.series,
            "label": self.label,
            "kind": self.kind,
            "day": self.day.isoformat(),
            "observed": round(self.observed, 4),
            "expected": round(self.expected, 4),
            "p_value": self.p_value,
            "message": self.message,
            "departments": self.departments,
            "raised_at": self.raised_at.isoformat(),
            "deliveries": self.deliveries,
        }


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def _texts(session: Session, start: date, end: date) -> pd.DataFrame:
    """Analysed texts from ``start`` to ``end`` (exclusive): day, topic, touchpoint, score."""
    topic = func.coalesce(text_topics.c.merged_into, text_items.c.topic_id)
    rows = session.execute(
        select(
            text_items.c.occurred_at,
            topic.label("topic"),
            text_items.c.touchpoint,
            text_items.c.sentiment_score,
        )
        .outerjoin(text_topics, text_topics.c.id == text_items.c.topic_id)
        .where(
            text_items.c.occurred_at >= datetime.combine(start, datetime.min.time(), UTC),
            text_items.c.occurred_at < datetime.combine(end, datetime.min.time(), UTC),
            text_items.c.flag.is_(None),
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["at", "topic", "touchpoint", "score"])
    frame["day"] = [_day(v) for v in frame["at"]]
    return frame


def _risk_days(session: Session, start: date, end: date) -> pd.DataFrame:
    """The kept daily mean churn risk per segment, as ``series, day, mean, n``."""
    rows = session.execute(
        select(churn_risk_days).where(churn_risk_days.c.day >= start, churn_risk_days.c.day <= end)
    ).all()
    frame = pd.DataFrame(
        [("churn-risk:" + r.segment, _day(r.day), float(r.mean), int(r.n)) for r in rows],
        columns=["series", "day", "mean", "n"],
    )
    return frame


def _topic_names(session: Session) -> dict[int, str]:
    rows = session.execute(select(text_topics.c.id, text_topics.c.label, text_topics.c.keyphrases))
    return {int(i): topic_name(label, orjson.loads(phrases)) for i, label, phrases in rows}


def last_day_with_data(session: Session) -> date | None:
    """The latest day with an analysed text or a kept churn-risk figure."""
    texts = session.execute(select(func.max(text_items.c.occurred_at))).scalar()
    risk = session.execute(select(func.max(churn_risk_days.c.day))).scalar()
    days = [_day(v) for v in (texts, risk) if v is not None]
    return max(days) if days else None


def watch_days(
    session: Session,
    journey: JourneyMap | None,
    days: list[date],
    *,
    alpha: float,
) -> list[dict[str, Any]]:
    """Judge each of ``days`` (each against the ``BASELINE_DAYS`` before it); returns the
    alerts as rows ready to store (not stored)."""
    if not days:
        return []
    texts = _texts(session, min(days) - timedelta(days=BASELINE_DAYS), max(days) + timedelta(1))
    names = _topic_names(session)
    by_id = {t.id: t for t in journey.touchpoints} if journey else {}
    topical = texts[texts["topic"].notna()]
    where = topical.groupby(["topic", "touchpoint"]).size()
    counts = topical.groupby(["topic", "day"]).size().rename("count").reset_index()
    counts["series"] = "topic:" + counts["topic"].astype(int).astype(str)
    scored = texts[texts["touchpoint"].notna() & texts["score"].notna()]
    means = (
        scored.groupby(["touchpoint", "day"])["score"]
        .agg(["mean", "count"])
        .rename(columns={"count": "n"})
        .reset_index()
    )
    means["series"] = "sentiment:" + means["touchpoint"].astype(str)
    risk = _risk_days(session, min(days) - timedelta(days=BASELINE_DAYS), max(days))
    rows: list[dict[str, Any]] = []
    for day in days:
        found = [
            *count_alerts(counts[["series", "day", "count"]], on=day, alpha=alpha / 3,
                          baseline_days=BASELINE_DAYS, unit="texts").alerts,
            *mean_alerts(means[["series", "day", "mean", "n"]], on=day, alpha=alpha / 3,
                         direction="down", baseline_days=BASELINE_DAYS,
                         measure="sentiment").alerts,
            *mean_alerts(risk, on=day, alpha=alpha / 3, direction="up",
                         baseline_days=BASELINE_DAYS, measure="churn risk").alerts,
        ]  # fmt: skip
        for alert in found:
            kind, _, key = alert.series.partition(":")
            if kind == "churn-risk":
                label = "Churn risk of " + ("all customers" if key == "*" else f"segment {key}")
                shares = {}
            elif kind == "topic":
                topic = int(key)
                label = f"Topic: {names.get(topic, f'topic {topic}')}"
                shares = {str(tp): float(n) for (t, tp), n in where.items() if int(t) == topic}
            else:
                label = f"Sentiment at {by_id[key].name if key in by_id else key}"
                shares = {key: 1.0}
            rows.append(
                {
                    "series": alert.series,
                    "label": label[:300],
                    "kind": alert.kind,
                    "day": _day(alert.day),
                    "observed": float(alert.observed),
                    "expected": float(alert.expected),
                    "p_value": float(alert.p_value),
                    "message": f"{label}: {alert.message}",
                    "departments": _owners(by_id, shares),
                }
            )
    return rows


def _owners(by_id: dict[str, Any], shares: dict[str, float]) -> dict[str, float]:
    total = sum(shares.values())
    owners: dict[str, float] = {}
    for tp, share in shares.items():
        if tp in by_id and total > 0:
            for department, weight in by_id[tp].influence.items():
                owners[department] = owners.get(department, 0.0) + weight * share / total
    ranked = sorted(owners.items(), key=lambda i: -i[1])
    return {d: round(w, 3) for d, w in ranked if w >= 0.3}


def store_alerts(session: Session, rows: list[dict[str, Any]], *, now: datetime) -> int:
    """Keep the alerts not kept before (one per series and day); returns how many are new."""
    if not rows:
        return 0
    known = {
        (s, _day(d))
        for s, d in session.execute(
            select(insight_alerts.c.series, insight_alerts.c.day).where(
                insight_alerts.c.day.in_({r["day"] for r in rows})
            )
        )
    }
    new = [r for r in rows if (r["series"], r["day"]) not in known]
    if new:
        session.execute(
            insert(insight_alerts),
            [
                {**r, "departments": orjson.dumps(r["departments"]).decode(), "raised_at": now,
                 "deliveries": 0}
                for r in new
            ],
        )  # fmt: skip
    return len(new)


def list_alerts(session: Session, *, limit: int = 100, after_id: int = 0) -> list[StoredAlert]:
    rows = session.execute(
        select(insight_alerts)
        .where(insight_alerts.c.id > after_id)
        .order_by(insight_alerts.c.day.desc(), insight_alerts.c.id.desc())
        .limit(limit)
    ).all()
    return [
        StoredAlert(
            id=int(r.id),
            series=r.series,
            label=r.label,
            kind=r.kind,
            day=_day(r.day),
            observed=float(r.observed),
            expected=float(r.expected),
            p_value=float(r.p_value),
            message=r.message,
            departments=orjson.loads(r.departments),
            raised_at=r.raised_at,
            deliveries=int(r.deliveries),
        )
        for r in rows
    ]

"""Every customer's churn risk, kept in the store and on the profile as a trait.

Scoring runs the workspace's latest churn model (``cxm.insights.churn_data``) over every
customer active before now and not already gone, and keeps the latest score per customer in
``churn_scores`` with the three reasons that move it most and the model version. A customer's
**band** (low, medium or high: from ``CXM_CHURN_MEDIUM_LIFT`` and ``CXM_CHURN_HIGH_LIFT``
times the base rate) also becomes the trait ``churn_risk`` (``cxm.insights.runtime``), so
segments and automation see it like any other fact about the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from cxm.insights.churn import ChurnModel
from cxm.insights.tables import churn_scores

BANDS = ("low", "medium", "high")
TRAIT = "churn_risk"
BATCH = 1000


@dataclass(frozen=True)
class ScoringReport:
    customers: int
    bands: dict[str, int]
    model: str


def band_of(risk: float, *, medium: float, high: float) -> str:
    """>>> band_of(0.31, medium=0.1, high=0.3)
    'high'
    """
    return "high" if risk >= high else "medium" if risk >= medium else "low"


def prepared(model: ChurnModel, features: pd.DataFrame) -> pd.DataFrame:
    """The features in the model's columns, unknown categories as ``(none)``."""
    x = features.reindex(columns=model.categorical + model.numeric)
    for column in model.categorical:
        x[column] = x[column].fillna("(none)").astype(str)
    return x


def score_frame(
    model: ChurnModel, features: pd.DataFrame, *, medium: float, high: float
) -> pd.DataFrame:
    """risk, band and reasons per customer (index: customer id)."""
    if features.empty:
        return pd.DataFrame(columns=["risk", "band", "reasons"])
    x = prepared(model, features)
    risk = model.predict(x)
    reasons = model.reasons(x)
    return pd.DataFrame(
        {
            "risk": np.round(risk, 5),
            "band": [band_of(float(r), medium=medium, high=high) for r in risk],
            "reasons": [
                [[name, _plain(value), effect] for name, value, effect in r] for r in reasons
            ],  # fmt: skip
        },
        index=features.index,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def store_scores(
    session: Session, scores: pd.DataFrame, *, model_name: str, now: datetime
) -> ScoringReport:
    """Replace the stored scores with ``scores``."""
    session.execute(delete(churn_scores))
    rows = [
        {
            "profile_id": str(profile_id),
            "risk": float(row.risk),
            "band": row.band,
            "reasons": orjson.dumps(row.reasons).decode(),
            "model": model_name,
            "scored_at": now,
        }
        for profile_id, row in scores.iterrows()
    ]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(churn_scores), rows[start : start + BATCH])
    counts = {band: 0 for band in BANDS}
    for r in rows:
        counts[r["band"]] += 1
    return ScoringReport(customers=len(rows), bands=counts, model=model_name)


@dataclass(frozen=True)
class StoredScore:
    profile_id: str
    risk: float
    band: str
    reasons: list[list[Any]]
    model: str
    scored_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile_id": self.profile_id,
            "risk": self.risk,
            "band": self.band,
            "reasons": [
                {"feature": name, "value": value, "effect": effect}
                for name, value, effect in self.reasons
            ],
            "model": self.model,
            "scored_at": self.scored_at.isoformat(),
        }


def score_of(session: Session, profile_id: str) -> StoredScore | None:
    row = session.execute(
        select(churn_scores).where(churn_scores.c.profile_id == profile_id)
    ).first()
    return None if row is None else _stored(row)


def _stored(row: Any) -> StoredScore:
    return StoredScore(
        profile_id=row.profile_id,
        risk=float(row.risk),
        band=row.band,
        reasons=orjson.loads(row.reasons),
        model=row.model,
        scored_at=row.scored_at,
    )


def risk_distribution(session: Session, *, bins: int = 20) -> dict[str, Any]:
    """Customers per band and per risk bin (0–5 %, 5–10 % … ), and the riskiest customers."""
    bands: dict[str, int] = dict(
        session.execute(
            select(churn_scores.c.band, func.count()).group_by(churn_scores.c.band)
        ).all()
    )
    risks = np.asarray(session.execute(select(churn_scores.c.risk)).scalars().all(), dtype=float)
    histogram, edges = np.histogram(risks, bins=bins, range=(0.0, 1.0))
    top = session.execute(
        select(churn_scores.c.profile_id, churn_scores.c.risk, churn_scores.c.reasons)
        .order_by(churn_scores.c.risk.desc(), churn_scores.c.profile_id)
        .limit(20)
    ).all()
    scored_at = session.execute(select(func.max(churn_scores.c.scored_at))).scalar()
    return {
        "customers": int(len(risks)),
        "mean_risk": float(risks.mean()) if len(risks) else None,
        "bands": {band: int(bands.get(band, 0)) for band in BANDS},
        "histogram": [
            {
                "from": round(float(edges[i]), 3),
                "to": round(float(edges[i + 1]), 3),
                "customers": int(histogram[i]),
            }
            for i in range(bins)
        ],  # fmt: skip
        "riskiest": [
            {"profile_id": r.profile_id, "risk": float(r.risk), "reasons": orjson.loads(r.reasons)}
            for r in top
        ],
        "scored_at": scored_at.isoformat() if scored_at else None,
    }


def riskiest(session: Session, *, band: str | None = None, limit: int = 20) -> list[StoredScore]:
    """The customers with the highest stored risk (of one band, if given)."""
    query = select(churn_scores).order_by(churn_scores.c.risk.desc(), churn_scores.c.profile_id)
    if band is not None:
        query = query.where(churn_scores.c.band == band)
    return [_stored(r) for r in session.execute(query.limit(limit)).all()]


def customer_outlook(session: Session, profile_id: str) -> dict[str, Any] | None:
    """A customer's stored churn score and likely NPS band (None when neither exists)."""
    from cxm.insights.tables import experience_scores

    churn = score_of(session, profile_id)
    row = session.execute(
        select(experience_scores).where(experience_scores.c.profile_id == profile_id)
    ).first()
    if churn is None and row is None:
        return None
    experience = None
    if row is not None:
        experience = {
            "band": row.band,
            "p_detractor": float(row.p_detractor),
            "p_passive": float(row.p_passive),
            "p_promoter": float(row.p_promoter),
        }
    return {"churn": churn, "experience": experience}


def record_risk_day(session: Session, scores: pd.DataFrame, *, now: datetime) -> int:
    """Keep today's mean churn risk of everyone (``*``) and of each saved segment (replacing
    an earlier scoring of the same day); returns how many series were kept."""
    from cxm.insights.tables import churn_risk_days
    from cxm.segments.queries import list_segments, segment_members

    if scores.empty:
        return 0
    groups = {"*": scores["risk"]}
    for segment in list_segments(session):
        members = segment_members(session, segment.definition, now=now)
        risk = scores["risk"].reindex(members).dropna()
        if len(risk):
            groups[segment.name] = risk
    day = now.date()
    session.execute(delete(churn_risk_days).where(churn_risk_days.c.day == day))
    session.execute(
        insert(churn_risk_days),
        [{"day": day, "segment": name, "mean": float(r.mean()), "n": len(r)}
         for name, r in groups.items()],
    )  # fmt: skip
    return len(groups)

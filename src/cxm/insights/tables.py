"""What the insights keep in the store: each customer's latest churn score and the alerts.

``churn_scores`` (and ``experience_scores``, the likely NPS band) hold one row per scored
customer (the latest scoring replaces it): the
calibrated risk, its band, the top reasons and the model version that gave them.
``insight_alerts`` holds every alert the anomaly watch raised: which series, which day, what
was seen against what was expected, the departments it concerns and whether it was handled.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Float, Index, Integer, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

churn_scores = Table(
    "churn_scores",
    metadata,
    Column("profile_id", String(40), primary_key=True),
    Column("risk", Float, nullable=False),
    Column("band", String(8), nullable=False),  # low, medium, high
    Column("reasons", Text, nullable=False),  # JSON: [[feature, value, effect], ...]
    Column("model", String(100), nullable=False),  # the model version's file
    Column("scored_at", UTCDateTime, nullable=False),
)
Index("ix_churn_scores_band_risk", churn_scores.c.band, churn_scores.c.risk)

# Each customer's likely NPS band from behaviour (cxm.insights.experience), latest scoring.
experience_scores = Table(
    "experience_scores",
    metadata,
    Column("profile_id", String(40), primary_key=True),
    Column("band", String(10), nullable=False),  # detractor, passive, promoter
    Column("p_detractor", Float, nullable=False),
    Column("p_passive", Float, nullable=False),
    Column("p_promoter", Float, nullable=False),
    Column("scored_at", UTCDateTime, nullable=False),
)

# The day's mean churn risk of each saved segment (and of everyone: ``*``), from the last
# scoring of the day: the series the anomaly watch judges for a rise.
churn_risk_days = Table(
    "churn_risk_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("segment", String(100), primary_key=True),
    Column("mean", Float, nullable=False),
    Column("n", Integer, nullable=False),
)

insight_alerts = Table(
    "insight_alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("series", String(200), nullable=False),  # e.g. topic:3, touchpoint:calls
    Column("label", String(300), nullable=False),
    Column("kind", String(16), nullable=False),  # spike, drop, rise
    Column("day", Date, nullable=False),
    Column("observed", Float, nullable=False),
    Column("expected", Float, nullable=False),
    Column("p_value", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("departments", Text, nullable=False),  # JSON: {department: influence}
    Column("raised_at", UTCDateTime, nullable=False),
    Column("deliveries", Integer, nullable=False, default=0),  # alert rules that fired on it
)
Index("uq_insight_alerts_series_day", insight_alerts.c.series, insight_alerts.c.day, unique=True)

"""The metric catalogue: every CX metric cxm computes, defined once.

Each entry says what the figure means (unit, which direction is better, the formula) and where
its definition lives in ``docs/metrics.md``.

>>> metric("nps").direction
'higher'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from cxm.errors import NotFound


@dataclass(frozen=True)
class Metric:
    """One catalogue entry.

    >>> metric("ces").unit
    'score 1-7'
    """

    id: str
    name: str
    unit: str
    direction: Literal["higher", "lower"]
    formula: str
    source: Literal["survey", "behaviour"]
    docs: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CATALOGUE: tuple[Metric, ...] = (
    Metric(
        "nps",
        "Net Promoter Score",
        "points -100..100",
        "higher",
        "100 * (promoters - detractors) / n over customers' 0-10 answers "
        "(9-10 promoter, 0-6 detractor)",
        "survey",
        "docs/metrics.md#nps-and-enps",
    ),
    Metric(
        "enps",
        "Employee Net Promoter Score",
        "points -100..100",
        "higher",
        "NPS over employees' 0-10 answers; departments below the minimum sample are withheld",
        "survey",
        "docs/metrics.md#nps-and-enps",
    ),
    Metric(
        "csat",
        "Customer satisfaction (mean)",
        "score 1-5",
        "higher",
        "sum(score) / n with a Student t interval",
        "survey",
        "docs/metrics.md#mean-scores-csat-15-and-ces-17",
    ),
    Metric(
        "csat_top_box",
        "Satisfied customers",
        "share 0..1",
        "higher",
        "share of CSAT answers of 4 or 5, Wilson interval",
        "survey",
        "docs/metrics.md#proportions-wilson-score-interval",
    ),
    Metric(
        "ces",
        "Customer effort score (mean)",
        "score 1-7",
        "higher",
        "sum(score) / n of 'the company made it easy' (7 = easiest), Student t interval",
        "survey",
        "docs/metrics.md#mean-scores-csat-15-and-ces-17",
    ),
    Metric(
        "ces_agree",
        "Found it easy",
        "share 0..1",
        "higher",
        "share of CES answers of 5, 6 or 7, Wilson interval",
        "survey",
        "docs/metrics.md#proportions-wilson-score-interval",
    ),
    Metric(
        "response_rate",
        "Survey response rate",
        "share 0..1",
        "higher",
        "answered / delivered invitations (sent, answered or expired; suppressed ones are "
        "not delivered), Wilson interval",
        "survey",
        "docs/metrics.md#survey-metrics",
    ),
)

_BY_ID = {m.id: m for m in CATALOGUE}


def metric(metric_id: str) -> Metric:
    """The catalogue entry ``metric_id``; an unknown id raises ``NotFound`` listing the known.

    >>> metric("csat").source
    'survey'
    """
    try:
        return _BY_ID[metric_id]
    except KeyError:
        known = ", ".join(_BY_ID)
        raise NotFound(f"no metric {metric_id!r}; known metrics: {known}") from None

"""The metric catalogue: every CX metric cxm computes, defined once.

Each entry says what the figure means (unit, which direction is better, the formula) and where
its definition lives in ``docs/metrics.md``.

>>> metric("nps").direction
'higher'
"""

from __future__ import annotations

import math
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
    # Where it is computed: "lake" (every Survey Answered event and the behaviour in the event
    # log, by touchpoint, stage, department, channel, month or trait: cxm.metrics.runner) or
    # "store" (a survey's own responses and invitations: cxm.metrics.surveys).
    engine: Literal["lake", "store"] = "lake"
    # The statistic behind the interval: a share (Wilson), a mean (Student t) or NPS.
    statistic: Literal["proportion", "mean", "nps"] = "proportion"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_B = "docs/metrics.md#behavioural-metrics"

BEHAVIOURAL: tuple[Metric, ...] = (
    Metric(
        "repeat_contact_rate",
        "Repeat contacts",
        "share 0..1",
        "lower",
        "contacts that follow the customer's previous contact within N days (the same matter, "
        "any channel) / contacts, Wilson interval",
        "behaviour",
        _B,
    ),
    Metric(
        "first_contact_resolution",
        "First-contact resolution",
        "share 0..1",
        "higher",
        "matters with one contact / matters, Wilson interval",
        "behaviour",
        _B,
    ),
    Metric(
        "channel_hopping",
        "Channel hopping",
        "share 0..1",
        "lower",
        "matters with a contact in another channel than the one before / matters, Wilson interval",
        "behaviour",
        _B,
    ),
    Metric(
        "handoffs_per_case",
        "Handoffs per case",
        "handoffs per matter",
        "lower",
        "mean number of changes of the owning department between a matter's contacts, "
        "Student t interval",
        "behaviour",
        _B,
        statistic="mean",
    ),
    Metric(
        "data_asked_again",
        "Asked for data again",
        "share 0..1",
        "lower",
        "matters in which the customer was asked for details more than once / matters, "
        "Wilson interval",
        "behaviour",
        _B,
    ),
    Metric(
        "reopen_rate",
        "Reopened cases",
        "share 0..1",
        "lower",
        "resolved matters followed by a contact (or a reopening) within N days of the "
        "resolution / resolved matters, Wilson interval",
        "behaviour",
        _B,
    ),
    Metric(
        "time_to_resolution",
        "Time to resolution",
        "hours",
        "lower",
        "mean hours from a matter's first contact to its resolution (or its last contact), "
        "Student t interval",
        "behaviour",
        _B,
        statistic="mean",
    ),
    Metric(
        "self_service_share",
        "Self-service share",
        "share 0..1",
        "higher",
        "self-service moments / (self-service moments + contacts), Wilson interval",
        "behaviour",
        _B,
    ),
    Metric(
        "effort_index",
        "Behavioural effort (per matter)",
        "effort points",
        "lower",
        "mean effort of a matter: repeat contacts + channel hops + handoffs + asked again "
        "+ 2 x reopened + ln(1 + days to resolution), Student t interval",
        "behaviour",
        "docs/metrics.md#behavioural-effort-index",
        statistic="mean",
    ),
    Metric(
        "churn_rate",
        "Churn",
        "share 0..1",
        "lower",
        "customers seen in the group who cancel within N days (30) / customers seen, "
        "Wilson interval",
        "behaviour",
        _B,
    ),
    Metric(
        "retention",
        "Month-to-month retention",
        "share 0..1",
        "higher",
        "customers active in a month who are active again the next month / customers active, "
        "Wilson interval; by cohort: cxm.metrics.runner.run_retention",
        "behaviour",
        _B,
    ),
)

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
        statistic="nps",
    ),
    Metric(
        "enps",
        "Employee Net Promoter Score",
        "points -100..100",
        "higher",
        "NPS over employees' 0-10 answers; departments below the minimum sample are withheld",
        "survey",
        "docs/metrics.md#nps-and-enps",
        engine="store",
        statistic="nps",
    ),
    Metric(
        "csat",
        "Customer satisfaction (mean)",
        "score 1-5",
        "higher",
        "sum(score) / n with a Student t interval",
        "survey",
        "docs/metrics.md#mean-scores-csat-15-and-ces-17",
        statistic="mean",
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
        statistic="mean",
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
        engine="store",
    ),
    *BEHAVIOURAL,
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


def metric_scale(metric_id: str) -> Literal["share", "points", "hours", "number"]:
    """How a metric is read: ``share`` (per cent), ``points`` (NPS), ``hours`` or ``number``.

    >>> metric_scale("first_contact_resolution"), metric_scale("nps"), metric_scale("ces")
    ('share', 'points', 'number')
    """
    entry = _BY_ID.get(metric_id)
    unit = entry.unit if entry else ""
    if unit.startswith("share"):
        return "share"
    if unit.startswith("points"):
        return "points"
    return "hours" if unit == "hours" else "number"


def format_value(metric_id: str, value: float | None, lang: str = "en") -> str:
    """A figure as people read it: shares in per cent, NPS whole and signed, hours to 0.1, other
    means to 0.01; a decimal comma in Polish; "—" for no value. Used by the pages and the CLI.

    >>> format_value("channel_hopping", 0.2345), format_value("nps", -12.4)
    ('23.4%', '-12')
    >>> format_value("time_to_resolution", 49.0, "pl"), format_value("ces", None)
    ('49,0 h', '—')
    """
    if value is None or math.isnan(value):
        return "—"
    kind = metric_scale(metric_id)
    if kind == "share":
        text = f"{100 * value:.1f}%"
    elif kind == "points":
        text = f"{value:+.0f}"
    elif kind == "hours":
        text = f"{value:.1f} h"
    else:
        text = f"{value:.2f}"
    return localise_number(text, lang)


def format_change(metric_id: str, value: float | None, lang: str = "en") -> str:
    """A difference between two periods: percentage points for shares, always signed.

    >>> format_change("reopen_rate", -0.031), format_change("nps", 4.25, "pl")
    ('-3.1 pp', '+4,2')
    """
    if value is None or math.isnan(value):
        return "—"
    kind = metric_scale(metric_id)
    if kind == "share":
        text = f"{100 * value:+.1f} " + ("p.p." if lang == "pl" else "pp")
    elif kind == "points":
        text = f"{value:+.1f}"
    elif kind == "hours":
        text = f"{value:+.1f} h"
    else:
        text = f"{value:+.2f}"
    return localise_number(text, lang)


def localise_number(text: str, lang: str) -> str:
    """A number written for ``lang``: a decimal comma in Polish."""
    return text.replace(".", ",") if lang == "pl" else text

"""What the Surveys pages show: figures with their intervals, and the results page's parts.

Every number comes from :mod:`cxm.metrics.surveys` (``survey_metric``) or the surveys
domain; this module only chooses the metric of a survey, formats figures for a language and
builds the charts. A figure below the minimum sample has no value: it reads "insufficient
data: N responses", and an employee survey's small groups read "withheld", with no number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cxm.errors import NotFound
from cxm.journeys.map import JourneyMap
from cxm.metrics import MIN_SAMPLE
from cxm.metrics.catalogue import format_value
from cxm.metrics.surveys import GroupBy, MetricRow, survey_metric
from cxm.profiles import Profile, get_profile
from cxm.store.metadata import utcnow
from cxm.surveys import SCALES, StoredSurvey, SurveyDefinition, invitation_counts
from cxm.web.survey_charts import distribution_option, trend_option
from cxm.web.survey_reads import Verbatim, recent_verbatims, score_distribution

Translate = Callable[..., str]
VERBATIMS = 10

# The catalogue metric of a survey's headline score, by (kind, audience). Other surveys
# (custom ones, employees' CSAT or CES) have no score metric; their headline is the response rate.
SCORE_METRICS: dict[tuple[str, str], str] = {
    ("nps", "customer"): "nps",
    ("nps", "employee"): "enps",
    ("csat", "customer"): "csat",
    ("ces", "customer"): "ces",
}


def score_metric(definition: SurveyDefinition) -> str | None:
    """The metric of the survey's headline score, or None when it has none.

    >>> from cxm.surveys import survey_from_data
    >>> score_metric(survey_from_data({"id": "e", "kind": "nps", "audience": "employee",
    ...                                "languages": ["en"]}))
    'enps'
    """
    return SCORE_METRICS.get((definition.kind, definition.audience))


@dataclass(frozen=True)
class Figure:
    """One metric for one group, ready to show.

    ``value`` and ``interval`` are None when the figure may not be shown; ``note`` says why
    ("insufficient data: 3 responses", or "withheld" for a small group of employees).
    """

    metric: str
    group: str | None
    label: str
    n: int
    value: str | None
    interval: str | None
    note: str | None
    withheld: bool
    estimate: float | None
    low: float | None
    high: float | None

    @property
    def point(self) -> tuple[float, float, float] | None:
        if self.estimate is None or self.low is None or self.high is None:
            return None
        return (self.estimate, self.low, self.high)


def figure(
    row: MetricRow,
    metric: str,
    t: Translate,
    lang: str,
    *,
    label: str = "",
    withhold: bool = False,
) -> Figure:
    """``row`` formatted; with ``withhold`` a row below the minimum reads "withheld"."""
    if row.reportable and row.estimate is not None and row.low is not None:
        assert row.high is not None
        low, high = format_value(metric, row.low, lang), format_value(metric, row.high, lang)
        return Figure(
            metric, row.group, label, row.n, format_value(metric, row.estimate, lang),
            t("surveys.interval", low=low, high=high), None, False,
            row.estimate, row.low, row.high,
        )  # fmt: skip
    if withhold:
        note = t("surveys.withheld")
    elif row.n >= MIN_SAMPLE:
        note = t("surveys.no_interval")
    elif row.n == 0:
        note = t("surveys.no_invitations" if metric == "response_rate" else "surveys.no_answers")
    elif metric == "response_rate":
        note = t("surveys.insufficient_invitations", count=row.n)
    else:
        note = t("surveys.insufficient", count=row.n)
    return Figure(metric, row.group, label, row.n, None, None, note, withhold, None, None, None)


@dataclass(frozen=True)
class SurveySummary:
    """One row of the survey list."""

    stored: StoredSurvey
    counts: dict[str, Any]
    rate: Figure
    score: Figure | None


def summarise(session: Session, stored: StoredSurvey, t: Translate, lang: str) -> SurveySummary:
    survey_id = stored.definition.id
    counts = invitation_counts(session, survey_id, now=utcnow())
    (rate_row,) = survey_metric(session, metric="response_rate", survey=survey_id)
    metric = score_metric(stored.definition)
    score = None
    if metric is not None:
        (row,) = survey_metric(session, metric=metric, survey=survey_id)
        score = figure(row, metric, t, lang)
    return SurveySummary(stored, counts, figure(rate_row, "response_rate", t, lang), score)


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` ("YYYY-MM"), both included.

    >>> months_between("2025-11", "2026-02")
    ['2025-11', '2025-12', '2026-01', '2026-02']
    """
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def trend_context(
    rows: Sequence[MetricRow], metric: str, t: Translate, lang: str, *, withhold: bool
) -> dict[str, Any]:
    """The monthly trend: every month from the first answer to the last, gaps included."""
    by_month = {row.group: row for row in rows if row.group}
    if not by_month:
        return {"trend": [], "trend_chart": None}
    months = months_between(min(by_month), max(by_month))
    empty = MetricRow(None, 0, None, None, None, False, None)
    figures = [
        figure(by_month.get(m, empty), metric, t, lang, label=m, withhold=withhold) for m in months
    ]
    chart = trend_option(metric, months, [f.point for f in figures], t)
    return {"trend": figures, "trend_chart": chart}


def group_labels(journey: JourneyMap | None, t: Translate) -> dict[str, dict[str, str]]:
    """Readable names of the groups a breakdown shows, by what it groups by."""
    touchpoints = {tp.id: tp.name for tp in journey.touchpoints} if journey else {}
    departments = {d.id: d.name for d in journey.departments} if journey else {}
    languages = {code: t(f"surveys.language.{code}") for code in ("en", "pl", "ru")}
    return {"touchpoint": touchpoints, "department": departments, "language": languages}


def breakdowns(
    session: Session,
    definition: SurveyDefinition,
    metric: str,
    labels: Mapping[str, Mapping[str, str]],
    t: Translate,
    lang: str,
) -> list[dict[str, Any]]:
    """The headline metric by touchpoint (customers) or department (employees), and language.

    For employees every group below the minimum is withheld: no value and no count, so a
    small department's answers cannot be told apart.
    """
    employee = definition.audience == "employee"
    dimensions: list[GroupBy] = ["department" if employee else "touchpoint", "language"]
    found = []
    for by in dimensions:
        rows = survey_metric(session, metric=metric, by=by, survey=definition.id)
        names = labels.get(by, {})
        figures = [
            figure(
                row, metric, t, lang,
                label=names.get(row.group, row.group) if row.group else t("surveys.group.none"),
                withhold=employee,
            )
            for row in rows
        ]  # fmt: skip
        found.append({"by": by, "rows": figures})
    return found


def funnel_rows(counts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The invitations from those asked for to those answered, each with its share.

    >>> [(r["key"], r["count"]) for r in funnel_rows(
    ...     {"sent": 2, "answered": 5, "expired": 3, "suppressed": 4, "delivered": 10})]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('wanted', 14), ('suppressed', 4), ('delivered', 10), ('answered', 5), ('expired', 3),
     ('waiting', 2)]
    """
    wanted = int(counts["delivered"]) + int(counts["suppressed"])
    steps = [
        ("wanted", wanted),
        ("suppressed", int(counts["suppressed"])),
        ("delivered", int(counts["delivered"])),
        ("answered", int(counts["answered"])),
        ("expired", int(counts["expired"])),
        ("waiting", int(counts["sent"])),
    ]
    return [
        {"key": key, "count": n, "bar": round(100 * n / wanted, 1) if wanted else 0.0}
        for key, n in steps
    ]


def distribution_context(
    session: Session, definition: SurveyDefinition, t: Translate
) -> dict[str, Any]:
    """The headline score's distribution; withheld for employees below the minimum sample."""
    if definition.kind not in SCALES:
        return {"distribution": None}
    low, high = SCALES[definition.kind]
    scale = list(range(low, high + 1))
    counts = score_distribution(session, definition.id, kind=definition.kind)
    total = sum(counts.values())
    withheld = definition.audience == "employee" and total < MIN_SAMPLE
    rows = [{"score": s, "count": counts.get(s, 0)} for s in scale]
    return {
        "distribution": {
            "total": total,
            "withheld": withheld,
            "rows": [] if withheld else rows,
            "chart": None
            if withheld or not total
            else distribution_option(definition.kind, scale, counts, t),
        }
    }


def respondents(session: Session, verbatims: Sequence[Verbatim]) -> dict[str, Profile]:
    """The profiles of the comments' authors (a merged profile answers as the one it joined)."""
    found: dict[str, Profile] = {}
    for verbatim in verbatims:
        if verbatim.profile_id not in found:
            try:
                found[verbatim.profile_id] = get_profile(session, verbatim.profile_id)
            except NotFound:
                continue  # erased since: the comment stays, shown with the id it was given under
    return found


def results_context(
    session: Session,
    stored: StoredSurvey,
    journey: JourneyMap | None,
    t: Translate,
    lang: str,
) -> dict[str, Any]:
    """Everything the results page shows about one survey (its newest version)."""
    definition = stored.definition
    summary = summarise(session, stored, t, lang)
    metric = score_metric(definition) or "response_rate"
    employee = definition.audience == "employee"
    months = survey_metric(session, metric=metric, by="month", survey=definition.id)
    labels = group_labels(journey, t)
    verbatims = (
        None
        if definition.anonymous or employee
        else recent_verbatims(session, definition.id, limit=VERBATIMS)
    )
    return {
        "stored": stored,
        "survey": definition,
        "summary": summary,
        "metric": metric,
        "min_sample": MIN_SAMPLE,
        "funnel": funnel_rows(summary.counts),
        "breakdowns": breakdowns(session, definition, metric, labels, t, lang),
        "labels": labels,
        "verbatims": verbatims,
        "respondents": respondents(session, verbatims or []),
        **trend_context(months, metric, t, lang, withhold=employee),
        **distribution_context(session, definition, t),
    }

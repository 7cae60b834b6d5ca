"""The catalogue runner: every lake metric by touchpoint, stage, department, channel, month or
trait or segment, each with its interval and the minimum-sample rule.

Each fact table of :mod:`cxm.metrics.behaviour` is aggregated in the engine to sufficient
statistics per group (counts, Σx and Σx², NPS classes); intervals, readings and period
comparisons are computed from those in Python, so nothing but a few hundred rows leaves the
engine however many events the lake holds.

>>> ws = cxm.open("./cxm-data")
>>> ws.metrics.catalogue(by=["touchpoint", "month"])        # a DataFrame, one row per cell
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from cxm.analytics import Engine
from cxm.errors import InvalidInput
from cxm.journeys.map import JourneyMap
from cxm.journeys.placement import DAY_US
from cxm.metrics.behaviour import (
    Members,
    bounds,
    churn_expr,
    classification,
    month_label,
    self_service_expr,
    stream_expr,
)
from cxm.metrics.catalogue import CATALOGUE, Metric
from cxm.metrics.changes import Change, compare_nps, compare_proportions
from cxm.metrics.queries import CatalogueQuery
from cxm.metrics.sequences import NO_TOUCHPOINT, SequenceFacts, sequence_facts
from cxm.metrics.stats import CES_SCALE, CSAT_SCALE, Interval, nps, reading, wilson_interval
from cxm.metrics.surveys import compare_mean_sums, mean_interval_from_sums

LAKE_METRICS: tuple[str, ...] = tuple(
    m.id for m in CATALOGUE if m.engine == "lake" and m.id != "retention"
)
_BY_ID = {m.id: m for m in CATALOGUE}


@dataclass(frozen=True)
class Tally:
    """The sufficient statistics of one metric in one group.

    ``proportion``: ``a`` successes of ``n``; ``mean``: ``a`` = Σx, ``b`` = Σx²; ``nps``: ``a``
    promoters and ``b`` detractors of ``n`` answers.

    >>> Tally("proportion", 10, 8).interval().method
    'wilson'
    """

    statistic: Literal["proportion", "mean", "nps"]
    n: int
    a: float
    b: float = 0.0
    scale: tuple[float, float] | None = None  # the interval is clipped to it

    def interval(self, confidence: float = 0.95) -> Interval:
        if self.statistic == "proportion":
            return wilson_interval(int(self.a), self.n, confidence)
        if self.statistic == "nps":
            promoters, detractors = int(self.a), int(self.b)
            return nps(promoters, self.n - promoters - detractors, detractors, confidence)
        interval = mean_interval_from_sums(self.n, self.a, self.b, confidence)
        if self.scale is None or math.isnan(interval.low):
            return interval
        low, high = max(interval.low, self.scale[0]), min(interval.high, self.scale[1])
        return Interval(interval.estimate, low, high, interval.n, confidence, interval.method)

    def compare(self, later: Tally, confidence: float = 0.95) -> Change:
        """From this tally (before) to ``later`` (after), with the test its statistic needs."""
        if self.statistic == "proportion":
            return compare_proportions(int(self.a), self.n, int(later.a), later.n, confidence)
        if self.statistic == "nps":
            before = (int(self.a), self.n - int(self.a) - int(self.b), int(self.b))
            after = (int(later.a), later.n - int(later.a) - int(later.b), int(later.b))
            return compare_nps(before, after, confidence)
        return compare_mean_sums((self.n, self.a, self.b), (later.n, later.a, later.b), confidence)


# Counts and durations cannot be negative: a t interval on skewed data can reach below zero.
NON_NEGATIVE = (0.0, math.inf)
ROW_COLUMNS = ["metric", "n", "estimate", "low", "high", "reportable", "reason"]
Tallies = dict[str, dict[tuple[str, ...], Tally]]
# What a metric's n counts, for the reason a figure is withheld.
ANSWERS = ("response", "responses")
COUNTED = {
    "repeat_contact_rate": ("contact", "contacts"),
    "self_service_share": ("contact or self-service moment", "contacts and self-service moments"),
    "churn_rate": ("customer-month", "customer-months"),
    "reopen_rate": ("resolved matter", "resolved matters"),
    **{m: ("matter", "matters") for m in (
        "first_contact_resolution", "channel_hopping", "handoffs_per_case", "data_asked_again",
        "time_to_resolution", "effort_index",
    )},
}  # fmt: skip
MATTER_METRICS = {
    "first_contact_resolution", "channel_hopping", "handoffs_per_case", "data_asked_again",
    "reopen_rate", "time_to_resolution", "effort_index",
}  # fmt: skip
SURVEY_METRICS = {"nps", "csat", "csat_top_box", "ces", "ces_agree"}


def _label(key: str, value: Any) -> str:
    """A group's value as text; the engine answers months as month numbers or instants."""
    if key == "month" and not isinstance(value, str):
        if isinstance(value, int | np.integer):
            return month_label(int(value))
        return pd.Timestamp(value).strftime("%Y-%m")
    return str(value)


def _column(dimension: str) -> str:
    return dimension.partition(":")[0]  # trait:KEY → trait, segment:NAME → segment


def behaviour_facts(
    engine: Engine, journey: JourneyMap, query: CatalogueQuery, *, members: Members = None
) -> SequenceFacts:
    """Contacts, matters and attributed survey answers of the query's period."""
    classes = classification(engine, journey)
    stream = engine.to_arrow(stream_expr(classes, query, members=members))
    return _facts_of(stream, classes, journey, query)


def _facts_of(
    stream: Any, classes: pd.DataFrame, journey: JourneyMap, query: CatalogueQuery
) -> SequenceFacts:
    start, end = bounds(query)
    facts = sequence_facts(
        stream, classes, horizon_us=query.repeat_days * DAY_US, start_us=start, end_us=end
    )
    # A survey answer is about its touchpoint: stage and owner follow that touchpoint.
    surveys = facts.surveys
    stages = {tp.id: tp.stage for tp in journey.touchpoints}
    owners = {tp.id: tp.owner for tp in journey.touchpoints}
    surveys["stage"] = surveys["touchpoint"].map(stages).fillna(NO_TOUCHPOINT)
    surveys["department"] = surveys["touchpoint"].map(owners).fillna(NO_TOUCHPOINT)
    attribute = query.attribute
    if attribute is not None:
        for frame in (facts.contacts, facts.matters, surveys):
            frame[attribute[0]] = frame["attribute"]
    return facts


def _groups(frame: pd.DataFrame, keys: list[str], **sums: tuple[str, str]) -> pd.DataFrame:
    if not keys:
        if not len(frame):
            return pd.DataFrame()
        return pd.DataFrame([{name: frame[col].agg(how) for name, (col, how) in sums.items()}])
    return frame.groupby(keys, observed=True, sort=False).agg(**sums).reset_index()


def tallies(
    engine: Engine, journey: JourneyMap, query: CatalogueQuery, *, members: Members = None
) -> Tallies:
    """Per metric, per group key (the values of ``query.by``, in order), the metric's tally.

    ``members``: the profile ids of the segment a ``segment:NAME`` dimension names."""
    wanted = set(_wanted(query))
    out: Tallies = {m: {} for m in _wanted(query)}
    keys = [_column(d) for d in query.by]
    classes = classification(engine, journey)

    def key_of(record: dict[str, Any]) -> tuple[str, ...]:
        return tuple(_label(k, record[k]) for k in keys)

    needs_facts = {"repeat_contact_rate", "self_service_share"} | MATTER_METRICS | SURVEY_METRICS
    stream = (
        engine.to_arrow(stream_expr(classes, query, members=members))
        if needs_facts & wanted
        else None
    )
    # The engine counts self-service moments and churn while this process works through the
    # contact stream: the two overlap on two cores.
    with ThreadPoolExecutor(max_workers=1) as pool:
        name = engine.name
        own = churn = None
        if "self_service_share" in wanted:
            own_expr = self_service_expr(classes, query, engine=name, members=members)
            own = pool.submit(engine.execute, own_expr)
        if "churn_rate" in wanted:
            churn_query = churn_expr(classes, query, engine=name, members=members)
            churn = pool.submit(engine.execute, churn_query)
        contact_counts: dict[tuple[str, ...], int] = {}
        if stream is not None:
            facts = _facts_of(stream, classes, journey, query)
            sums = {"n": ("one", "sum"), "repeats": ("repeat", "sum")}
            for r in _groups(facts.contacts.assign(one=1), keys, **sums).to_dict("records"):
                contact_counts[key_of(r)] = n = int(r["n"])
                _put(out, "repeat_contact_rate", key_of(r), Tally("proportion", n, r["repeats"]))
            if MATTER_METRICS & wanted:
                _matter_tallies(out, facts.matters, keys, key_of)
            if SURVEY_METRICS & wanted:
                _survey_tallies(out, facts.surveys, keys, key_of)
        if own is not None:
            moments_of = {key_of(r): int(r["n"]) for r in own.result().to_dict("records")}
            for key in set(moments_of) | set(contact_counts):
                moments = moments_of.get(key, 0)
                total = moments + contact_counts.get(key, 0)
                _put(out, "self_service_share", key, Tally("proportion", total, moments))
        if churn is not None:
            for r in churn.result().to_dict("records"):
                tally = Tally("proportion", int(r["n"]), r["churned"])
                _put(out, "churn_rate", key_of(r), tally)
    return out


def _matter_tallies(out: Tallies, matters: pd.DataFrame, keys: list[str], key_of: Any) -> None:
    m = matters.assign(
        one=1,
        fcr=(matters["contacts"] == 1).astype(int),
        hopped=(matters["hops"] > 0).astype(int),
        h2=matters["handoffs"] ** 2,
        asked=(matters["asked_again"] > 0).astype(int),
        reopened_resolved=matters["reopened"] * matters["resolved"],
        r2=matters["resolution_h"] ** 2,
        e2=matters["effort"] ** 2,
    )
    sums = {
        "n": ("one", "sum"), "fcr": ("fcr", "sum"), "hopped": ("hopped", "sum"),
        "h1": ("handoffs", "sum"), "h2": ("h2", "sum"), "asked": ("asked", "sum"),
        "resolved": ("resolved", "sum"), "reopened": ("reopened_resolved", "sum"),
        "r1": ("resolution_h", "sum"), "r2": ("r2", "sum"), "e1": ("effort", "sum"),
        "e2": ("e2", "sum"),
    }  # fmt: skip
    for r in _groups(m, keys, **sums).to_dict("records"):
        key, n = key_of(r), int(r["n"])
        _put(out, "first_contact_resolution", key, Tally("proportion", n, r["fcr"]))
        _put(out, "channel_hopping", key, Tally("proportion", n, r["hopped"]))
        _put(out, "handoffs_per_case", key, Tally("mean", n, r["h1"], r["h2"], NON_NEGATIVE))
        _put(out, "data_asked_again", key, Tally("proportion", n, r["asked"]))
        _put(out, "reopen_rate", key, Tally("proportion", int(r["resolved"]), r["reopened"]))
        _put(out, "time_to_resolution", key, Tally("mean", n, r["r1"], r["r2"], NON_NEGATIVE))
        _put(out, "effort_index", key, Tally("mean", n, r["e1"], r["e2"], NON_NEGATIVE))


def _survey_tallies(out: Tallies, answers: pd.DataFrame, keys: list[str], key_of: Any) -> None:
    s = answers.assign(
        one=1,
        x2=answers["score"] ** 2,
        promoters=(answers["score"] >= 9).astype(int),
        detractors=(answers["score"] <= 6).astype(int),
        top4=(answers["score"] >= 4).astype(int),
        top5=(answers["score"] >= 5).astype(int),
    )
    sums = {
        "n": ("one", "sum"), "x1": ("score", "sum"), "x2": ("x2", "sum"),
        "promoters": ("promoters", "sum"), "detractors": ("detractors", "sum"),
        "top4": ("top4", "sum"), "top5": ("top5", "sum"),
    }  # fmt: skip
    if not len(s):
        return
    grouped = s.groupby([*keys, "kind"], observed=True, sort=False).agg(**sums).reset_index()
    for r in grouped.to_dict("records"):
        key, n, kind = key_of(r), int(r["n"]), r["kind"]
        if kind == "nps":
            _put(out, "nps", key, Tally("nps", n, r["promoters"], r["detractors"]))
        elif kind == "csat":
            _put(out, "csat", key, Tally("mean", n, r["x1"], r["x2"], CSAT_SCALE))
            _put(out, "csat_top_box", key, Tally("proportion", n, r["top4"]))
        else:
            _put(out, "ces", key, Tally("mean", n, r["x1"], r["x2"], CES_SCALE))
            _put(out, "ces_agree", key, Tally("proportion", n, r["top5"]))


def _put(out: Tallies, metric: str, key: Any, t: Tally) -> None:
    if metric in out:
        out[metric][key] = Tally(t.statistic, t.n, float(t.a or 0), float(t.b or 0), t.scale)


def _wanted(query: CatalogueQuery) -> tuple[str, ...]:
    if query.metrics is None:
        return LAKE_METRICS
    for metric_id in query.metrics:
        entry: Metric | None = _BY_ID.get(metric_id)
        if entry is None:
            raise InvalidInput(
                f"metrics: no metric {metric_id!r}; known: {', '.join(LAKE_METRICS)}"
            )
        if entry.engine != "lake":
            raise InvalidInput(
                f"metrics: {metric_id!r} is computed from a survey's own answers, not the event "
                f"log: GET /api/metrics/{metric_id} (cxm metrics show {metric_id})"
            )
        if metric_id not in LAKE_METRICS:
            raise InvalidInput(
                f"metrics: {metric_id!r} is a table by cohort, not a figure per group: "
                "ws.metrics.retention() (GET /api/metrics/retention, cxm metrics retention)"
            )
    return tuple(dict.fromkeys(query.metrics))


def run_catalogue(
    engine: Engine, journey: JourneyMap, query: CatalogueQuery, *, members: Members = None
) -> pd.DataFrame:
    """One row per metric and group: n, estimate, low, high, reportable, reason.

    Rows are in catalogue order, groups sorted; a figure below ``query.min_sample`` keeps its
    ``n`` and the reason, with no estimate. Answers are cached until the lake changes.
    """
    group = hash(tuple(sorted(members))) if members is not None else None
    key = ("catalogue", journey.model_dump_json(), query.model_dump_json(), group)
    return engine.remember(key, lambda: _catalogue(engine, journey, query, members))


def _catalogue(
    engine: Engine, journey: JourneyMap, query: CatalogueQuery, members: Members
) -> pd.DataFrame:
    keys = [_column(d) for d in query.by]
    records = []
    for metric, groups in tallies(engine, journey, query, members=members).items():
        for key in sorted(groups):
            interval = groups[key].interval(query.confidence)
            judged = reading(interval, min_n=query.min_sample, counted=COUNTED.get(metric, ANSWERS))
            record: dict[str, Any] = {"metric": metric, **dict(zip(keys, key, strict=True))}
            record.update(
                n=interval.n,
                estimate=_finite(interval.estimate) if judged.reportable else None,
                low=_finite(interval.low) if judged.reportable else None,
                high=_finite(interval.high) if judged.reportable else None,
                reportable=judged.reportable,
                reason=judged.reason,
            )
            records.append(record)
    return pd.DataFrame(records, columns=["metric", *keys, *ROW_COLUMNS[1:]])


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


__all__ = ["LAKE_METRICS", "Tally", "run_catalogue", "tallies"]

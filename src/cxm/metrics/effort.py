"""The behavioural effort index: how hard the company made things, from behaviour alone.

Every matter (a run of contacts about one thing, :mod:`cxm.metrics.behaviour`) scores

    effort = repeat contacts + channel hops + handoffs + times asked for data again
             + 2 × reopened + ln(1 + days to resolution)

(weights in :data:`cxm.metrics.sequences.EFFORT_WEIGHTS`). A customer's index over a period is
the effort of their hardest matter: people judge an experience by its worst moment (the
peak-end rule), and on the demo company the peak ranks the planted broken journeys and agrees
with CES better than the total does (the total is kept beside it). A touchpoint's index is the
mean over the matters that began there. The index is validated against what customers say
where both exist: the Spearman rank correlation between a matter's effort and the CES answer
given about that matter (7 = easiest, so a good index correlates negatively), and between a
customer's index and their mean CES and NPS.

>>> report = effort_validation(engine, journey)          # doctest: +SKIP
>>> report.matter_ces                                     # e.g. -0.45
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxm.analytics import Engine
from cxm.journeys.map import JourneyMap
from cxm.metrics.queries import CatalogueQuery
from cxm.metrics.runner import behaviour_facts
from cxm.metrics.sequences import SequenceFacts

CUSTOMER_COLUMNS = [
    "customer_id", "effort", "total_effort", "matters", "contacts", "repeat_contacts",
    "channel_hops", "handoffs", "asked_again", "reopened", "resolution_h", "rank", "decile",
]  # fmt: skip


def customer_effort(facts: SequenceFacts) -> pd.DataFrame:
    """One row per customer with at least one matter: the index (their hardest matter's
    effort), the total over their matters, its parts, rank and decile.

    Rank 1 is the most effort; decile 10 is the worst tenth (by rank, ties share a rank).
    """
    m = facts.matters
    if not len(m):
        return pd.DataFrame(columns=CUSTOMER_COLUMNS)
    grouped = m.groupby("customer", sort=False).agg(
        effort=("effort", "max"),
        total_effort=("effort", "sum"),
        matters=("matter", "count"),
        contacts=("contacts", "sum"),
        repeat_contacts=("repeats", "sum"),
        channel_hops=("hops", "sum"),
        handoffs=("handoffs", "sum"),
        asked_again=("asked_again", "sum"),
        reopened=("reopened", "sum"),
        resolution_h=("resolution_h", "sum"),
    )
    grouped.insert(0, "customer_id", facts.customers[grouped.index.to_numpy()])
    grouped = grouped.sort_values(
        ["effort", "total_effort"], ascending=False, kind="stable"
    ).reset_index(drop=True)
    grouped["rank"] = grouped["effort"].rank(method="min", ascending=False).astype(int)
    worse_share = (grouped["rank"] - 1) / len(grouped)
    grouped["decile"] = 10 - np.floor(worse_share * 10).astype(int)
    return grouped[CUSTOMER_COLUMNS]


def touchpoint_effort(facts: SequenceFacts, min_sample: int = 30) -> pd.DataFrame:
    """Per touchpoint where matters began: matters, mean effort and its parts, worst first."""
    m = facts.matters
    columns = ["touchpoint", "matters", "effort", "repeat_contacts", "channel_hops", "handoffs",
               "asked_again", "reopen_rate", "resolution_h", "reportable"]  # fmt: skip
    if not len(m):
        return pd.DataFrame(columns=columns)
    grouped = (
        m.groupby("touchpoint", observed=True)
        .agg(
            matters=("matter", "count"),
            effort=("effort", "mean"),
            repeat_contacts=("repeats", "mean"),
            channel_hops=("hops", "mean"),
            handoffs=("handoffs", "mean"),
            asked_again=("asked_again", "mean"),
            reopen_rate=("reopened", "mean"),
            resolution_h=("resolution_h", "mean"),
        )
        .reset_index()
    )
    grouped["touchpoint"] = grouped["touchpoint"].astype(str)
    grouped["reportable"] = grouped["matters"] >= min_sample
    return grouped.sort_values(["reportable", "effort"], ascending=[False, False])[columns]


def spearman(x: pd.Series, y: pd.Series) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN below three pairs."""
    pairs = pd.DataFrame({"x": x, "y": y}).dropna()
    if len(pairs) < 3 or pairs["x"].nunique() < 2 or pairs["y"].nunique() < 2:
        return math.nan
    return float(pairs["x"].rank().corr(pairs["y"].rank()))


@dataclass(frozen=True)
class EffortValidation:
    """How well the index agrees with what customers said, and the rankings it produced."""

    matter_ces: float  # matter effort vs the CES answer about that matter
    matter_ces_n: int
    customer_ces: float  # a customer's index vs their mean CES
    customer_ces_n: int
    customer_nps: float  # a customer's index vs their mean NPS answer
    customer_nps_n: int
    customer_effort: pd.DataFrame
    touchpoint_effort: pd.DataFrame

    def summary(self) -> str:
        return (
            f"effort vs CES per matter: Spearman {self.matter_ces:.3f} "
            f"(n={self.matter_ces_n}); per customer vs mean CES {self.customer_ces:.3f} "
            f"(n={self.customer_ces_n}), vs mean NPS {self.customer_nps:.3f} "
            f"(n={self.customer_nps_n})"
        )

    def as_dict(self) -> dict[str, float | int | None]:
        def finite(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "matter_ces_spearman": finite(self.matter_ces),
            "matter_ces_n": self.matter_ces_n,
            "customer_ces_spearman": finite(self.customer_ces),
            "customer_ces_n": self.customer_ces_n,
            "customer_nps_spearman": finite(self.customer_nps),
            "customer_nps_n": self.customer_nps_n,
        }


def effort_validation(
    engine: Engine, journey: JourneyMap, query: CatalogueQuery | None = None
) -> EffortValidation:
    """The index per customer and touchpoint, and its correlation with CES and NPS answers
    (``query`` gives the period and the definitions' parameters; its grouping is not used)."""
    query = (query or CatalogueQuery()).model_copy(update={"by": ()})
    facts = behaviour_facts(engine, journey, query)
    return validate(facts, min_sample=query.min_sample)


def validate(facts: SequenceFacts, *, min_sample: int = 30) -> EffortValidation:
    customers = customer_effort(facts)
    answers = facts.surveys
    ces = answers[answers["kind"] == "ces"]
    about = ces[ces["matter"] >= 0].merge(
        facts.matters[["matter", "effort"]], on="matter", how="inner"
    )
    per_customer = customers.set_index("customer_id")["effort"]

    def by_customer(kind: str) -> tuple[float, int]:
        chosen = answers[answers["kind"] == kind]
        if not len(chosen):
            return math.nan, 0
        ids = facts.customers[chosen["customer"].to_numpy()]
        mean = chosen.assign(customer_id=ids).groupby("customer_id")["score"].mean()
        # Customers who answered but had no matter made no effort: index 0.
        effort = per_customer.reindex(mean.index).fillna(0.0)
        return spearman(effort, mean), len(mean)

    customer_ces, customer_ces_n = by_customer("ces")
    customer_nps, customer_nps_n = by_customer("nps")
    return EffortValidation(
        matter_ces=spearman(about["effort"], about["score"]),
        matter_ces_n=len(about),
        customer_ces=customer_ces,
        customer_ces_n=customer_ces_n,
        customer_nps=customer_nps,
        customer_nps_n=customer_nps_n,
        customer_effort=customers,
        touchpoint_effort=touchpoint_effort(facts, min_sample),
    )


def customer_effort_ranking(
    engine: Engine, journey: JourneyMap, query: CatalogueQuery | None = None
) -> pd.DataFrame:
    """:func:`customer_effort` over the query's period, cached until the lake changes: the
    customer page looks one customer up in it."""
    query = (query or CatalogueQuery()).model_copy(update={"by": ()})
    key = ("customer-effort", journey.model_dump_json(), query.model_dump_json())
    return engine.remember(key, lambda: customer_effort(behaviour_facts(engine, journey, query)))

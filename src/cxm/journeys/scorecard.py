"""Touchpoint scorecards and the department view.

Per touchpoint: visits (events placed on it), unique customers, the **repeat rate** (share of
visits followed by another visit of the same customer to the same touchpoint within N days)
and the **contact-after rate** (share of visits followed within N days by a contact at a
touchpoint of the contact stage, ``support`` by default: failure demand the touchpoint left
behind). A touchpoint's *health* is its contact-after rate, or for the contact stage's own
touchpoints its repeat rate (a customer contacting again about the same thing). Satisfaction
and sentiment per touchpoint join the scorecard once surveys and text analytics exist.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from cxm.analytics import Engine, events_table
from cxm.journeys.map import JourneyMap
from cxm.journeys.placement import DAY_US, in_period, memoized, touchpoint_column
from cxm.journeys.queries import DepartmentQuery, ScorecardQuery

MIN_CUSTOMERS = 30  # fewer customers than this: health "no-data", whatever the rates say
WATCH_RATE = 0.15
POOR_RATE = 0.30


@memoized
def scorecard_expr(journey: JourneyMap, query: ScorecardQuery) -> ir.Table:
    ev = in_period(events_table(), query.start, query.end)
    e = ev.select(c=ev.customer_id, t=ev.t, seq=ev.seq, tp=touchpoint_column(ev, journey))
    e = e.filter(e.tp.notnull())
    contact_tps = [tp.id for tp in journey.touchpoints if tp.stage == query.contact_stage]
    horizon = int(query.repeat_days * DAY_US)
    same = ibis.window(group_by=[e.c, e.tp], order_by=[e.t, e.seq])
    later = ibis.window(group_by=e.c, order_by=e.t, range=(1, None))
    is_contact = e.tp.isin(contact_tps) if contact_tps else ibis.literal(False)
    e = e.mutate(
        again=e.t.lead().over(same) - e.t,
        contact=ibis.ifelse(is_contact, e.t, None).min().over(later) - e.t,
    )
    repeat = (e.again.notnull() & (e.again <= horizon)).cast("int64")
    after = (e.contact.notnull() & (e.contact <= horizon)).cast("int64")
    return e.group_by(e.tp).aggregate(
        visits=e.count(),
        customers=e.c.nunique(),
        repeats=repeat.sum(),
        contacts_after=after.sum(),
    )


def run_scorecard(engine: Engine, journey: JourneyMap, query: ScorecardQuery) -> pd.DataFrame:
    """One row per touchpoint of the map (in map order), with zero rows for unvisited ones."""
    if query.stage is not None:
        journey.stage(query.stage)  # an unknown stage is an error, not an empty table
    counts = {r["tp"]: r for r in engine.execute(scorecard_expr(journey, query)).to_dict("records")}
    rows = []
    for tp in journey.touchpoints:
        if query.stage is not None and tp.stage != query.stage:
            continue
        r = counts.get(tp.id, {})
        visits = int(r.get("visits") or 0)
        repeat_rate = _rate(r.get("repeats"), visits)
        after_rate = _rate(r.get("contacts_after"), visits)
        customers = int(r.get("customers") or 0)
        judged = repeat_rate if tp.stage == query.contact_stage else after_rate
        rows.append(
            {
                "touchpoint": tp.id,
                "name": tp.name,
                "stage": tp.stage,
                "stage_rank": journey.stage_rank(tp.stage),
                "owner": tp.owner,
                "owner_name": tp.owner_name,
                "visits": visits,
                "customers": customers,
                "repeat_rate": repeat_rate,
                "contact_after_rate": after_rate,
                "health": health(judged, customers),
            }
        )
    return pd.DataFrame(rows, columns=SCORECARD_COLUMNS)


SCORECARD_COLUMNS = [
    "touchpoint", "name", "stage", "stage_rank", "owner", "owner_name", "visits", "customers",
    "repeat_rate", "contact_after_rate", "health",
]  # fmt: skip


def health(rate: float | None, customers: int) -> str:
    if rate is None or customers < MIN_CUSTOMERS:
        return "no-data"
    if rate >= POOR_RATE:
        return "poor"
    return "watch" if rate >= WATCH_RATE else "good"


def _rate(part: Any, whole: int) -> float | None:
    return int(part or 0) / whole if whole else None


def run_department(engine: Engine, journey: JourneyMap, query: DepartmentQuery) -> pd.DataFrame:
    """Every touchpoint the department influences, strongest first, with influence-weighted
    visits and customers beside the touchpoint's own scorecard."""
    department = journey.department(query.department)
    card = run_scorecard(
        engine,
        journey,
        ScorecardQuery(
            start=query.start,
            end=query.end,
            repeat_days=query.repeat_days,
            contact_stage=query.contact_stage,
        ),
    ).set_index("touchpoint")
    rows = []
    for row in journey.influence_rows():
        if row.department != department.id:
            continue
        tp = card.loc[row.touchpoint]
        rows.append(
            {
                "department": department.id,
                "touchpoint": row.touchpoint,
                "name": tp["name"],
                "stage": tp["stage"],
                "weight": row.weight,
                "is_owner": row.is_owner,
                "owner": tp["owner"],
                "visits": int(tp["visits"]),
                "customers": int(tp["customers"]),
                "weighted_visits": row.weight * int(tp["visits"]),
                "weighted_customers": row.weight * int(tp["customers"]),
                "repeat_rate": tp["repeat_rate"],
                "contact_after_rate": tp["contact_after_rate"],
                "health": tp["health"],
            }
        )
    rows.sort(key=lambda r: (-r["weight"], -r["visits"], r["touchpoint"]))
    return pd.DataFrame(rows, columns=DEPARTMENT_COLUMNS)


DEPARTMENT_COLUMNS = [
    "department", "touchpoint", "name", "stage", "weight", "is_owner", "owner", "visits",
    "customers", "weighted_visits", "weighted_customers", "repeat_rate", "contact_after_rate",
    "health",
]  # fmt: skip

"""Which problems go with which purchases: "customers who report slow internet often buy the
Wi-Fi Booster", found in the data rather than guessed, with honest statistics.

Per customer active in the period (any event), two sets of items:

- **problems they reported**: the text topics (``cxm.text``) of what was said in the contacts
  of their cases (``cxm.cases``: calls, e-mails, chats, visits; the customer's words and the
  agent's notes);
- **what they bought**: the ``addon`` or ``product`` of purchase events (``Add-on
  Purchased``, ``Purchase Completed``, ``Order Completed``), from the lake.

For each problem X and product Y, with N customers, the rule X → Y has

    support = n(X and Y) / N,  confidence = n(X and Y) / n(X),  lift = confidence / (n(Y) / N)

and a one-sided Fisher exact test of "X makes Y no more likely" on the 2×2 table; the
p-values of all the pairs tested are adjusted together (Benjamini–Hochberg), so at the chosen
``alpha`` at most that share of the rules reported as significant are false discoveries.
"Both" means bought *after* first reporting the problem (the order the rule claims; a purchase
before the report counts as none, which can only weaken the evidence); beside each rule, the
median days from report to purchase. An association is not a cause: a campaign with a
holdout (``cxm.automation``) measures the cause.

>>> report = association_report(session, engine, start=start, end=end)   # doctest: +SKIP
>>> [(r.problem, r.product, round(r.lift, 1)) for r in report.rules if r.significant][:1]
[('wolno / slow / speed', 'Wi-Fi Booster', 3.4)]
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.analytics import Engine, events_table
from cxm.cases.tables import case_activity
from cxm.errors import InvalidInput
from cxm.identity.tables import profiles
from cxm.metrics.changes import bh_adjusted
from cxm.metrics.distributions import fisher_exact_greater
from cxm.profiles.tables import profile_events
from cxm.text.queries import topic_name
from cxm.text.tables import text_items, text_topics

PURCHASE_EVENTS = ("Add-on Purchased", "Purchase Completed", "Order Completed")
PRODUCT_PROPERTIES = ("addon", "product", "product_name", "sku")


@dataclass(frozen=True)
class AssociationRule:
    problem_id: int
    problem: str
    product: str
    customers: int  # N
    with_problem: int
    with_product: int
    both: int  # reported the problem, then bought the product
    support: float
    confidence: float
    lift: float
    p_value: float
    q_value: float  # BH-adjusted
    significant: bool
    median_days_after: float  # from the first report to the purchase

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in self.__dict__.items()}  # fmt: skip


@dataclass
class AssociationReport:
    start: datetime
    end: datetime
    customers: int
    reporters: int
    buyers: int
    tested: int
    alpha: float
    rules: list[AssociationRule] = field(default_factory=list)


def problem_reports(
    session: Session, *, start: datetime, end: datetime
) -> dict[str, dict[int, datetime]]:
    """Each customer's reported problems (topic → first time) in the period."""
    root = func.coalesce(profiles.c.merged_into, profile_events.c.profile_id)
    topic = func.coalesce(text_topics.c.merged_into, text_items.c.topic_id)
    rows = session.execute(
        select(root, topic, func.min(text_items.c.occurred_at))
        .select_from(text_items)
        .join(case_activity, case_activity.c.seq == text_items.c.ref)
        .join(profile_events, profile_events.c.seq == text_items.c.ref)
        .join(profiles, profiles.c.id == profile_events.c.profile_id)
        .join(text_topics, text_topics.c.id == text_items.c.topic_id)
        .where(
            text_items.c.source == "event",
            case_activity.c.kind == "contact",
            text_items.c.occurred_at >= start,
            text_items.c.occurred_at < end,
        )
        .group_by(root, topic)
    )
    out: dict[str, dict[int, datetime]] = defaultdict(dict)
    for customer, topic_id, at in rows:
        out[str(customer)][int(topic_id)] = at
    return dict(out)


def purchases(engine: Engine, *, start: datetime, end: datetime) -> dict[str, dict[str, datetime]]:
    """Each customer's products bought in the period (product → first time), from the lake."""
    e = events_table()
    expr = e.filter(
        e.event.isin(PURCHASE_EVENTS), e.ts >= ibis.literal(start), e.ts < ibis.literal(end)
    ).select("customer_id", "ts", "properties")
    frame = engine.execute(expr)
    out: dict[str, dict[str, datetime]] = defaultdict(dict)
    for customer, ts, props in frame.itertuples(index=False):
        product = _product(props)
        if product is None:
            continue
        at = ts.to_pydatetime() if hasattr(ts, "to_pydatetime") else ts
        held = out[str(customer)]
        if product not in held or at < held[product]:
            held[product] = at
    return dict(out)


def active_customers(engine: Engine, *, start: datetime, end: datetime) -> int:
    e = events_table()
    expr = e.filter(e.ts >= ibis.literal(start), e.ts < ibis.literal(end)).customer_id.nunique()
    frame = engine.execute(expr.name("n").as_table())
    return int(frame["n"].iloc[0])


def _product(props: Any) -> str | None:
    try:
        data = orjson.loads(props) if isinstance(props, str) else props
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    for key in PRODUCT_PROPERTIES:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


def topic_names(session: Session) -> dict[int, str]:
    return {
        int(tid): topic_name(label, orjson.loads(phrases))
        for tid, label, phrases in session.execute(
            select(text_topics.c.id, text_topics.c.label, text_topics.c.keyphrases)
        )
    }


def association_report(
    session: Session,
    engine: Engine,
    *,
    start: datetime,
    end: datetime,
    min_customers: int = 10,
    min_both: int = 5,
    alpha: float = 0.05,
) -> AssociationReport:
    """Problem → product rules in the period, strongest evidence first."""
    if end <= start:
        raise InvalidInput("the period's end must come after its start")
    if not 0 < alpha < 1:
        raise InvalidInput(f"alpha is a significance level between 0 and 1, got {alpha}")
    reports = problem_reports(session, start=start, end=end)
    bought = purchases(engine, start=start, end=end)
    n = active_customers(engine, start=start, end=end)
    names = topic_names(session)
    return associate(reports, bought, customers=n, names=names, start=start, end=end,
                     min_customers=min_customers, min_both=min_both, alpha=alpha)  # fmt: skip


def associate(
    reports: dict[str, dict[int, datetime]],
    bought: dict[str, dict[str, datetime]],
    *,
    customers: int,
    names: dict[int, str],
    start: datetime,
    end: datetime,
    min_customers: int = 10,
    min_both: int = 5,
    alpha: float = 0.05,
) -> AssociationReport:
    """The arithmetic of :func:`association_report` on items already gathered (pure)."""
    # Customers seen reporting or buying count even if the lake's active count missed them.
    everyone = set(reports) | set(bought)
    n = max(customers, len(everyone))
    by_problem: dict[int, set[str]] = defaultdict(set)
    for customer, topics in reports.items():
        for topic in topics:
            by_problem[topic].add(customer)
    by_product: dict[str, set[str]] = defaultdict(set)
    for customer, products in bought.items():
        for product in products:
            by_product[product].add(customer)
    report = AssociationReport(start, end, n, len(reports), len(bought), 0, alpha)
    pending: list[tuple[int, str, int, int, int, float, float]] = []
    for topic, reporters in by_problem.items():
        if len(reporters) < min_customers:
            continue
        for product, buyers in by_product.items():
            if len(buyers) < min_customers:
                continue
            # Bought after reporting: the order the rule claims (a purchase before the report
            # counts as none, which can only weaken the evidence, never invent it).
            days = [
                (bought[cust][product] - reports[cust][topic]).total_seconds() / 86_400
                for cust in reporters & buyers
                if bought[cust][product] > reports[cust][topic]
            ]
            if len(days) < min_both:
                continue
            a = len(days)
            b = len(reporters) - a
            c = len(buyers - reporters)
            d = max(n - a - b - c, 0)
            p = fisher_exact_greater(a, b, c, d)
            pending.append((topic, product, len(reporters), len(buyers), a, p,
                            statistics.median(days)))  # fmt: skip
    report.tested = len(pending)
    q_values = bh_adjusted([item[5] for item in pending]) if pending else []
    for (topic, product, nx, ny, a, p, median), q in zip(pending, q_values, strict=True):
        confidence = a / nx
        lift = confidence / (ny / n) if ny else math.nan
        report.rules.append(
            AssociationRule(
                topic,
                names.get(topic, f"topic {topic}"),
                product,
                n,
                nx,
                ny,
                a,
                a / n,
                confidence,
                lift,
                p,
                q,
                q <= alpha and lift > 1,
                median,
            )  # fmt: skip
        )
    report.rules.sort(key=lambda r: (not r.significant, r.q_value, -r.lift))
    return report

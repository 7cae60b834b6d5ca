"""Behaviour as facts: which events count as what, and the queries that fetch them.

The journey map says what each touchpoint is for (its ``role``): a *contact* (the customer
reaches out: a call, an e-mail, a chat, a reported issue, a technician's visit), a
*data_request* (the customer is asked for details), a *resolution*, a *reopen*, a
*self_service* moment or a *churn* (a cancellation). From those events alone, per customer in
time order (:mod:`cxm.metrics.sequences` does the sequential part):

- a **contact** is a run of contact events in one channel with gaps under an hour (the phone
  menu and the call it leads to are one phone contact: ``ivr`` counts as ``phone``);
- a **matter** is a run of contacts each within ``repeat_days`` of the one before: the customer
  coming back about the same thing; its first contact decides its touchpoint, channel, owner
  department and month;
- in a matter, a **repeat contact** is every contact after the first, a **channel hop** a
  contact in another channel than the one before, a **handoff** a contact owned by another
  department than the one before, an **ask** a data request (requests at one touchpoint within
  an hour are one ask) and *asked again* every ask after the matter's first, and the first too
  when it asked for data the customer's profile already held (``cxm.cases`` judges that);
- a matter is **resolved** at its first resolution event, or else at its last contact; it is
  **reopened** when a contact (or a reopen event) follows a resolution within ``repeat_days``;
- a **survey answer** (``Survey Answered`` with ``kind`` and ``score``) belongs to the matter
  whose last contact came at most ``repeat_days`` before it, and to the touchpoint named in its
  ``touchpoint`` property or else that matter's first touchpoint;
- a **self-service moment** is a visit to a self-service touchpoint (one per touchpoint and
  hour); **churned** means a churn event within ``churn_days`` of being seen.

Events are classified by the distinct (type, name, channel) combinations the lake holds, a few
hundred rows matched against the map in Python and joined back as a small table: testing ten
million events against fifty patterns one by one costs seconds.
"""

from __future__ import annotations

from collections.abc import Collection

import ibis
import ibis.expr.types as ir
import pandas as pd

from cxm.analytics import Engine, events_table, known_asks_table, traits_table
from cxm.errors import InvalidInput
from cxm.journeys.map import JourneyMap
from cxm.journeys.placement import DAY_US, micros
from cxm.metrics.queries import CatalogueQuery
from cxm.metrics.sequences import NO_TOUCHPOINT, SESSION_GAP_US

CHANNEL_FAMILY = {"ivr": "phone"}
Members = Collection[str] | None  # a segment's profile ids, when the query groups by one
SURVEY_EVENT = "Survey Answered"
CLASS_COLUMNS = ["k_type", "k_name", "k_channel", "tp", "role", "stage", "dept", "family"]
CLASS_SCHEMA = {**{c: "string" for c in CLASS_COLUMNS}, "k_id": "int64"}


def classification(engine: Engine, journey: JourneyMap) -> pd.DataFrame:
    """Every (type, name, channel) in the lake with its touchpoint, role, stage, owner and
    channel family; survey answers have the role ``survey`` wherever the map places them."""
    ev = events_table()
    combos = engine.execute(
        ev.select(k_type=ev.type, k_name=ev.event.fill_null(""), k_channel=ev.channel).distinct()
    )
    rows = []
    for kind, name, channel in combos.itertuples(index=False):
        tp = journey.match(kind, name or None, channel)
        role = "survey" if (kind, name) == ("track", SURVEY_EVENT) else tp.role if tp else None
        rows.append(
            (kind, name, channel, tp.id if tp else None, role, tp.stage if tp else None,
             tp.owner if tp else None, CHANNEL_FAMILY.get(channel, channel))
        )  # fmt: skip
    classes = pd.DataFrame(rows, columns=CLASS_COLUMNS)
    classes["k_id"] = range(len(classes))
    return classes


def placed(classes: pd.DataFrame, *, roles: list[str] | None = None) -> ir.Table:
    """The lake's events joined with their class (only those on the map, or of ``roles``)."""
    if roles is not None:
        classes = classes[classes["role"].isin(roles)]
    else:
        classes = classes[classes["tp"].notna() | classes["role"].notna()]
    k = ibis.memtable(classes.astype(object).where(classes.notna(), None), schema=CLASS_SCHEMA)
    ev = events_table()
    ev = ev.mutate(k_name_=ev.event.fill_null(""))
    joined = ev.join(
        k, (ev.type == k.k_type) & (ev.k_name_ == k.k_name) & (ev.channel == k.k_channel)
    )
    return joined.drop("k_type", "k_name", "k_channel", "k_name_")


def _period(e: ir.Table, start: int | None, end: int | None) -> ir.Table:
    if start is not None:
        e = e.filter(e.t >= start)
    if end is not None:
        e = e.filter(e.t < end)
    return e


def bounds(query: CatalogueQuery) -> tuple[int | None, int | None]:
    """The period in epoch µs (either end may be open)."""
    return (
        micros(query.start) if query.start else None,
        micros(query.end) if query.end else None,
    )


def stream_expr(
    classes: pd.DataFrame, query: CatalogueQuery, *, members: Members = None
) -> ir.Table:
    """Contacts, data requests, resolutions, reopenings and survey answers: the rows the
    sequential definitions need, reaching ``repeat_days`` beyond the period on both sides."""
    ev = placed(classes, roles=["contact", "data_request", "resolution", "reopen", "survey"])
    start, end = bounds(query)
    pad = query.repeat_days * DAY_US
    ev = _period(ev, None if start is None else start - pad, None if end is None else end + pad)
    # Survey answers keep their properties (kind, score, touchpoint), read in Python: JSON
    # functions differ between engines, and there are few answers next to the other events.
    known = known_asks_table()
    e = ev.select(
        c=ev.customer_id,
        t=ev.t,
        seq=ev.seq,
        cls=ev.k_id,
        props=ibis.ifelse(ev.role == "survey", ev.properties, None),
        # A request for data that asked for what the profile already held (cxm.cases).
        known=ibis.ifelse(ev.role == "data_request", ev.seq.isin(known.seq), False),
    )
    return with_attribute(e, query, members)


def self_service_expr(
    classes: pd.DataFrame, query: CatalogueQuery, *, engine: str = "duckdb", members: Members = None
) -> ir.Table:
    """Self-service moments (one per customer, touchpoint and hour) per group of ``query.by``."""
    ev = _period(placed(classes, roles=["self_service"]), *bounds(query))
    e = _grouping_columns(ev, query, members, hour=ev.t // SESSION_GAP_US)
    keys = dimension_keys(e, query, engine)
    moments = e.group_by([e.c, e.tp, e.hour, *keys]).aggregate()
    names = [k.get_name() for k in keys]
    return (moments.group_by(names) if names else moments).aggregate(n=moments.count())


def churn_expr(
    classes: pd.DataFrame, query: CatalogueQuery, *, engine: str = "duckdb", members: Members = None
) -> ir.Table:
    """Per group of ``query.by`` and month: customers seen, and those who churned.

    Every customer seen in a group in a month counts once there (a customer-month); churned
    means a churn event within ``churn_days`` of their first event in that cell. Cells too close
    to the end of the data to tell are left out, so recent weeks never look loyal by default.
    """
    everything = events_table()
    ev = _period(placed(classes), *bounds(query))
    e = _grouping_columns(ev, query, members, cell_month=month_key(ev.t, engine))
    # Customers are told apart by a 64-bit hash of their id in the cells: grouping ten million
    # rows by an integer costs half of grouping them by text (on Spark the hash has 32 bits).
    e = e.mutate(c=e.c.hash())
    keys = dimension_keys(e, query, engine)
    names = [k.get_name() for k in keys]
    by_month = [] if "month" in names else [e.cell_month]
    cells = e.group_by([e.c, *by_month, *keys]).aggregate(seen=e.t.min())
    has_churn = bool((classes["role"] == "churn").any())
    churners = placed(classes, roles=["churn"]) if has_churn else everything.limit(0)
    churners = churners.group_by(cc=churners.customer_id.hash()).aggregate(ct=churners.t.min())
    last = everything.aggregate(last=everything.t.max())
    horizon = query.churn_days * DAY_US
    j = cells.left_join(churners, cells.c == churners.cc).cross_join(last)
    j = j.filter(j.seen + horizon <= j.last)
    churned = (j.ct.notnull() & (j.ct >= j.seen) & (j.ct < j.seen + horizon)).cast("int64")
    j = j.mutate(churned=churned)
    return (j.group_by(names) if names else j).aggregate(n=j.count(), churned=j.churned.sum())


def _grouping_columns(
    ev: ir.Table, query: CatalogueQuery, members: Members, **more: ir.Value
) -> ir.Table:
    """A placed event's customer, time and the columns the dimensions group by."""
    e = ev.select(
        c=ev.customer_id,
        t=ev.t,
        tp=ev.tp,
        stage=ev.stage,
        dept=ev.dept,
        channel=ev.family,
        **more,
    )
    return with_attribute(e, query, members)


def dimension_keys(e: ir.Table, query: CatalogueQuery, engine: str) -> list[ir.Value]:
    """The engine-side group keys of ``query.by`` over a table with tp, stage, dept, channel,
    t and trait columns, named as the dimensions are (``month``: see :func:`month_key`)."""
    keys: list[ir.Value] = []
    for dimension in query.by:
        if dimension == "touchpoint":
            keys.append(e.tp.fill_null(NO_TOUCHPOINT).name("touchpoint"))
        elif dimension == "stage":
            keys.append(e.stage.fill_null(NO_TOUCHPOINT).name("stage"))
        elif dimension == "department":
            keys.append(e.dept.fill_null(NO_TOUCHPOINT).name("department"))
        elif dimension == "channel":
            keys.append(e.channel.name("channel"))
        elif dimension == "month":
            keys.append(month_key(e.t, engine).name("month"))
        else:
            keys.append(e.attribute.name(dimension.partition(":")[0]))
    return keys


def month_key(t: ir.IntegerValue, engine: str) -> ir.Value:
    """The calendar month (UTC) of an epoch-µs time, in the form fastest on ``engine``: on
    DuckDB the month's first instant from epoch milliseconds (a naive timestamp, truncated in a
    fraction of the time a zone-aware one takes), elsewhere :func:`month_of`."""
    if engine == "duckdb":
        return (t // 1000).as_timestamp("ms").truncate("M")
    return month_of(t)


def month_of(t: ir.IntegerValue) -> ir.IntegerValue:
    """The calendar month (UTC) of an epoch-µs time as ``year * 12 + month - 1``.

    Integer arithmetic (the proleptic Gregorian days-to-civil conversion) rather than date
    functions: it runs the same on every engine, and truncating DuckDB's zone-aware timestamps
    costs several times more per row.
    """
    z = t // 86_400_000_000 + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 - 12 * (mp >= 10).cast("int64")  # 1..12
    year = yoe + era * 400 + (month <= 2).cast("int64")
    return year * 12 + month - 1


def month_label(index: int) -> str:
    """``"YYYY-MM"`` of a :func:`month_of` value.

    >>> month_label(2026 * 12 + 2)
    '2026-03'
    """
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def with_attribute(e: ir.Table, query: CatalogueQuery, members: Members) -> ir.Table:
    """``e`` (with the customer in ``c``) with an ``attribute`` column when the query groups by
    a trait (its value, ``(none)`` when unknown) or a segment (``in`` or ``out``)."""
    attribute = query.attribute
    if attribute is None:
        return e
    kind, name = attribute
    if kind == "trait":
        traits = traits_table()
        chosen = traits.filter(traits.key == name)
        values = chosen.select(ac=chosen.customer_id, attribute=chosen.value)
        joined = e.left_join(values, e.c == values.ac)
        return joined.drop("ac").mutate(attribute=joined.attribute.fill_null(NO_TOUCHPOINT))
    if members is None:
        raise InvalidInput(
            f"by: segment:{name} needs the segment's members; ask through the workspace, the "
            "API or the CLI, which look them up"
        )
    inside = ibis.memtable(
        pd.DataFrame({"ac": pd.Series(list(members), dtype=object)}), schema={"ac": "string"}
    )
    joined = e.left_join(inside, e.c == inside.ac)
    flag = ibis.ifelse(joined.ac.notnull(), "in", "out")
    return joined.mutate(attribute=flag).drop("ac")

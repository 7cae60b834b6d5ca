"""A department's view, and Total Experience: the experience of the employees of a department
beside the experience customers get at the touchpoints it owns and influences.

For one department of the journey map (``department_view``):

- **its touchpoints**: every touchpoint it influences, with the weight from the influence
  matrix (1.0 where it owns it), each with its customer-experience figures over the period
  (CSAT, NPS, CES, repeat contacts, behavioural effort) and their intervals;
- **its customer experience** (``cx``): the same figures over the touchpoints it owns (the
  catalogue's ``department`` dimension);
- **its employee experience** (``ex``): eNPS over every employee survey answered in the
  department in the period; a department with fewer answers than the minimum sample shows no
  value (employee privacy: a small team's answers are not singled out);
- **the link over time** (``link``): month by month, a customer measure of its owned
  touchpoints beside its eNPS, and Pearson's correlation across the months where both are
  reportable, with a 95 % interval (Fisher's z) and a two-sided p-value. The measure is the
  one asked for, or else the first of ``LINK_METRICS`` (CSAT, NPS, CES, behavioural effort,
  repeat contacts) reportable in at least ``MIN_MONTHS`` of the months that have an eNPS: the
  choice looks only at which data exist, never at the coefficient. With fewer such months there
  is no coefficient, and the reason says so. It is a correlation over a handful of months: it
  shows whether the two move together, not which drives the other. For the employees' privacy
  every eNPS shown, monthly or over the period, needs the minimum sample of answers;
- **its cases**: open cases it holds, and how many are past a service-level due time.

``department_summaries`` gives every department's headline figures for a list.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.errors import InvalidInput, NotFound
from cxm.metrics.catalogue import CATALOGUE
from cxm.metrics.queries import CatalogueQuery
from cxm.metrics.surveys import MIN_SAMPLE, survey_metric

if TYPE_CHECKING:
    from cxm.analytics import Engine
    from cxm.journeys.map import JourneyMap

CX_METRICS = ("csat", "nps", "ces", "repeat_contact_rate", "effort_index")
LINK_METRICS = ("csat", "nps", "ces", "effort_index", "repeat_contact_rate")
MIN_MONTHS = 6
_NAMES = {m.id: m for m in CATALOGUE}


@dataclass(frozen=True)
class Reading:
    metric: str
    n: int
    estimate: float | None
    low: float | None
    high: float | None
    reason: str | None = None


@dataclass(frozen=True)
class TouchpointRow:
    id: str
    name: str
    stage: str
    weight: float  # the department's influence (1.0: it owns the touchpoint)
    owner: str
    readings: dict[str, Reading]


@dataclass(frozen=True)
class MonthRow:
    month: str
    cx: Reading
    ex: Reading


@dataclass(frozen=True)
class Link:
    """Pearson's r between the monthly CX measure and eNPS, over ``months`` months."""

    cx_metric: str
    months: int
    r: float | None
    low: float | None
    high: float | None
    p_value: float | None
    reason: str | None


@dataclass
class DepartmentView:
    id: str
    name: str
    lead: str
    start: str
    end: str
    touchpoints: list[TouchpointRow]
    cx: dict[str, Reading]
    ex: Reading
    monthly: list[MonthRow]
    link: Link
    open_cases: int
    breached_cases: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def department_view(
    engine: Engine,
    journey: JourneyMap,
    session: Session,
    department: str,
    *,
    end: date | None = None,
    months: int = 12,
    cx_metric: str | None = None,
    min_sample: int = MIN_SAMPLE,
) -> DepartmentView:
    """The view of ``department`` over the ``months`` whole months before ``end`` (default:
    the month after the lake's last event, so a history import shows its own year)."""
    found = {d.id: d for d in journey.departments}
    if department not in found:
        raise NotFound(
            f"the journey map has no department '{department}'; its departments are "
            + ", ".join(found)
        )
    if cx_metric is not None and cx_metric not in LINK_METRICS:
        raise InvalidInput(f"cx_metric must be one of {', '.join(LINK_METRICS)}")
    if not 3 <= months <= 36:
        raise InvalidInput("months must lie between 3 and 36")
    end = _month_start(end or _after_last_event(engine))
    start = _add_months(end, -months)
    dept = found[department]
    weights = {
        t.id: (1.0 if t.owner == department else float(t.influence.get(department, 0.0)))
        for t in journey.touchpoints
    }
    mine = [t for t in journey.touchpoints if weights[t.id] > 0]
    mine.sort(key=lambda t: (-weights[t.id], journey.stage_rank(t.stage), t.id))

    from cxm.metrics.runner import run_catalogue

    def catalogue(metrics: tuple[str, ...], by: tuple[str, ...]) -> pd.DataFrame:
        query = CatalogueQuery(metrics=metrics, by=by, start=start, end=end,
                               min_sample=min_sample)  # fmt: skip
        return run_catalogue(engine, journey, query)

    by_touchpoint = catalogue(CX_METRICS, ("touchpoint",))
    by_department = catalogue(CX_METRICS, ("department",))
    monthly_cx = catalogue(LINK_METRICS, ("department", "month"))

    touchpoints = [
        TouchpointRow(
            id=t.id,
            name=t.name,
            stage=t.stage,
            weight=weights[t.id],
            owner=t.owner,
            readings=_readings(by_touchpoint[by_touchpoint["touchpoint"] == t.id], CX_METRICS),
        )  # fmt: skip
        for t in mine
    ]
    cx = _readings(by_department[by_department["department"] == department], CX_METRICS)
    ex = _enps(session, department, start, end, min_sample)
    cx_rows = monthly_cx[monthly_cx["department"] == department]
    months_ex: list[tuple[str, Reading]] = []
    cursor = start
    while cursor < end:
        following = _add_months(cursor, 1)
        months_ex.append(
            (cursor.strftime("%Y-%m"), _enps(session, department, cursor, following, min_sample))
        )
        cursor = following
    cx_by_month = {
        label: _readings(cx_rows[cx_rows["month"] == label], LINK_METRICS) for label, _ in months_ex
    }
    if cx_metric is None:
        with_ex = [label for label, ex_month in months_ex if ex_month.estimate is not None]
        cx_metric = next(
            (m for m in LINK_METRICS
             if sum(cx_by_month[label][m].estimate is not None for label in with_ex)
             >= MIN_MONTHS),
            LINK_METRICS[0],
        )  # fmt: skip
    monthly = [
        MonthRow(label, cx_by_month[label][cx_metric], ex_month) for label, ex_month in months_ex
    ]
    notes = []
    if not any(weights[t.id] == 1.0 for t in mine):
        notes.append("the department owns no touchpoint: its own CX figures are empty")
    open_cases, breached = _cases(session, department)
    return DepartmentView(
        id=dept.id, name=dept.name, lead=dept.lead, start=start.isoformat(),
        end=end.isoformat(), touchpoints=touchpoints, cx=cx, ex=ex, monthly=monthly,
        link=correlate(monthly, cx_metric), open_cases=open_cases, breached_cases=breached,
        notes=notes,
    )  # fmt: skip


def correlate(monthly: list[MonthRow], cx_metric: str) -> Link:
    """Pearson's r over the months where both readings have a value, with Fisher's interval."""
    pairs = [
        (m.cx.estimate, m.ex.estimate)
        for m in monthly
        if m.cx.estimate is not None and m.ex.estimate is not None
    ]
    n = len(pairs)
    if n < MIN_MONTHS:
        return Link(cx_metric, n, None, None, None, None,
                    f"{n} months have both a customer and an employee figure; at least "
                    f"{MIN_MONTHS} are needed for a correlation")  # fmt: skip
    xs = [p[0] for p in pairs]
    ys = [p[1] for p in pairs]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return Link(cx_metric, n, None, None, None, None,
                    "one of the two measures did not change over the months")  # fmt: skip
    r = sum((x - mx) * (y - my) for x, y in pairs) / math.sqrt(sxx * syy)
    r = max(-1.0, min(1.0, r))
    from scipy import stats

    z, se = math.atanh(min(max(r, -0.999999), 0.999999)), 1 / math.sqrt(n - 3)
    low, high = math.tanh(z - 1.959964 * se), math.tanh(z + 1.959964 * se)
    t = r * math.sqrt((n - 2) / max(1e-12, 1 - r * r))
    p = float(2 * stats.t.sf(abs(t), n - 2))
    return Link(cx_metric, n, round(r, 4), round(low, 4), round(high, 4), p, None)


def department_summaries(
    engine: Engine, journey: JourneyMap, session: Session, *, end: date | None = None,
    months: int = 12, min_sample: int = MIN_SAMPLE,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every department's headline: touchpoints owned and influenced, CSAT and NPS of its
    owned touchpoints, eNPS, open cases."""
    from cxm.metrics.runner import run_catalogue

    end = _month_start(end or _after_last_event(engine))
    start = _add_months(end, -months)
    query = CatalogueQuery(metrics=("csat", "nps"), by=("department",), start=start, end=end,
                           min_sample=min_sample)  # fmt: skip
    cx = run_catalogue(engine, journey, query)
    enps = {
        row.group: row
        for row in survey_metric(
            session, metric="enps", by="department", start=start, end=end, min_n=min_sample
        )  # fmt: skip
    }
    out = []
    for d in journey.departments:
        readings = _readings(cx[cx["department"] == d.id], ("csat", "nps"))
        ex = enps.get(d.id)
        open_cases, breached = _cases(session, d.id)
        out.append({
            "id": d.id, "name": d.name, "lead": d.lead,
            "owns": sum(1 for t in journey.touchpoints if t.owner == d.id),
            "influences": sum(1 for t in journey.touchpoints
                              if t.owner != d.id and t.influence.get(d.id, 0) > 0),
            "csat": asdict(readings["csat"]), "nps": asdict(readings["nps"]),
            "enps": asdict(_reading("enps", ex)) if ex else asdict(
                Reading("enps", 0, None, None, None, "no answers")),
            "open_cases": open_cases, "breached_cases": breached,
        })  # fmt: skip
    return out


def _readings(frame: pd.DataFrame, metrics: tuple[str, ...]) -> dict[str, Reading]:
    out = {}
    for metric in metrics:
        rows = frame[frame["metric"] == metric]
        if rows.empty:
            out[metric] = Reading(metric, 0, None, None, None, "no data")
            continue
        row = rows.iloc[0]
        ok = bool(row["reportable"])
        out[metric] = Reading(
            metric, int(row["n"]),
            _num(row["estimate"]) if ok else None,
            _num(row["low"]) if ok else None,
            _num(row["high"]) if ok else None,
            None if ok else str(row["reason"]),
        )  # fmt: skip
    return out


def _enps(session: Session, department: str, start: date, end: date, min_n: int) -> Reading:
    rows = survey_metric(session, metric="enps", by="department", start=start, end=end,
                         min_n=min_n)  # fmt: skip
    for row in rows:
        if row.group == department:
            return _reading("enps", row)
    return Reading("enps", 0, None, None, None, "no employee answers")


def _reading(metric: str, row: Any) -> Reading:
    return Reading(metric, int(row.n), row.estimate, row.low, row.high, row.reason)


def _cases(session: Session, department: str) -> tuple[int, int]:
    """Open cases the department holds, and those of them past a service-level due time."""
    from cxm.cases.models import OPEN_STATUSES
    from cxm.cases.queries import breached_condition
    from cxm.cases.tables import cases
    from cxm.store.metadata import utcnow

    held = (cases.c.department == department) & cases.c.status.in_(OPEN_STATUSES)
    n_open = session.execute(select(func.count()).where(held)).scalar() or 0
    late = breached_condition(utcnow())
    n_late = session.execute(select(func.count()).where(held, late)).scalar() or 0
    return int(n_open), int(n_late)


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _after_last_event(engine: Engine) -> date:
    """The day after the lake's last interaction (today when there is none): identify calls
    only update traits (cxm's own churn bands among them) and do not extend the period."""
    from cxm.analytics import events_table

    ev = events_table()
    last = engine.execute(ev.filter(ev.type != "identify").aggregate(last=ev.t.max()))
    if last.empty or pd.isna(last["last"].iloc[0]):
        return datetime.now(UTC).date()
    moment = datetime.fromtimestamp(int(last["last"].iloc[0]) / 1e6, tz=UTC)
    return (moment + timedelta(days=1)).date()


def _month_start(day: date) -> date:
    """The first day of the month after ``day``'s, unless ``day`` is already a first."""
    if day.day == 1:
        return day
    return _add_months(day.replace(day=1), 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)

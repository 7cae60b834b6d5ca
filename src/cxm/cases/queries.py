"""Reading cases: one case with its activity, the inbox with its filters, a customer's open
cases, and how often customers are asked for what the company already knew.

>>> page = list_cases(session, CaseFilter(department="call-centre"))  # doctest: +SKIP
>>> page.total, page.cases[0].ref                                    # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from cxm.cases.models import OPEN_STATUSES, PRIORITIES, STATUSES, Case, CaseActivity
from cxm.cases.tables import case_activity, cases, data_requests
from cxm.errors import InvalidInput, NotFound
from cxm.identity.tables import profiles
from cxm.metrics.stats import wilson_interval
from cxm.store.metadata import utcnow


class CaseFilter(BaseModel):
    """The inbox's filters; every one is optional."""

    model_config = ConfigDict(extra="forbid")

    status: list[str] = Field(default_factory=lambda: list(OPEN_STATUSES))
    department: str | None = Field(None, max_length=100)
    channel: str | None = Field(None, max_length=32)
    priority: str | None = None
    profile_id: str | None = Field(None, max_length=40)
    served_by: str | None = Field(
        None, max_length=100, description="Only cases this department holds or handled."
    )
    breached: bool = Field(False, description="Only cases past a service-level due time.")
    q: str | None = Field(None, max_length=200, description="Words in the title or the ref.")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)

    def model_post_init(self, context: Any) -> None:
        for status in self.status:
            if status not in STATUSES:
                raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}")
        if self.priority is not None and self.priority not in PRIORITIES:
            raise InvalidInput(f"priority {self.priority!r} is not one of {', '.join(PRIORITIES)}")


@dataclass
class CasePage:
    cases: list[Case]
    total: int
    counts: dict[str, int] = field(default_factory=dict)  # per status, under the other filters


def _columns() -> list[Any]:
    return [*cases.c, profiles.c.display_name]


def _from_row(row: Any) -> Case:
    data = dict(row._mapping)
    name = data.pop("display_name", None)
    data.pop("created_at", None)
    data.pop("updated_at", None)
    return Case(**data, customer_name=name)


def _joined() -> Any:
    return cases.outerjoin(profiles, profiles.c.id == cases.c.profile_id)


def get_case(
    session: Session, ref: str, *, with_activity: bool = True, now: datetime | None = None
) -> Case:
    """The case with reference ``ref`` (or numeric id), with its activity in time order."""
    where = cases.c.ref == ref
    if ref.isdigit():
        where = or_(where, cases.c.id == int(ref))
    row = session.execute(select(*_columns()).select_from(_joined()).where(where)).first()
    if row is None:
        raise NotFound(f"no case {ref!r}; GET /api/cases lists them")
    case = _from_row(row)
    if not with_activity:
        return case
    a = case_activity.c
    activity = [
        CaseActivity(
            id=int(x.id),
            kind=x.kind,
            at=x.at,
            seq=x.seq,
            channel=x.channel,
            touchpoint=x.touchpoint,
            department=x.department,
            event=x.event,
            actor=x.actor,
            detail=orjson.loads(x.detail),
        )
        for x in session.execute(
            select(case_activity).where(a.case_id == case.id).order_by(a.at, a.id)
        )
    ]
    case.activity.extend(activity)
    return case


def served_by(department: str) -> Any:
    """A condition on ``cases``: the department holds the case now or handled it (a contact,
    a transfer, a data request there)."""
    touched = exists().where(
        case_activity.c.case_id == cases.c.id, case_activity.c.department == department
    )
    return or_(cases.c.department == department, touched)


def case_served(session: Session, ref: str, department: str) -> bool:
    """Whether the case ``ref`` is held or was handled by ``department`` (an unknown ref is
    not: the refusal says no more than that)."""
    found = session.execute(
        select(cases.c.id).where(cases.c.ref == ref, served_by(department)).limit(1)
    ).first()
    return found is not None


def list_cases(session: Session, query: CaseFilter, *, now: datetime | None = None) -> CasePage:
    """The inbox: cases matching ``query``, most recently active first."""
    now = now or utcnow()
    conditions = []
    if query.department:
        conditions.append(cases.c.department == query.department)
    if query.served_by:
        conditions.append(served_by(query.served_by))
    if query.channel:
        conditions.append(cases.c.channel == query.channel)
    if query.priority:
        conditions.append(cases.c.priority == query.priority)
    if query.profile_id:
        conditions.append(cases.c.profile_id == query.profile_id)
    if query.q:
        like = f"%{query.q.strip().lower()}%"
        conditions.append(
            or_(func.lower(cases.c.title).like(like), func.lower(cases.c.ref).like(like))
        )
    if query.breached:
        conditions.append(breached_condition(now))
    counts = {
        status: int(n)
        for status, n in session.execute(
            select(cases.c.status, func.count()).where(*conditions).group_by(cases.c.status)
        )
    }
    conditions.append(cases.c.status.in_(query.status))
    total = int(session.execute(select(func.count()).where(*conditions)).scalar() or 0)
    rows = session.execute(
        select(*_columns())
        .select_from(_joined())
        .where(*conditions)
        .order_by(cases.c.last_activity_at.desc(), cases.c.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    return CasePage([_from_row(r) for r in rows], total, counts)


def breached_condition(now: datetime) -> Any:
    """A condition on ``cases``: answered or resolved after its due time, or open past it."""
    open_now = cases.c.status.in_(OPEN_STATUSES)
    late_answer = or_(
        cases.c.first_response_at > cases.c.response_due_at,
        and_(cases.c.first_response_at.is_(None), open_now, cases.c.response_due_at < now),
    )
    late_fix = or_(
        cases.c.resolved_at > cases.c.resolve_due_at,
        and_(open_now, cases.c.resolve_due_at < now),
    )
    return or_(late_answer, late_fix)


def open_cases_of(session: Session, profile_id: str) -> list[Case]:
    """What every channel should see about a customer: their open cases, newest first."""
    page = list_cases(session, CaseFilter(profile_id=profile_id, limit=20))
    return page.cases


@dataclass(frozen=True)
class AskedAgainRow:
    key: str | None
    requests: int  # times customers were asked for data
    repeated: int  # of which asked for something the company already knew
    share: float | None
    low: float | None
    high: float | None
    top_fields: list[tuple[str, int]]


def asked_again_report(
    session: Session,
    *,
    by: str = "touchpoint",
    start: datetime | None = None,
    end: datetime | None = None,
    confidence: float = 0.95,
) -> list[AskedAgainRow]:
    """How often each touchpoint (or department) asks customers for what was already known,
    with a Wilson interval on the share; most repeated first."""
    if by not in ("touchpoint", "department", "channel"):
        raise InvalidInput(f"by must be touchpoint, department or channel, got {by!r}")
    d = data_requests.c
    key = getattr(d, by)
    conditions = []
    if start is not None:
        conditions.append(d.at >= start)
    if end is not None:
        conditions.append(d.at < end)
    tallies: dict[str | None, list[int]] = {}
    fields: dict[str | None, dict[str, int]] = {}
    for group, repeated in session.execute(select(key, d.repeated_fields).where(*conditions)):
        t = tallies.setdefault(group, [0, 0])
        t[0] += 1
        names = orjson.loads(repeated)
        if names:
            t[1] += 1
            seen = fields.setdefault(group, {})
            for name in names:
                seen[name] = seen.get(name, 0) + 1
    out = []
    for group, (n, k) in tallies.items():
        interval = wilson_interval(k, n, confidence)
        low, high = (interval.low, interval.high) if n else (None, None)
        top = sorted(fields.get(group, {}).items(), key=lambda i: (-i[1], i[0]))[:5]
        out.append(AskedAgainRow(group, n, k, k / n if n else None, low, high, top))
    out.sort(key=lambda r: (-r.repeated, -(r.share or 0.0), str(r.key)))
    return out


def case_overview(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """Counts for the inbox's header: per status, open ones per department, breaches."""
    now = now or utcnow()
    statuses = {
        s: int(n)
        for s, n in session.execute(select(cases.c.status, func.count()).group_by(cases.c.status))
    }
    departments = [
        (dept, int(n))
        for dept, n in session.execute(
            select(cases.c.department, func.count())
            .where(cases.c.status.in_(OPEN_STATUSES))
            .group_by(cases.c.department)
            .order_by(func.count().desc())
        )
    ]
    breached = int(
        session.execute(
            select(func.count()).where(cases.c.status.in_(OPEN_STATUSES), breached_condition(now))
        ).scalar()
        or 0
    )
    return {"statuses": statuses, "open_by_department": departments, "open_breached": breached}

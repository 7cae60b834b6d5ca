"""The case builder: reads the event log after the profiles and turns what customers and staff
did into cases, in the background (the worker) and in batch (``cxm cases build``).

Which events count: those named in :data:`cxm.cases.policy.CASE_EVENTS` (``Complaint
Submitted``, ``Ticket Updated``, ``Call Transferred`` …), those whose touchpoint on the
journey map has the role ``contact``, ``data_request``, ``resolution`` or ``reopen``, and
any other event naming someone of the company (``agent``, ``technician``, ``assignee``: an
e-mail answered), which joins a case as its response but never opens one.

Where an event goes:

1. an event that quotes a case reference (``case_ref``, ``ticket_id`` …) joins that case, or
   opens it under that reference;
2. otherwise it joins the customer's case that was active within the window around it
   (``CXM_CASE_WINDOW_DAYS``, not closed); among several, the one about the same text topic,
   then the nearest in time;
3. otherwise a contact opens a new case; a request for data, transfer or resolution that
   belongs to no case is kept only as what it is (a data request still counts as asking
   again when the profile held the data).

Events are read in sequence order but placed by the customer's time, so an export imported
late lands in its place: each touched case is replayed from its activity
(:mod:`cxm.cases.replay`). One batch is one transaction that also moves the mark.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from cxm.cases.models import CaseOpened
from cxm.cases.policy import (
    CASE_EVENTS,
    FACE_TO_FACE,
    REF_PROPERTIES,
    RESPONDER_PROPERTIES,
    CasePolicy,
    priority_of,
    status_of,
)
from cxm.cases.records import insert_case
from cxm.cases.refresh import refresh_cases
from cxm.cases.tables import case_activity, cases, data_requests
from cxm.domain_events import publish
from cxm.identity.tables import identifiers, profiles
from cxm.ingest.queries import event_properties
from cxm.ingest.tables import events
from cxm.ingest.validation import parse_timestamp
from cxm.journeys.map import JourneyMap, Touchpoint
from cxm.journeys.service import current_journey_map
from cxm.profiles.queries import placed_events
from cxm.profiles.tables import profile_changes, profile_events, trait_observations
from cxm.store.marks import read_mark, write_mark
from cxm.store.metadata import utcnow
from cxm.text.tables import text_items

MARK = "cases"
PROFILE_MARK = "cases-profiles"
ROLES = ("contact", "data_request", "resolution", "reopen")
SessionFactory = Callable[[], AbstractContextManager[Session]]
Progress = Callable[[int], None]


@dataclass
class BuildReport:
    events: int = 0  # events read
    placed: int = 0  # events that became case activity or a data request
    opened: int = 0
    data_requests: int = 0
    refreshed: int = 0  # cases whose state was recomputed
    position: int = 0


@dataclass
class _Open:
    """A case as the builder keeps it while placing one batch."""

    id: int
    ref: str
    profile_id: str
    status: str
    opened_at: datetime
    last_at: datetime
    topic_id: int | None


@dataclass
class _Batch:
    policy: CasePolicy
    journey: JourneyMap | None
    now: datetime
    report: BuildReport
    by_profile: dict[str, list[_Open]] = field(default_factory=dict)
    touched: set[int] = field(default_factory=set)


def pending_events(session: Session) -> int:
    mark = read_mark(session, MARK)
    limit = read_mark(session, "profiles")
    query = select(func.count()).where(events.c.seq > mark, events.c.seq <= limit)
    return int(session.execute(query).scalar() or 0)


def do_build_cases(
    *,
    session: SessionFactory,
    policy: CasePolicy,
    now: datetime | None = None,
    batch_events: int = 5000,
    max_batches: int | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Place the events that arrived since the last run into cases; then resolve the cases
    the customer left quiet for the window."""
    report = BuildReport()
    now = now or utcnow()
    batches = 0
    with session() as s:
        _follow_profile_changes(s, now=now, policy=policy, report=report)
    while max_batches is None or batches < max_batches:
        with session() as s:
            mark = read_mark(s, MARK, lock=True)
            rows, last = placed_events(s, after=mark, limit=batch_events)
            if last == mark:
                break
            batches += 1
            work = _Batch(policy, current_journey_map(s), now, report)
            _place_rows(s, rows, work)
            refresh_cases(s, work.touched, policy=policy, now=now)
            report.refreshed += len(work.touched)
            write_mark(s, MARK, last)
            report.events += len(rows)
            report.position = last
        if progress is not None:
            progress(len(rows))
    with session() as s:
        report.refreshed += _resolve_quiet(s, policy=policy, now=now)
    return report


def do_rebuild_cases(*, session: SessionFactory, policy: CasePolicy, **kwargs: Any) -> BuildReport:
    """Forget what the builder derived from the log and place every event again (after a change
    of the journey map or the policy). What people did in cxm stays: cases opened by hand, and
    the notes and changes on any case."""
    now = kwargs.get("now") or utcnow()
    with session() as s:
        read_mark(s, MARK, lock=True)
        s.execute(delete(data_requests))
        s.execute(delete(case_activity).where(case_activity.c.seq.is_not(None)))
        kept = select(case_activity.c.case_id).distinct().scalar_subquery()
        s.execute(delete(cases).where(cases.c.id.not_in(kept)))
        write_mark(s, MARK, 0)
        write_mark(s, PROFILE_MARK, 0)
        remaining = {int(i) for (i,) in s.execute(select(cases.c.id))}
        refresh_cases(s, remaining, policy=policy, now=now)
    return do_build_cases(session=session, policy=policy, **kwargs)


def _place_rows(s: Session, rows: Sequence[Any], work: _Batch) -> None:
    relevant = []
    for r in rows:
        props = event_properties(r.payload)
        touchpoint = (
            work.journey.match(r.type, r.event, r.channel) if work.journey is not None else None
        )
        kind = _kind(r.type, r.event, touchpoint)
        if kind is None and _responder(props):
            kind = "response"  # the company answering (an e-mail reply): joins, never opens
        if kind is None:
            continue
        relevant.append((r, props, touchpoint, kind))
    topics = _topics(s, [r.seq for r, _, _, kind in relevant if kind == "contact"])
    # Each customer's events in their own time order: a contact opens the case the request
    # for data a minute later joins, whatever order the sources sent them in.
    relevant.sort(key=lambda item: (item[0].profile_id, item[0].timestamp, item[0].seq))
    for r, props, touchpoint, kind in relevant:
        _place(s, r, props, touchpoint, kind, topics.get(int(r.seq)), work)


def _responder(props: dict[str, Any]) -> bool:
    return any(isinstance(props.get(k), str) and props[k].strip() for k in RESPONDER_PROPERTIES)


def _kind(type_: str, name: str | None, touchpoint: Touchpoint | None) -> str | None:
    if type_ == "track" and name in CASE_EVENTS:
        return CASE_EVENTS[name]
    if touchpoint is not None and touchpoint.role in ROLES:
        return touchpoint.role
    return None


def _place(
    s: Session,
    r: Any,
    props: dict[str, Any],
    touchpoint: Touchpoint | None,
    kind: str,
    topic_id: int | None,
    work: _Batch,
) -> None:
    profile_id = str(r.profile_id)
    at: datetime = r.timestamp
    department = None if kind == "response" else _department(kind, props, touchpoint, work.journey)
    ref = _ref(props)
    case = _case_by_ref(s, ref, work) if ref else _candidate(s, profile_id, at, topic_id, work)
    if case is None and (kind in ("contact", "status") or (ref and kind != "response")):
        case = _open_case(s, r, props, touchpoint, kind, ref, topic_id, work)
    detail = _detail(kind, r.event, props, r.channel)
    if kind == "data_request":
        fields = detail["fields"]
        # What the company knew is what the case's customer's profile held (a call that quotes
        # the case may come from a number not linked to them yet).
        holder = case.profile_id if case is not None else profile_id
        known = _known_fields(s, holder, at, fields, work.policy)
        detail["known"] = known
        s.execute(
            insert(data_requests).values(
                seq=int(r.seq),
                profile_id=profile_id,
                case_id=case.id if case else None,
                at=at,
                channel=r.channel,
                touchpoint=touchpoint.id if touchpoint else None,
                department=department,
                fields=orjson.dumps(fields).decode(),
                known_fields=orjson.dumps(known).decode(),
                repeated_fields=orjson.dumps([f for f in fields if f in known]).decode(),
            )
        )
        work.report.data_requests += 1
    work.report.placed += 1
    if case is None:
        return
    s.execute(
        insert(case_activity).values(
            case_id=case.id,
            kind=kind,
            at=at,
            seq=int(r.seq),
            channel=r.channel,
            touchpoint=touchpoint.id if touchpoint else None,
            department=department,
            event=r.event,
            actor=None,
            detail=orjson.dumps(detail).decode(),
        )
    )
    work.touched.add(case.id)
    case.opened_at = min(case.opened_at, at)
    case.last_at = max(case.last_at, at)
    if kind == "resolution" or (kind == "status" and detail.get("status") in ("resolved",)):
        case.status = "resolved"
    elif kind == "status" and detail.get("status") == "closed":
        case.status = "closed"
    elif kind in ("contact", "reopen"):
        case.status = "open"


def _detail(kind: str, event: str | None, props: dict[str, Any], channel: str) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    for key in RESPONDER_PROPERTIES:
        if isinstance(props.get(key), str) and props[key].strip():
            detail[key] = props[key].strip()[:200]
    if detail or channel in FACE_TO_FACE or kind == "resolution":
        detail["response"] = True
    if kind == "data_request":
        detail["fields"] = _fields(event, props)
    if kind == "status":
        status = "closed" if event == "Case Closed" else status_of(props.get("status"))
        if status:
            detail["status"] = status
            if status != "open":
                detail["response"] = True
        priority = priority_of(props.get("priority"))
        if priority:
            detail["priority"] = priority
        solved = _declared_time(props.get("solved_at"))
        if solved is not None and status in ("resolved", "closed"):
            detail["resolved_at"] = solved.isoformat()
    if kind == "transfer":
        for key in ("from_department", "to_department"):
            if isinstance(props.get(key), str):
                detail[key] = props[key][:100]
    return detail


def _fields(event: str | None, props: dict[str, Any]) -> list[str]:
    """The fields a request asked for: a ``fields`` list, or the verification method."""
    raw = props.get("fields")
    if isinstance(raw, str):
        raw = [part for part in raw.replace(";", ",").split(",")]
    if not isinstance(raw, list) and event == "Identity Verified":
        raw = [props.get("method")]
    if not isinstance(raw, list):
        return []
    out: list[str] = []
    for item in raw:
        if isinstance(item, str) and item.strip():
            name = item.strip().lower().replace(" ", "_")[:60]
            if name not in out:
                out.append(name)
    return out[:30]


def _department(
    kind: str, props: dict[str, Any], touchpoint: Touchpoint | None, journey: JourneyMap | None
) -> str | None:
    """Who holds the case after this event: a transfer's target, a contact's touchpoint owner
    (as the behavioural metrics count handoffs), else a department the event names."""
    names = ("to_department",) if kind == "transfer" else ("department", "group")
    if kind != "transfer" and touchpoint is not None:
        return touchpoint.owner
    for key in names:
        value = props.get(key)
        if isinstance(value, str) and value.strip():
            known = journey.department_named(value) if journey is not None else None
            return known.id if known else value.strip()[:100]
    return touchpoint.owner if touchpoint is not None else None


def _ref(props: dict[str, Any]) -> str | None:
    for key in REF_PROPERTIES:
        value = props.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()[:120]
    return None


def _case_by_ref(s: Session, ref: str | None, work: _Batch) -> _Open | None:
    for held in work.by_profile.values():
        for case in held:
            if case.ref == ref:
                return case
    row = s.execute(select(*_OPEN_COLUMNS).where(cases.c.ref == ref)).first()
    return _open_from(row) if row else None


_OPEN_COLUMNS = (
    cases.c.id,
    cases.c.ref,
    cases.c.profile_id,
    cases.c.status,
    cases.c.opened_at,
    cases.c.last_activity_at,
    cases.c.topic_id,
)


def _open_from(row: Any) -> _Open:
    return _Open(
        int(row.id),
        row.ref,
        row.profile_id,
        row.status,
        row.opened_at,
        row.last_activity_at,
        row.topic_id,
    )


def _candidate(
    s: Session, profile_id: str, at: datetime, topic_id: int | None, work: _Batch
) -> _Open | None:
    if profile_id not in work.by_profile:
        held = (cases.c.profile_id == profile_id, cases.c.status != "closed")
        rows = s.execute(select(*_OPEN_COLUMNS).where(*held)).all()
        work.by_profile[profile_id] = [_open_from(row) for row in rows]
    window = timedelta(days=work.policy.window_days)
    near = [
        c
        for c in work.by_profile[profile_id]
        if c.status != "closed" and c.opened_at - window <= at <= c.last_at + window
    ]
    if not near:
        return None

    def distance(c: _Open) -> timedelta:
        if c.opened_at <= at <= c.last_at:
            return timedelta(0)
        return min(abs(at - c.opened_at), abs(at - c.last_at))

    same_topic = [c for c in near if topic_id is not None and c.topic_id == topic_id]
    return min(same_topic or near, key=distance)


def _open_case(
    s: Session,
    r: Any,
    props: dict[str, Any],
    touchpoint: Touchpoint | None,
    kind: str,
    ref: str | None,
    topic_id: int | None,
    work: _Batch,
) -> _Open:
    now = utcnow()
    at: datetime = r.timestamp
    opened = _declared_time(props.get("created_at")) or at
    opened = min(opened, at)
    priority = priority_of(props.get("priority")) or "normal"
    case_id, ref = insert_case(
        s,
        policy=work.policy,
        ref=ref,
        profile_id=str(r.profile_id),
        title=_title(r.event, props, touchpoint),
        priority=priority,
        origin="import" if r.event and r.event.startswith("Ticket ") else "events",
        opened_at=opened,
        last_activity_at=at,
        now=now,
        channel=r.channel,
        touchpoint=touchpoint.id if touchpoint else None,
        topic_id=topic_id,
    )
    case = _Open(int(case_id), ref, str(r.profile_id), "open", opened, at, topic_id)
    work.by_profile.setdefault(str(r.profile_id), []).append(case)
    work.report.opened += 1
    publish(s, CaseOpened(case_id=int(case_id), ref=ref, profile_id=str(r.profile_id),
                          origin="events"))  # fmt: skip
    return case


def _declared_time(value: Any) -> datetime | None:
    """A time a source system states (a ticket's creation), or None when it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _title(event: str | None, props: dict[str, Any], touchpoint: Touchpoint | None) -> str:
    for key in ("subject", "title", "text", "description"):
        value = props.get(key)
        if isinstance(value, str) and value.strip():
            line = " ".join(value.split())
            return line if len(line) <= 120 else line[:119].rstrip() + "…"
    if touchpoint is not None:
        return touchpoint.name
    return event or "Case"


def _topics(s: Session, seqs: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in range(0, len(seqs), 500):
        chunk = seqs[i : i + 500]
        rows = s.execute(
            select(text_items.c.ref, text_items.c.topic_id).where(
                text_items.c.source == "event",
                text_items.c.ref.in_(chunk),
                text_items.c.topic_id.is_not(None),
            )
        )
        for ref, topic in rows:
            out.setdefault(int(ref), int(topic))
    return out


def _known_fields(
    s: Session, profile_id: str, at: datetime, fields: list[str], policy: CasePolicy
) -> list[str]:
    """The fields asked for that the profile held before ``at``."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for name in fields:
        for place in policy.known_fields.get(name, ()):
            wanted[place].append(name)
    if not wanted:
        return []
    kinds = [p.split(":", 1)[1] for p in wanted if p.startswith("identifier:")]
    keys = [p.split(":", 1)[1] for p in wanted if p.startswith("trait:")]
    held: set[str] = set()
    if "user_id" in kinds:
        # Known when any of the customer's events before the ask carried their id: the
        # identifier's first_seen is when the projector first met it, which for a late import
        # can be later than events it places afterwards.
        identified = s.execute(
            select(profile_events.c.seq)
            .join(events, events.c.seq == profile_events.c.seq)
            .where(
                profile_events.c.profile_id == profile_id,
                profile_events.c.at < at,
                events.c.user_id.is_not(None),
            )
            .limit(1)
        ).first()
        if identified is not None:
            held.add("identifier:user_id")
    others = [k for k in kinds if k != "user_id"]
    if others:
        rows = s.execute(
            select(identifiers.c.kind).where(
                identifiers.c.profile_id == profile_id,
                identifiers.c.kind.in_(others),
                identifiers.c.first_seen < at,
            )
        )
        held.update(f"identifier:{k}" for (k,) in rows)
    if keys:
        rows = s.execute(
            select(trait_observations.c.key)
            .where(
                trait_observations.c.profile_id == profile_id,
                trait_observations.c.key.in_(keys),
                trait_observations.c.observed_at < at,
            )
            .distinct()
        )
        held.update(f"trait:{k}" for (k,) in rows)
    known = {name for place in held for name in wanted[place]}
    return [f for f in fields if f in known]


def _follow_profile_changes(
    s: Session, *, now: datetime, policy: CasePolicy, report: BuildReport
) -> None:
    """Cases follow their customer through merges and unmerges: a case belongs to the profile
    that holds its first event now (or, with no events, to the survivor of its profile)."""
    mark = read_mark(s, PROFILE_MARK, lock=True)
    rows = s.execute(
        select(profile_changes.c.id, profile_changes.c.profile_id)
        .where(profile_changes.c.id > mark)
        .order_by(profile_changes.c.id)
    ).all()
    if not rows:
        return
    changed = {r.profile_id for r in rows}
    query = select(cases.c.id, cases.c.profile_id)
    if "*" not in changed:  # a rebuild moved everyone
        query = query.where(cases.c.profile_id.in_(sorted(changed)))
    for case_id, current in s.execute(query).all():
        first = s.execute(
            select(func.coalesce(profiles.c.merged_into, profile_events.c.profile_id))
            .select_from(case_activity)
            .join(profile_events, profile_events.c.seq == case_activity.c.seq)
            .join(profiles, profiles.c.id == profile_events.c.profile_id)
            .where(case_activity.c.case_id == case_id)
            .order_by(case_activity.c.at, case_activity.c.id)
            .limit(1)
        ).scalar()
        if first is None:
            first = s.execute(
                select(func.coalesce(profiles.c.merged_into, profiles.c.id)).where(
                    profiles.c.id == current
                )
            ).scalar()
        if first and first != current:
            s.execute(update(cases).where(cases.c.id == case_id).values(profile_id=first))
            s.execute(
                update(data_requests)
                .where(data_requests.c.case_id == case_id)
                .values(profile_id=first)
            )
            report.refreshed += 1
    write_mark(s, PROFILE_MARK, int(rows[-1].id))


def _resolve_quiet(s: Session, *, policy: CasePolicy, now: datetime, limit: int = 5000) -> int:
    """Replay open cases the customer left quiet for the window (they resolve as ``quiet``)."""
    cutoff = now - timedelta(days=policy.window_days)
    ids = [
        int(i)
        for (i,) in s.execute(
            select(cases.c.id)
            .where(
                cases.c.status == "open",
                cases.c.first_response_at.is_not(None),
                cases.c.last_activity_at < cutoff,
                # Replayed once a window at most: a case a person keeps open stays open, and
                # is not rewritten on every run.
                cases.c.updated_at < cutoff,
            )
            .limit(limit)
        )
    ]
    refresh_cases(s, set(ids), policy=policy, now=now)
    return len(ids)

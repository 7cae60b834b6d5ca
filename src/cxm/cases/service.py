"""What people do with cases in cxm: open one, change its status, priority, department or
title, add a note. Each action is a row of the case's activity (so the replay sees it in its
place), an audit record and a domain event.

>>> with ws.session() as s:                                                # doctest: +SKIP
...     case = do_open_case(session=s, actor="user:ania", policy=policy,
...                         profile_id="p-123", title="Invoice charged twice")
...     do_update_case(session=s, actor="user:ania", policy=policy, ref=case.ref,
...                    status="resolved", note="Refund sent")
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.cases.models import Case, CaseChanged, CaseOpened
from cxm.cases.policy import CasePolicy, check_priority, check_status
from cxm.cases.queries import get_case
from cxm.cases.records import insert_case
from cxm.cases.refresh import refresh_case
from cxm.cases.tables import case_activity, cases
from cxm.domain_events import publish
from cxm.errors import Conflict, InvalidInput, NotFound
from cxm.identity.tables import profiles
from cxm.store.metadata import utcnow

MAX_TITLE = 300
MAX_NOTE = 10_000


def do_open_case(
    *,
    session: Session,
    actor: str,
    policy: CasePolicy,
    profile_id: str,
    title: str,
    priority: str = "normal",
    department: str | None = None,
    channel: str | None = None,
    ref: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Open a case for a customer by hand (an agent, an integration); ``ref`` must be new."""
    now = now or utcnow()
    title = _text(title, "title", MAX_TITLE, required=True)
    check_priority(priority)
    root = session.execute(
        select(func.coalesce(profiles.c.merged_into, profiles.c.id)).where(
            profiles.c.id == profile_id
        )
    ).scalar()
    if root is None:
        raise NotFound(f"no customer profile {profile_id!r}; GET /api/profiles finds one")
    if ref is not None:
        ref = _text(ref, "ref", 120, required=True)
        if session.execute(select(cases.c.id).where(cases.c.ref == ref)).first():
            raise Conflict(f"a case {ref!r} exists already; update it or choose another ref")
    try:
        with session.begin_nested():
            case_id, ref = insert_case(
                session,
                policy=policy,
                ref=ref,
                profile_id=root,
                title=title,
                priority=priority,
                origin="api",
                opened_at=now,
                last_activity_at=now,
                now=now,
                department=department,
                channel=channel,
            )
    except IntegrityError as exc:
        raise Conflict(f"a case {ref!r} was opened at the same time; send it again") from exc
    detail: dict[str, Any] = {"status": "open", "title": title, "priority": priority}
    if department:
        detail["department"] = department
    _activity(session, case_id, "update", now, actor, detail, channel=channel)
    if note:
        # A note is someone of the company working on it: the first response.
        _activity(session, case_id, "note", now, actor,
                  {"note": _text(note, "note", MAX_NOTE), "response": True})  # fmt: skip
    refresh_case(session, case_id, policy=policy, now=now)
    record_action(session, actor=actor, action="case.open", subject=ref,
                  details={"profile_id": root, "title": title, "priority": priority})  # fmt: skip
    publish(session, CaseOpened(case_id=case_id, ref=ref, profile_id=root, origin="api"))
    return get_case(session, ref, now=now)


def do_update_case(
    *,
    session: Session,
    actor: str,
    policy: CasePolicy,
    ref: str,
    status: str | None = None,
    priority: str | None = None,
    department: str | None = None,
    title: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Change what a person may change about a case; each change is kept in its activity."""
    now = now or utcnow()
    case = get_case(session, ref, with_activity=False)
    changes: dict[str, Any] = {}
    if status is not None and check_status(status) != case.status:
        changes["status"] = status
    if priority is not None and check_priority(priority) != case.priority:
        changes["priority"] = priority
    if department is not None:
        department = _text(department, "department", 100, required=True)
        if department != case.department:
            changes["department"] = department
    if title is not None:
        title = _text(title, "title", MAX_TITLE, required=True)
        if title != case.title:
            changes["title"] = title
    if not changes and not note:
        return get_case(session, case.ref, now=now)
    if changes:
        # A person acting on the case is the company's response to it.
        _activity(session, case.id, "status" if "status" in changes else "update", now, actor,
                  {**changes, "response": True})  # fmt: skip
    if note:
        _activity(session, case.id, "note", now, actor,
                  {"note": _text(note, "note", MAX_NOTE), "response": True})  # fmt: skip
        changes["note"] = True
    refresh_case(session, case.id, policy=policy, now=now)
    record_action(session, actor=actor, action="case.update", subject=case.ref, details=changes)
    publish(session, CaseChanged(case_id=case.id, ref=case.ref, changes=changes))
    return get_case(session, case.ref, now=now)


def _activity(
    session: Session,
    case_id: int,
    kind: str,
    at: datetime,
    actor: str,
    detail: dict[str, Any],
    *,
    channel: str | None = None,
) -> None:
    session.execute(
        insert(case_activity).values(
            case_id=case_id,
            kind=kind,
            at=at,
            seq=None,
            channel=channel,
            touchpoint=None,
            department=detail.get("department"),
            event=None,
            actor=actor,
            detail=orjson.dumps(detail).decode(),
        )
    )


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text, got {type(value).__name__}")
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{name} must not be empty")
    if len(text) > limit:
        raise InvalidInput(f"{name} is {len(text)} characters long; at most {limit} are kept")
    return text

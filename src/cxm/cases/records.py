"""Writing a new case row: the one place that knows every column a case starts with."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from cxm.cases.policy import CasePolicy
from cxm.cases.tables import cases


def insert_case(
    session: Session,
    *,
    policy: CasePolicy,
    ref: str | None,
    profile_id: str,
    title: str,
    priority: str,
    origin: str,
    opened_at: datetime,
    last_activity_at: datetime,
    now: datetime,
    department: str | None = None,
    channel: str | None = None,
    touchpoint: str | None = None,
    topic_id: int | None = None,
) -> tuple[int, str]:
    """Insert an open case (counts at zero, due times from the policy) and return its id and
    reference: ``ref``, or cxm's own ``C-000042`` when none was given."""
    response_due, resolve_due = policy.due(opened_at, priority)
    case_id = int(
        session.execute(
            insert(cases)
            .values(
                ref=ref or f"pending-{uuid4().hex}",
                profile_id=profile_id,
                title=title,
                status="open",
                priority=priority,
                department=department,
                channel=channel,
                touchpoint=touchpoint,
                topic_id=topic_id,
                origin=origin,
                opened_at=opened_at,
                last_activity_at=last_activity_at,
                response_due_at=response_due,
                resolve_due_at=resolve_due,
                contacts=0,
                channels=0,
                handoffs=0,
                asked_again=0,
                reopened=0,
                created_at=now,
                updated_at=now,
            )
            .returning(cases.c.id)
        ).scalar_one()
    )
    if ref is None:
        ref = f"C-{case_id:06d}"
        session.execute(update(cases).where(cases.c.id == case_id).values(ref=ref))
    return case_id, ref

"""Recompute stored cases from their activity (after new events, an action, or time passing)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cxm.cases.policy import CasePolicy
from cxm.cases.replay import Step, replay_case
from cxm.cases.tables import case_activity, cases, data_requests


def refresh_cases(
    s: Session, case_ids: Iterable[int], *, policy: CasePolicy, now: datetime
) -> None:
    """Replay each case's activity and store its state, counts and service-level due times."""
    for case_id in sorted(case_ids):
        refresh_case(s, case_id, policy=policy, now=now)


def refresh_case(s: Session, case_id: int, *, policy: CasePolicy, now: datetime) -> None:
    row = s.execute(
        select(cases.c.opened_at, cases.c.priority, cases.c.title).where(cases.c.id == case_id)
    ).first()
    if row is None:
        return
    a = case_activity.c
    steps = [
        Step(int(x.id), x.kind, x.at, x.channel, x.department, orjson.loads(x.detail), x.touchpoint)
        for x in s.execute(
            select(a.id, a.kind, a.at, a.channel, a.department, a.detail, a.touchpoint).where(
                a.case_id == case_id
            )
        )
    ]
    state = replay_case(steps, opened_at=row.opened_at, now=now, window_days=policy.window_days)
    priority = state.priority or row.priority
    assert state.opened_at is not None and state.last_activity_at is not None
    response_due, resolve_due = policy.due(state.opened_at, priority)
    s.execute(
        update(cases)
        .where(cases.c.id == case_id)
        .values(
            status=state.status,
            priority=priority,
            title=state.title or row.title,
            department=state.department,
            opened_at=state.opened_at,
            last_activity_at=state.last_activity_at,
            first_response_at=state.first_response_at,
            resolved_at=state.resolved_at,
            response_due_at=response_due,
            resolve_due_at=resolve_due,
            contacts=state.contacts,
            channels=state.channels,
            handoffs=state.handoffs,
            asked_again=state.asked_again,
            reopened=state.reopened,
            updated_at=now,
        )
    )
    if state.repeated:
        seq_of = {
            int(i): int(seq)
            for i, seq in s.execute(
                select(a.id, a.seq).where(a.case_id == case_id, a.kind == "data_request")
            )
            if seq is not None
        }
        for activity_id, repeated in state.repeated.items():
            if activity_id in seq_of:
                s.execute(
                    update(data_requests)
                    .where(data_requests.c.seq == seq_of[activity_id])
                    .values(repeated_fields=orjson.dumps(repeated).decode())
                )

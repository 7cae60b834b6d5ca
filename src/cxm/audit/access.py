"""Every look at one customer's personal data by a person is logged: who, when, what, why.

``log_access`` writes an audit entry ``customer.viewed`` (subject: the profile id, never the
reference typed, which may be an e-mail) in a transaction of its own, after the reading, so a
read never becomes a read-then-write on SQLite. Why: the API's ``X-Purpose`` header, or "not
given". Aggregates (metrics, journeys) are not logged: they show no one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from cxm.audit.service import record_action
from cxm.store.engine import write_intent

PURPOSE_HEADER = "x-purpose"
MAX_PURPOSE = 200


def log_access(
    session: Callable[[], AbstractContextManager[Session]],
    *,
    actor: str,
    profile_id: str,
    what: str,
    purpose: str | None,
) -> None:
    why = (purpose or "").strip()[:MAX_PURPOSE] or "not given"
    with write_intent(), session() as s:
        record_action(s, actor=actor, action="customer.viewed", subject=profile_id,
                      details={"what": what, "purpose": why})  # fmt: skip

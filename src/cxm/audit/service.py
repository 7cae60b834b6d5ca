"""Recording and reading audit entries. Every ``do_*`` action writes one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from cxm.audit.chain import content_digest
from cxm.audit.tables import audit_log
from cxm.store.bulk import insert_rows
from cxm.store.metadata import utcnow


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]


def record_action(
    db: Session | Connection,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one entry in the caller's transaction, so it commits or rolls back with the change."""
    record_actions(db, [(actor, action, subject, details or {})])


def record_actions(
    db: Session | Connection, entries: Sequence[tuple[str, str, str | None, dict[str, Any]]]
) -> None:
    """Add many entries at once (the projector records merges in bulk)."""
    if not entries:
        return
    conn = db.connection() if isinstance(db, Session) else db
    now = utcnow()
    rows = []
    for actor, action, subject, details in entries:
        text = orjson.dumps(details, default=str).decode()
        rows.append({"at": now, "actor": actor, "action": action, "subject": subject,
                     "details": text, "digest": content_digest(subject, text)})  # fmt: skip
    insert_rows(conn, audit_log, rows)


def list_actions(
    session: Session,
    *,
    limit: int = 100,
    action: str | None = None,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """Newest first; ``action`` filters by name or prefix (``"source."``)."""
    stmt = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if action:
        if action.endswith("."):
            stmt = stmt.where(audit_log.c.action.startswith(action, autoescape=True))
        else:
            stmt = stmt.where(audit_log.c.action == action)
    if before_id is not None:
        stmt = stmt.where(audit_log.c.id < before_id)
    return [
        AuditEntry(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            details=orjson.loads(r.details),
        )
        for r in session.execute(stmt)
    ]

"""The audit log's hash chain: tamper-evident without slowing down the writers.

Writers insert entries as before, each with the digest of its subject and details. A sealer
(the worker every few seconds, and ``cxm audit verify`` before it checks) gives every unsealed
entry, in id order, the next position in the chain (``seal``), the previous entry's hash and
its own: ``sha256(prev_hash | seal | id | at | actor | action | digest)``. Sealing waits a few
seconds after an entry was written, so a transaction that commits late still finds its place;
one that commits later still is sealed at the end of the chain, never lost.

``verify_chain`` walks the chain: a changed entry no longer matches its hash (or its digest),
a deleted one leaves a gap in the positions, and a changed hash breaks the next entry's link.
Erasure may **redact** an entry's subject and details (they may name the person): the digest
and the hash stay, the entry says why, and verification checks that an erasure recorded in
the log names that entry. The head hash (``cxm audit verify`` prints it) can be written down
elsewhere: a log rewritten from the start would not reproduce it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from cxm.audit.tables import audit_log
from cxm.store.marks import read_mark
from cxm.store.metadata import utcnow

GENESIS = "0" * 64
# The actions whose entries name the entries they redacted (details.redacted_entries).
ERASING_ACTIONS = ("privacy.erasure", "privacy.retention")
SEAL_MARK = "audit-seal"
SETTLE = timedelta(seconds=3)


def content_digest(subject: str | None, details: str) -> str:
    """The digest of what redaction may replace: the subject and the details (as stored)."""
    return hashlib.sha256(orjson.dumps([subject, details])).hexdigest()


def link_hash(prev_hash: str, seal: int, row: Any) -> str:
    at = row.at.isoformat() if isinstance(row.at, datetime) else str(row.at)
    material = orjson.dumps([prev_hash, seal, int(row.id), at, row.actor, row.action, row.digest])
    return hashlib.sha256(material).hexdigest()


def _conn(db: Session | Connection) -> Connection:
    return db.connection() if isinstance(db, Session) else db


def seal_chain(db: Session | Connection, *, now: datetime | None = None,
               settle: timedelta = SETTLE) -> int:  # fmt: skip
    """Seal the entries written more than ``settle`` ago; returns how many were sealed."""
    conn = _conn(db)
    read_mark(conn, SEAL_MARK, lock=True)  # one sealer at a time
    head = conn.execute(
        select(audit_log.c.seal, audit_log.c.hash).order_by(audit_log.c.seal.desc()).limit(1)
        .where(audit_log.c.seal.is_not(None))
    ).first()  # fmt: skip
    seal, prev = (int(head.seal), str(head.hash)) if head else (0, GENESIS)
    cutoff = (now or utcnow()) - settle
    rows = conn.execute(
        select(audit_log.c.id, audit_log.c.at, audit_log.c.actor, audit_log.c.action,
               audit_log.c.digest)
        .where(audit_log.c.seal.is_(None), audit_log.c.at <= cutoff)
        .order_by(audit_log.c.id)
    ).all()  # fmt: skip
    for row in rows:
        seal += 1
        current = link_hash(prev, seal, row)
        conn.execute(
            update(audit_log)
            .where(audit_log.c.id == row.id)
            .values(seal=seal, prev_hash=prev, hash=current)
        )
        prev = current
    return len(rows)


def redact_entries(db: Session | Connection, ids: list[int], *, reason: str) -> int:
    """Replace the subject and details of entries ``ids`` (an erasure's); the chain holds."""
    if not ids:
        return 0
    conn = _conn(db)
    done = 0
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        result = conn.execute(
            update(audit_log)
            .where(audit_log.c.id.in_(part))
            .values(subject=None, details=orjson.dumps({"redacted": reason}).decode(),
                    redacted=reason[:200])
        )  # fmt: skip
        done += int(result.rowcount or 0)
    return done


@dataclass
class ChainReport:
    sealed: int
    unsealed: int
    head_seal: int
    head_hash: str
    redacted: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "sealed": self.sealed, "unsealed": self.unsealed,
                "head_seal": self.head_seal, "head_hash": self.head_hash,
                "redacted": self.redacted, "problems": self.problems}  # fmt: skip


def verify_chain(db: Session | Connection, *, max_problems: int = 50) -> ChainReport:
    """Check every sealed entry's link, hash and (unless redacted) digest, in chain order."""
    conn = _conn(db)
    problems: list[str] = []
    erased: set[int] = set()
    for (details,) in conn.execute(
        select(audit_log.c.details).where(audit_log.c.action.in_(ERASING_ACTIONS))
    ):
        try:
            erased.update(int(i) for i in orjson.loads(details).get("redacted_entries", []))
        except (orjson.JSONDecodeError, TypeError, ValueError):
            problems.append("an erasure entry's details cannot be read")
    prev, expected, sealed, redacted = GENESIS, 1, 0, 0
    rows = conn.execute(
        select(audit_log).where(audit_log.c.seal.is_not(None)).order_by(audit_log.c.seal)
    )
    for row in rows:
        sealed += 1
        seal = int(row.seal)
        if seal != expected:
            problems.append(f"entries at positions {expected}–{seal - 1} of the chain are gone")
        if row.prev_hash != prev:
            problems.append(f"entry {row.id} (position {seal}) does not follow the one before it")
        if row.hash != link_hash(str(row.prev_hash), seal, row):
            problems.append(f"entry {row.id} (position {seal}) was changed after it was sealed")
        if row.redacted:
            redacted += 1
            if int(row.id) not in erased:
                problems.append(f"entry {row.id} was redacted, but no erasure names it")
        elif row.digest != content_digest(row.subject, row.details):
            problems.append(f"entry {row.id}'s subject or details were changed")
        prev, expected = str(row.hash), seal + 1
        if len(problems) >= max_problems:
            problems.append("… and more; stopped counting")
            break
    unsealed = int(
        conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.seal.is_(None))
        ).scalar()
        or 0
    )
    return ChainReport(sealed=sealed, unsealed=unsealed, head_seal=expected - 1, head_hash=prev,
                       redacted=redacted, problems=problems)  # fmt: skip

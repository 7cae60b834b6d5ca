"""Ingest refuses events of erased people until a new lawful basis is recorded.

Each event's identifiers (user id, e-mail, phone, device id, external ids, as the identity
rules read them) are hashed with the workspace's secret and looked up among the tombstones an
erasure left. A match rejects that event with a message saying so; the rest of its batch is
kept. ``do_allow`` removes an identifier's tombstone when the person comes back under a new
lawful basis (a new contract, fresh consent), and records why.

The tombstones are read once per ``TTL_S`` per process (an empty table costs one query), so
the hot path of ingestion pays a dictionary lookup per identifier.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.errors import InvalidInput, NotFound
from cxm.identity.normalize import normalize_email, normalize_phone
from cxm.identity.rules import event_identifiers, event_traits
from cxm.privacy.erasure import identifier_digest
from cxm.privacy.tables import erasure_tombstones
from cxm.store.tables import workspace_meta

TTL_S = 2.0


class Tombstones:
    """The workspace's tombstones, cached for ``TTL_S`` seconds."""

    def __init__(self, engine: Engine, *, region: str = "PL") -> None:
        self._engine = engine
        self._secret: bytes | None = None
        self._region = region
        self._lock = threading.Lock()
        self._digests: dict[str, datetime] = {}
        self._read_at = float("-inf")

    def _current(self) -> dict[str, datetime]:
        with self._lock:
            if time.monotonic() - self._read_at > TTL_S:
                with self._engine.connect() as conn:
                    rows = conn.execute(
                        select(erasure_tombstones.c.digest, erasure_tombstones.c.erased_at)
                    ).all()
                    if rows and self._secret is None:
                        key = conn.execute(
                            select(workspace_meta.c.value).where(
                                workspace_meta.c.key == "secret_key"
                            )
                        ).scalar()
                        self._secret = bytes.fromhex(str(key))
                self._digests = {str(d): at for d, at in rows}
                self._read_at = time.monotonic()
            return self._digests

    def forget(self) -> None:
        """Read the table again on the next check (after an erasure in this process)."""
        with self._lock:
            self._read_at = float("-inf")

    def erased_at(self, row: dict[str, Any]) -> datetime | None:
        """When the person behind a checked event row was erased, or None."""
        digests = self._current()
        if not digests:
            return None
        payload = row.get("payload")
        data = orjson.loads(payload) if isinstance(payload, str | bytes) else payload or {}
        found = event_identifiers(data, user_id=row.get("user_id"),
                                  anonymous_id=row.get("anonymous_id"),
                                  traits=event_traits(data), region=self._region)  # fmt: skip
        assert self._secret is not None  # read with the first tombstone
        for kind, value in found:
            at = digests.get(identifier_digest(self._secret, kind, value))
            if at is not None:
                return at
        return None


def refusal(at: datetime) -> str:
    return (
        f"this person's data was erased on {at:%Y-%m-%d} at their request; their events are "
        "not taken again until a new lawful basis is recorded (`cxm privacy allow`)"
    )


def _normalised(kind: str, value: str, region: str) -> str:
    if kind == "email":
        email = normalize_email(value)
        if email is None:
            raise InvalidInput(f"{value!r} is not an e-mail address")
        return email
    if kind == "phone":
        phone = normalize_phone(value, region=region)
        if phone is None:
            raise InvalidInput(f"{value!r} is not a phone number")
        return phone
    return value.strip()


def do_allow(
    session: Session,
    *,
    secret: bytes,
    kind: str,
    value: str,
    basis: str,
    actor: str,
    region: str = "PL",
) -> None:
    """Take events with this identifier again: the person is back under ``basis``."""
    if not basis.strip():
        raise InvalidInput("say which new lawful basis applies (e.g. 'new contract 2027-01-03')")
    digest = identifier_digest(secret, kind, _normalised(kind, value, region))
    removed = session.execute(
        delete(erasure_tombstones).where(erasure_tombstones.c.digest == digest)
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no erased person held this {kind}; its events are taken already")
    record_action(session, actor=actor, action="privacy.allow", subject=f"tombstone:{digest[:12]}",
                  details={"kind": kind, "basis": basis.strip()})  # fmt: skip

"""Sources: where events come from, each with a channel and a write key."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.config import CHANNELS
from cxm.domain_events import DomainEvent, publish
from cxm.errors import Conflict, InvalidInput, NotFound
from cxm.ingest.tables import sources
from cxm.store.metadata import utcnow

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


@dataclass(frozen=True)
class Source:
    id: int
    name: str
    channel: str
    label: str | None
    write_key_prefix: str
    created_at: datetime
    disabled: bool


def hash_secret(secret: str) -> str:
    # Keys are 190-bit random strings, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class SourceCreated(DomainEvent):
    name: ClassVar[str] = "source-created"
    source: str
    channel: str


def do_create_source(
    session: Session, *, actor: str, name: str, channel: str, label: str | None = None
) -> tuple[Source, str]:
    """Create a source and return it with its write key (shown once, only a hash is kept)."""
    if not SOURCE_NAME.fullmatch(name):
        raise InvalidInput(
            f"source name {name!r} must be lower-case letters, digits, '-' or '_' (max 100)"
        )
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    write_key = "wk_" + secrets.token_urlsafe(24)
    row = {
        "name": name,
        "channel": channel,
        "label": label,
        "write_key_hash": hash_secret(write_key),
        "write_key_prefix": write_key[:10],
        "created_at": utcnow(),
        "disabled": False,
    }
    try:
        with session.begin_nested():
            result = session.execute(insert(sources).values(**row).returning(sources.c.id))
            new_id = result.scalar_one()
    except IntegrityError:
        raise Conflict(f"a source named {name!r} already exists") from None
    record_action(
        session,
        actor=actor,
        action="source.created",
        subject=name,
        details={"channel": channel, "label": label, "write_key_prefix": row["write_key_prefix"]},
    )
    publish(session, SourceCreated(source=name, channel=channel))
    return _source(row | {"id": new_id}), write_key


def list_sources(session: Session) -> list[Source]:
    return [_source(r._mapping) for r in session.execute(select(sources).order_by(sources.c.id))]


def get_source(session: Session, name: str) -> Source:
    row = session.execute(select(sources).where(sources.c.name == name)).first()
    if row is None:
        raise NotFound(f"no source named {name!r}; `cxm sources list` shows the sources")
    return _source(row._mapping)


def source_named(
    session: Session, *, actor: str, name: str, channel: str, label: str | None = None
) -> Source:
    """The source ``name``, created on first use (for cxm's own senders: automation, insights,
    helpdesk imports; nobody needs its write key)."""
    try:
        return get_source(session, name)
    except NotFound:
        source, _ = do_create_source(session, actor=actor, name=name, channel=channel, label=label)
        return source


def _source(m: Any) -> Source:
    get = m.__getitem__
    return Source(
        id=get("id"),
        name=get("name"),
        channel=get("channel"),
        label=get("label"),
        write_key_prefix=get("write_key_prefix"),
        created_at=get("created_at"),
        disabled=bool(get("disabled")),
    )


class SourceRegistry:
    """Write key → source, cached in memory; unknown keys are re-checked at most every few s."""

    def __init__(self, engine: Engine, *, negative_ttl_s: float = 5.0) -> None:
        self._engine = engine
        self._by_hash: dict[str, Source] = {}
        self._misses: dict[str, float] = {}
        self._negative_ttl = negative_ttl_s
        self._lock = threading.Lock()

    def lookup(self, write_key: str) -> Source | None:
        digest = hash_secret(write_key)
        found = self._by_hash.get(digest)
        if found is not None:
            return found
        now = time.monotonic()
        if now - self._misses.get(digest, -1e9) < self._negative_ttl:
            return None
        with self._lock, self._engine.connect() as conn:
            row = conn.execute(select(sources).where(sources.c.write_key_hash == digest)).first()
        if row is None or row._mapping["disabled"]:
            if len(self._misses) > 10_000:
                self._misses.clear()
            self._misses[digest] = now
            return None
        source = _source(row._mapping)
        self._by_hash[digest] = source
        return source

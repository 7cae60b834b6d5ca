"""What a case is, as the API, the pages and the library see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cxm.domain_events import DomainEvent

STATUSES = ("open", "pending", "resolved", "closed")
OPEN_STATUSES = ("open", "pending")
PRIORITIES = ("urgent", "high", "normal", "low")


@dataclass(frozen=True)
class CaseActivity:
    id: int
    kind: str
    at: datetime
    seq: int | None
    channel: str | None
    touchpoint: str | None
    department: str | None
    event: str | None
    actor: str | None
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "seq": self.seq,
            "channel": self.channel,
            "touchpoint": self.touchpoint,
            "department": self.department,
            "event": self.event,
            "actor": self.actor,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Case:
    id: int
    ref: str
    profile_id: str
    title: str
    status: str
    priority: str
    department: str | None
    channel: str | None
    touchpoint: str | None
    topic_id: int | None
    origin: str
    opened_at: datetime
    last_activity_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    response_due_at: datetime | None
    resolve_due_at: datetime | None
    contacts: int
    channels: int
    handoffs: int
    asked_again: int
    reopened: int
    customer_name: str | None = None
    activity: list[CaseActivity] = field(default_factory=list)

    def breaches(self, now: datetime) -> list[str]:
        """Service levels missed: ``response`` (no first answer in time) and ``resolution``."""
        out = []
        responded = self.first_response_at or (now if self.status in OPEN_STATUSES else None)
        if self.response_due_at and responded and responded > self.response_due_at:
            out.append("response")
        done = self.resolved_at or (now if self.status in OPEN_STATUSES else None)
        if self.resolve_due_at and done and done > self.resolve_due_at:
            out.append("resolution")
        return out

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        body: dict[str, Any] = {
            "id": self.id,
            "ref": self.ref,
            "profile_id": self.profile_id,
            "customer_name": self.customer_name,
            "title": self.title,
            "status": self.status,
            "priority": self.priority,
            "department": self.department,
            "channel": self.channel,
            "touchpoint": self.touchpoint,
            "topic_id": self.topic_id,
            "origin": self.origin,
            "opened_at": iso(self.opened_at),
            "last_activity_at": iso(self.last_activity_at),
            "first_response_at": iso(self.first_response_at),
            "resolved_at": iso(self.resolved_at),
            "response_due_at": iso(self.response_due_at),
            "resolve_due_at": iso(self.resolve_due_at),
            "contacts": self.contacts,
            "channels": self.channels,
            "handoffs": self.handoffs,
            "asked_again": self.asked_again,
            "reopened": self.reopened,
        }
        if now is not None:
            body["breaches"] = self.breaches(now)
        if self.activity:
            body["activity"] = [a.to_dict() for a in self.activity]
        return body


@dataclass(frozen=True)
class CaseOpened(DomainEvent):
    name = "case-opened"
    case_id: int
    ref: str
    profile_id: str
    origin: str


@dataclass(frozen=True)
class CaseChanged(DomainEvent):
    """A case's status, priority, department or title changed, or a note was added."""

    name = "case-changed"
    case_id: int
    ref: str
    changes: dict[str, Any]

"""Read models of the customer memory: what the API, CLI and web show about a customer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ProfileCard:
    """One line of a customer list."""

    id: str
    display_name: str | None
    email: str | None
    phone: str | None
    first_seen: datetime | None
    last_seen: datetime | None
    event_count: int
    channels: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Identifier:
    kind: str  # user_id, anonymous_id, email, phone, or a channel id such as crm_id
    value: str
    source: str | None
    first_seen: datetime | None
    # Other profiles holding the same value (a family phone); it links none of them.
    shared_with: list[str] = field(default_factory=list)
    noisy: bool = False  # held by more people than its kind allows: links nobody


@dataclass(frozen=True)
class TraitObservation:
    value: Any
    source: str | None
    channel: str | None
    observed_at: datetime
    seq: int


@dataclass(frozen=True)
class Trait:
    """The current value of a trait and every observation behind it (newest first)."""

    key: str
    value: Any
    source: str | None
    channel: str | None
    observed_at: datetime
    history: list[TraitObservation] = field(default_factory=list)


@dataclass(frozen=True)
class Merge:
    """Why two profiles became one: the rule, the identifier that linked them, the evidence."""

    at: datetime
    rule: str
    reason: str
    winner_id: str
    loser_id: str
    seq: int | None
    actor: str
    id: int | None = None
    score: float | None = None  # match probability, for probabilistic and reviewed merges
    # Evidence per field: [{"field", "left", "right", "level", "weight"}]
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TimelineItem:
    seq: int
    at: datetime
    received_at: datetime
    channel: str
    source: str
    type: str  # identify, track, page, screen, group, alias
    event: str | None  # track event name, page/screen name
    text: str | None  # the free text of the interaction, if any
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelUse:
    channel: str
    count: int
    last_at: datetime


@dataclass(frozen=True)
class KnownFact:
    """Something the customer already told us, with where and when: never ask for it again.

    ``value`` is None when a channel asked for or verified the field without cxm receiving
    the value itself (an IVR's "Data Requested"): it was given there, so don't ask again.
    """

    field: str
    value: str | None
    source: str | None
    channel: str | None
    at: datetime


@dataclass(frozen=True)
class WhatWeKnow:
    """The short brief an agent in any channel reads before talking to the customer."""

    headline: str
    facts: list[KnownFact]
    recent_issues: list[TimelineItem]
    channels: list[ChannelUse]
    last_contact: TimelineItem | None


@dataclass(frozen=True)
class Profile:
    id: str
    display_name: str | None
    email: str | None
    phone: str | None
    created_at: datetime
    first_seen: datetime | None
    last_seen: datetime | None
    event_count: int
    identifiers: list[Identifier]
    traits: list[Trait]
    merges: list[Merge]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Overview:
    """Workspace at a glance, for the dashboard's first page."""

    profiles: int
    events: int
    sources: int
    pending_events: int
    by_channel: list[tuple[str, int]]
    weekly: list[dict[str, Any]]  # {"week": "2026-10-05", "channel": "web", "events": 123}
    recent: list[ProfileCard]

"""Domain events of the identity graph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cxm.domain_events import DomainEvent


@dataclass(frozen=True)
class ProfilesMerged(DomainEvent):
    """``loser`` now belongs to ``winner``: derived data about the loser must follow."""

    name: ClassVar[str] = "profiles-merged"
    winner: str
    loser: str
    rule: str
    seq: int | None


@dataclass(frozen=True)
class ProfilesUnmerged(DomainEvent):
    """Merge ``merge_id`` was undone; ``profiles`` are the live profiles its events now form."""

    name: ClassVar[str] = "profiles-unmerged"
    merge_id: int
    profiles: tuple[str, ...]
    actor: str


@dataclass(frozen=True)
class PairDecided(DomainEvent):
    """A review-queue item was answered: ``decision`` is ``merged`` or ``separate``."""

    name: ClassVar[str] = "identity-pair-decided"
    pair_id: int
    decision: str
    actor: str

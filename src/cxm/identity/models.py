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

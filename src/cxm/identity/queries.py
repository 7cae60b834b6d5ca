"""Reading the identity graph's decisions: the review queue and its history."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.errors import InvalidInput, NotFound
from cxm.identity.tables import identity_pairs, profiles

STATUSES = ("review", "merged", "separate")


@dataclass(frozen=True)
class PairSide:
    """One profile of a pair, as it is now (``live`` is where it was merged, if it was)."""

    id: str
    live: str
    display_name: str | None
    email: str | None
    phone: str | None
    event_count: int


@dataclass(frozen=True)
class ReviewItem:
    """A pair of profiles that may be one person, with the evidence and what was decided."""

    id: int
    a: PairSide
    b: PairSide
    status: str  # review, merged or separate
    origin: str  # rules (a guardrail kept them apart), model, or manual
    probability: float | None
    reason: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def already_one(self) -> bool:
        return self.a.live == self.b.live

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "already_one": self.already_one}


def list_pairs(
    session: Session, *, status: str = "review", limit: int = 50, offset: int = 0
) -> list[ReviewItem]:
    """Pairs with ``status``, most probable first (the review queue when status is review)."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    rows = session.execute(
        select(identity_pairs)
        .where(identity_pairs.c.status == status)
        .order_by(
            identity_pairs.c.probability.desc().nulls_last()
            if status == "review"
            else identity_pairs.c.decided_at.desc(),
            identity_pairs.c.id,
        )
        .limit(max(1, min(limit, 500)))
        .offset(max(0, offset))
    ).all()
    sides = _sides(session, {p for r in rows for p in (r.profile_a, r.profile_b)})
    return [_item(r, sides) for r in rows]


def count_pairs(session: Session, *, status: str = "review") -> int:
    return int(
        session.execute(select(func.count()).where(identity_pairs.c.status == status)).scalar_one()
    )


def get_pair(session: Session, pair_id: int) -> ReviewItem:
    row = session.execute(select(identity_pairs).where(identity_pairs.c.id == pair_id)).first()
    if row is None:
        raise NotFound(f"no review item #{pair_id}")
    return _item(row, _sides(session, {row.profile_a, row.profile_b}))


def pairs_of(session: Session, profile_ids: list[str]) -> list[ReviewItem]:
    """Every decision or open question about any of ``profile_ids``."""
    rows = session.execute(
        select(identity_pairs)
        .where(
            identity_pairs.c.profile_a.in_(profile_ids)
            | identity_pairs.c.profile_b.in_(profile_ids)
        )
        .order_by(identity_pairs.c.id)
    ).all()
    sides = _sides(session, {p for r in rows for p in (r.profile_a, r.profile_b)})
    return [_item(r, sides) for r in rows]


def _sides(session: Session, ids: set[str]) -> dict[str, PairSide]:
    found: dict[str, Any] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), 500):
        for r in session.execute(
            select(profiles).where(profiles.c.id.in_(wanted[start : start + 500]))
        ):
            found[r.id] = r
    roots = sorted({r.merged_into for r in found.values() if r.merged_into} - set(found))
    for start in range(0, len(roots), 500):
        for r in session.execute(
            select(profiles).where(profiles.c.id.in_(roots[start : start + 500]))
        ):
            found[r.id] = r
    sides = {}
    for pid in ids:
        row = found.get(pid)
        live = found.get(row.merged_into) if row is not None and row.merged_into else row
        sides[pid] = PairSide(
            id=pid,
            live=live.id if live is not None else pid,
            display_name=live.display_name if live is not None else None,
            email=live.email if live is not None else None,
            phone=live.phone if live is not None else None,
            event_count=live.event_count if live is not None else 0,
        )
    return sides


def _item(row: Any, sides: dict[str, PairSide]) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        a=sides[row.profile_a],
        b=sides[row.profile_b],
        status=row.status,
        origin=row.origin,
        probability=row.probability,
        reason=row.reason,
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        evidence=orjson.loads(row.evidence) if row.evidence else [],
    )

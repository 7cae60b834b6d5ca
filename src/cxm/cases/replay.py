"""A case's state from its activity, in the customer's time order (pure: no storage).

The same definitions as the behavioural metrics (``docs/metrics.md``), applied to one case:

- a **contact** is a run of contact activities in one channel with gaps under an hour (the
  phone menu and the call it leads to are one phone contact);
- a **handoff** is every change of the department holding the case: a contact owned by
  another department than the one before, or a transfer;
- a request for data **asks again** when it asks for a field the profile already held, or one
  asked earlier in the same case (requests at one touchpoint within an hour are one ask: the
  phone menu's question and its check of the answer);
- a contact or a reopen after a resolution **reopens** the case;
- the **first response** is the first activity where someone from the company was there (an
  agent on the call, a technician, a person in a branch, an action in cxm);
- a case the company answered and the customer left quiet for the window is resolved at its
  last contact (``resolution: quiet``).

>>> from datetime import UTC, datetime
>>> at = datetime(2026, 3, 2, 9, tzinfo=UTC)
>>> state = replay_case([Step(1, "contact", at, "branch", "retail", {"response": True})],
...                     opened_at=at, now=at, window_days=7)
>>> (state.status, state.contacts, state.handoffs)
('open', 1, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

CHANNEL_FAMILY = {"ivr": "phone"}
CONTACT_GAP = timedelta(hours=1)


@dataclass(frozen=True)
class Step:
    """One activity as the replay needs it."""

    id: int
    kind: str
    at: datetime
    channel: str | None
    department: str | None
    detail: dict[str, Any]
    touchpoint: str | None = None


@dataclass
class CaseState:
    status: str = "open"
    resolution: str | None = None
    opened_at: datetime | None = None
    last_activity_at: datetime | None = None
    last_contact_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    department: str | None = None
    priority: str | None = None
    title: str | None = None
    contacts: int = 0
    channels: int = 0
    handoffs: int = 0
    asked_again: int = 0
    reopened: int = 0
    # For each data request (by activity id): the fields asked again.
    repeated: dict[int, list[str]] = field(default_factory=dict)


def replay_case(
    steps: list[Step],
    *,
    opened_at: datetime,
    now: datetime,
    window_days: int,
    status: str = "open",
) -> CaseState:
    """Fold ``steps`` (any order) into the case's state; ``status`` is where a case that has
    no status-setting steps starts (an imported ticket's own)."""
    state = CaseState(status=status, opened_at=opened_at, last_activity_at=opened_at)
    family: str | None = None
    last_contact: datetime | None = None
    families: set[str] = set()
    asked: set[str] = set()
    ask: tuple[str | None, datetime, set[str], bool] | None = None  # touchpoint, start, before
    manual_status = False
    quiet = timedelta(days=window_days)
    for step in sorted(steps, key=lambda s: (s.at, s.id)):
        if not manual_status:
            _settle_quiet(state, step.at, quiet)
        state.opened_at = min(state.opened_at or step.at, step.at)
        state.last_activity_at = max(state.last_activity_at or step.at, step.at)
        detail = step.detail
        if detail.get("response") and state.first_response_at is None:
            state.first_response_at = step.at
        if step.kind == "contact":
            channel = CHANNEL_FAMILY.get(step.channel or "", step.channel or "?")
            if channel != family or last_contact is None or step.at - last_contact > CONTACT_GAP:
                state.contacts += 1
            family, last_contact = channel, step.at
            families.add(channel)
            state.last_contact_at = step.at
            _hand_to(state, step.department)
            if state.status in ("resolved", "closed"):
                _reopen(state)
                manual_status = False
        elif step.kind == "transfer":
            _hand_to(state, step.department)
        elif step.kind == "data_request":
            fields = [str(f) for f in detail.get("fields", [])]
            known = set(detail.get("known", []))
            same_ask = (
                ask is not None and ask[0] == step.touchpoint and step.at - ask[1] <= CONTACT_GAP
            )
            if not same_ask or ask is None:
                ask = (step.touchpoint, step.at, set(asked), False)
            repeated = [f for f in fields if f in known or f in ask[2]]
            state.repeated[step.id] = repeated
            if repeated and not ask[3]:
                state.asked_again += 1  # once per ask
                ask = (ask[0], ask[1], ask[2], True)
            asked.update(fields)
        elif step.kind == "resolution":
            state.status, state.resolution, state.resolved_at = "resolved", "resolved", step.at
            manual_status = False
        elif step.kind == "reopen":
            if state.status in ("resolved", "closed"):
                _reopen(state)
        elif step.kind in ("status", "update"):
            new = detail.get("status")
            if new:
                manual_status = True
                if new in ("open", "pending") and state.status in ("resolved", "closed"):
                    _reopen(state)
                state.status = new
                if new in ("resolved", "closed"):
                    declared = detail.get("resolved_at")
                    stated = datetime.fromisoformat(declared) if declared else None
                    state.resolved_at = state.resolved_at or stated or step.at
                    state.resolution = detail.get("resolution") or new
            _hand_to(state, detail.get("department") or step.department)
            state.priority = detail.get("priority") or state.priority
            state.title = detail.get("title") or state.title
    state.channels = len(families)
    if not manual_status:
        _settle_quiet(state, now, quiet)
    return state


def _settle_quiet(state: CaseState, at: datetime, quiet: timedelta) -> None:
    """An answered case the customer left quiet for the window is resolved at its last
    contact, as seen from ``at`` (so a person reopening it later counts as a reopening)."""
    last = state.last_contact_at
    if (
        state.status == "open"
        and state.first_response_at is not None
        and last is not None
        and at - last > quiet
    ):
        state.status, state.resolution, state.resolved_at = "resolved", "quiet", last


def _hand_to(state: CaseState, department: str | None) -> None:
    if not department or department == state.department:
        return
    if state.department is not None:
        state.handoffs += 1
    state.department = department


def _reopen(state: CaseState) -> None:
    state.reopened += 1
    state.status, state.resolution, state.resolved_at = "open", None, None

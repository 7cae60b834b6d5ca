"""The rules cases follow: which events say what, service levels, and where a profile holds
the details customers are asked for. Built from the settings (:meth:`CasePolicy.from_settings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cxm.cases.models import PRIORITIES, STATUSES
from cxm.errors import InvalidInput

# Events that speak of cases whatever the journey map says (helpdesks, complaint forms, cxm's
# own ``track`` calls): what each does.
CASE_EVENTS = {
    "Case Opened": "contact",
    "Complaint Submitted": "contact",
    "Ticket Created": "contact",
    "Case Updated": "status",
    "Ticket Updated": "status",
    "Case Resolved": "resolution",
    "Ticket Solved": "resolution",
    "Case Reopened": "reopen",
    "Case Closed": "status",
    "Call Transferred": "transfer",
}
# Properties that carry a case's reference (the first one present wins).
REF_PROPERTIES = ("case_ref", "case_id", "ticket_id", "ticket")
# Properties that name who in the company took part: their presence is a response.
RESPONDER_PROPERTIES = ("agent", "technician", "assignee")
# Channels where a person of the company meets the customer face to face.
FACE_TO_FACE = frozenset({"branch"})
# Where the profile holds each field a customer is asked for: identifier kinds and trait keys.
DEFAULT_KNOWN_FIELDS: dict[str, tuple[str, ...]] = {
    "customer_number": ("identifier:user_id",),
    "account_number": ("identifier:user_id",),
    "email": ("identifier:email", "trait:email"),
    "phone": ("identifier:phone", "trait:phone"),
    "name": ("trait:name", "trait:lastName"),
    "address": ("trait:address", "trait:street"),
    "postal_code": ("trait:postalCode", "trait:postal_code"),
    "city": ("trait:city",),
    "date_of_birth": ("trait:birthday", "trait:date_of_birth"),
    "contract_number": ("trait:contract_number", "trait:contractNumber"),
}
_STATUS_WORDS = {
    "new": "open",
    "open": "open",
    "opened": "open",
    "in progress": "open",
    "pending": "pending",
    "hold": "pending",
    "on-hold": "pending",
    "on hold": "pending",
    "waiting on customer": "pending",
    "waiting on third party": "pending",
    "solved": "resolved",
    "resolved": "resolved",
    "closed": "closed",
}
_PRIORITY_WORDS = {"urgent": "urgent", "high": "high", "normal": "normal", "medium": "normal",
                   "low": "low", "critical": "urgent"}  # fmt: skip


def status_of(value: Any) -> str | None:
    """A status word from cxm or a helpdesk (Zendesk, Freshdesk) as one of STATUSES."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _STATUS_WORDS.get(" ".join(value.split()).casefold())


def priority_of(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Freshdesk numbers them 1 (low) … 4 (urgent).
        return {1: "low", 2: "normal", 3: "high", 4: "urgent"}.get(int(value))
    if not isinstance(value, str) or not value.strip():
        return None
    return _PRIORITY_WORDS.get(value.strip().casefold())


def check_status(value: str) -> str:
    if value not in STATUSES:
        raise InvalidInput(f"status {value!r} is not one of {', '.join(STATUSES)}")
    return value


def check_priority(value: str) -> str:
    if value not in PRIORITIES:
        raise InvalidInput(f"priority {value!r} is not one of {', '.join(PRIORITIES)}")
    return value


@dataclass(frozen=True)
class CasePolicy:
    window_days: int = 7
    sla_hours: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "urgent": (1.0, 24.0),
            "high": (4.0, 48.0),
            "normal": (24.0, 120.0),
            "low": (72.0, 240.0),
        }
    )
    known_fields: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_KNOWN_FIELDS)
    )

    @classmethod
    def from_settings(cls, settings: Any) -> CasePolicy:
        base = cls()
        sla = dict(base.sla_hours)
        for priority, hours in settings.case_sla_hours.items():
            check_priority(priority)
            response, resolve = hours
            if response <= 0 or resolve <= 0:
                raise InvalidInput(
                    f"CXM_CASE_SLA_HOURS: the hours for {priority!r} must be above 0, "
                    f"got {list(hours)}"
                )
            sla[priority] = (float(response), float(resolve))
        known = dict(base.known_fields)
        for name, places in settings.case_known_fields.items():
            for place in places:
                kind, _, key = place.partition(":")
                if kind not in ("identifier", "trait") or not key:
                    raise InvalidInput(
                        f"CXM_CASE_KNOWN_FIELDS: {place!r} for {name!r} must be "
                        "identifier:KIND or trait:KEY"
                    )
            known[name] = tuple(places)
        return cls(window_days=settings.case_window_days, sla_hours=sla, known_fields=known)

    def due(self, opened_at: datetime, priority: str) -> tuple[datetime, datetime]:
        response, resolve = self.sla_hours[priority]
        return opened_at + timedelta(hours=response), opened_at + timedelta(hours=resolve)

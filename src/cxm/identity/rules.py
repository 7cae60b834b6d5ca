"""Deterministic identity rules: which identifiers an event carries (pure functions).

An event links every identifier it carries to one person:
- ``userId`` and ``anonymousId`` on the same event (Segment's identify/track stitching);
- ``alias``: ``previousId`` with ``userId``;
- an e-mail (trimmed, lower-cased) in ``traits`` or ``context.traits``;
- a phone in ``traits`` or ``context.traits``, normalised to E.164;
- channel ids in ``context.externalIds`` (``[{"id", "type"}]``), e.g. a social handle.
"""

from __future__ import annotations

import re
from typing import Any

from cxm.identity.normalize import normalize_email, normalize_phone

# Strongest first: when one event joins several profiles, the explanation names this order.
IDENTIFIER_KINDS = ("user_id", "email", "phone", "anonymous_id")
# Channel-id kinds stay short enough for merge rules ("kind+kind") to fit their column.
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,27}$")


def event_traits(payload: dict[str, Any]) -> dict[str, Any]:
    """Traits an event states about its person: identify ``traits`` over ``context.traits``."""
    context = payload.get("context")
    merged: dict[str, Any] = {}
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        merged.update(context["traits"])
    if payload.get("type") == "identify" and isinstance(payload.get("traits"), dict):
        merged.update(payload["traits"])
    return merged


def event_identifiers(
    payload: dict[str, Any],
    *,
    user_id: str | None,
    anonymous_id: str | None,
    traits: dict[str, Any],
    region: str,
) -> list[tuple[str, str]]:
    """The (kind, value) identifiers an event carries, strongest first, without repeats."""
    found: list[tuple[str, str]] = []
    if user_id:
        found.append(("user_id", user_id))
    email = normalize_email(traits.get("email"))
    if email:
        found.append(("email", email))
    phone = normalize_phone(traits.get("phone"), region=region)
    if phone:
        found.append(("phone", phone))
    context = payload.get("context")
    if isinstance(context, dict) and isinstance(context.get("externalIds"), list):
        for ext in context["externalIds"]:
            if not isinstance(ext, dict):
                continue
            kind, value = str(ext.get("type", "")).lower(), ext.get("id")
            known = kind in IDENTIFIER_KINDS
            if _KIND.match(kind) and not known and isinstance(value, str) and value.strip():
                found.append((kind, value.strip()[:320]))
    if anonymous_id:
        found.append(("anonymous_id", anonymous_id))
    if payload.get("type") == "alias":
        previous = payload.get("previousId")
        if isinstance(previous, (str, int)) and str(previous):
            found.append(("previous_id", str(previous)))
    seen: set[tuple[str, str]] = set()
    unique = []
    for item in found:
        if item not in seen:
            seen.add(item)
            unique.append(item)
    return unique

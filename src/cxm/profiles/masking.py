"""A customer as someone without access to personal data sees them (an agent without the
``pii`` scope): e-mails, phones, account and identity numbers and announced names masked
partially, so the agent can still match them with what the customer says (``j***@example.pl``,
a phone's last digits). The display name stays: it is how an agent greets the customer.

Masked: the timeline's free text and string properties, the profile's e-mail, phone,
identifiers, traits and merge evidence, a customer list's cards, and the brief (its facts,
recent issues and last contact).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cxm.profiles.models import Profile, ProfileCard, TimelineItem, WhatWeKnow
from cxm.text.redaction import redact, redact_value

# Identifier kinds whose values are personal data in themselves (a user id or a device id is
# a pseudonym the company made, and stays).
PERSONAL_KINDS = frozenset({"email", "phone"})


def masked_timeline(items: list[TimelineItem], *, can_see_pii: bool) -> list[TimelineItem]:
    if can_see_pii:
        return items
    out = []
    for item in items:
        properties: Any = redact_value(item.properties)
        text = redact(item.text, mode="partial") if item.text else item.text
        out.append(replace(item, text=text, properties=properties))
    return out


def mask(value: str | None) -> str | None:
    """``value`` with its personal data partially masked (None stays None)."""
    return None if value is None else redact(value, mode="partial")


def masked_profile(profile: Profile, *, can_see_pii: bool) -> Profile:
    if can_see_pii:
        return profile
    identifiers = [
        replace(i, value=mask(i.value) or "") if i.kind in PERSONAL_KINDS else i
        for i in profile.identifiers
    ]
    traits = [
        replace(t, value=redact_value(t.value),
                history=[replace(h, value=redact_value(h.value)) for h in t.history])
        for t in profile.traits
    ]  # fmt: skip
    merges = [
        replace(m, reason=mask(m.reason) or "", evidence=redact_value(m.evidence))  # type: ignore[arg-type]
        for m in profile.merges
    ]
    return replace(profile, email=mask(profile.email), phone=mask(profile.phone),
                   identifiers=identifiers, traits=traits, merges=merges)  # fmt: skip


def masked_cards(cards: list[ProfileCard], *, can_see_pii: bool) -> list[ProfileCard]:
    if can_see_pii:
        return cards
    return [replace(c, email=mask(c.email), phone=mask(c.phone)) for c in cards]


def masked_brief(brief: WhatWeKnow, *, can_see_pii: bool) -> WhatWeKnow:
    if can_see_pii:
        return brief
    facts = [replace(f, value=mask(f.value)) for f in brief.facts]
    recent = masked_timeline(brief.recent_issues, can_see_pii=False)
    last = (
        masked_timeline([brief.last_contact], can_see_pii=False)[0] if brief.last_contact else None
    )
    return replace(brief, headline=mask(brief.headline) or "", facts=facts, recent_issues=recent,
                   last_contact=last)  # fmt: skip

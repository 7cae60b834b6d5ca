"""The timeline as someone without access to personal data sees it: the free text and every
string property with e-mails, phones, account and identity numbers and announced names masked
(partially, so the agent can still match them with what the customer says)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cxm.profiles.models import TimelineItem
from cxm.text.redaction import redact, redact_value


def masked_timeline(items: list[TimelineItem], *, can_see_pii: bool) -> list[TimelineItem]:
    if can_see_pii:
        return items
    out = []
    for item in items:
        properties: Any = redact_value(item.properties)
        text = redact(item.text, mode="partial") if item.text else item.text
        out.append(replace(item, text=text, properties=properties))
    return out

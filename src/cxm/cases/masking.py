"""A case as someone without access to personal data sees it: its title, notes and the text
of its activity with e-mails, phones, account and identity numbers and names masked (the
customer's display name stays, as on the profile pages that role already sees)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cxm.cases.models import Case
from cxm.text.redaction import redact, redact_value


def masked_case(case: Case, *, can_see_pii: bool) -> Case:
    if can_see_pii:
        return case
    activity = []
    for item in case.activity:
        detail: Any = redact_value(item.detail)
        activity.append(replace(item, detail=detail))
    return replace(
        case,
        title=redact(case.title, mode="partial"),
        activity=activity,
    )

"""Omnichannel cases: one case per matter across every channel, its contacts, handoffs,
service levels and reopenings, and the times customers were asked for what the company
already knew. See ``docs/cases.md``.

>>> report = do_build_cases(session=ws.session, policy=CasePolicy())      # doctest: +SKIP
>>> get_case(session, "CASE-2026-00042").handoffs                          # doctest: +SKIP
2
"""

from __future__ import annotations

from cxm.cases.builder import BuildReport, do_build_cases, do_rebuild_cases, pending_events
from cxm.cases.models import (
    OPEN_STATUSES,
    PRIORITIES,
    STATUSES,
    Case,
    CaseActivity,
    CaseChanged,
    CaseOpened,
)
from cxm.cases.policy import CASE_EVENTS, CasePolicy
from cxm.cases.queries import (
    AskedAgainRow,
    CaseFilter,
    CasePage,
    asked_again_report,
    case_overview,
    get_case,
    list_cases,
    open_cases_of,
)
from cxm.cases.service import do_open_case, do_update_case

__all__ = [
    "CASE_EVENTS",
    "OPEN_STATUSES",
    "PRIORITIES",
    "STATUSES",
    "AskedAgainRow",
    "BuildReport",
    "Case",
    "CaseActivity",
    "CaseChanged",
    "CaseFilter",
    "CaseOpened",
    "CasePage",
    "CasePolicy",
    "asked_again_report",
    "case_overview",
    "do_build_cases",
    "do_open_case",
    "do_rebuild_cases",
    "do_update_case",
    "get_case",
    "list_cases",
    "open_cases_of",
    "pending_events",
]

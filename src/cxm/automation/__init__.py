"""Closing the loop: rules (trigger → conditions → actions) that alert, open cases, e-mail,
call webhooks and leave in-app messages, with frequency caps, quiet hours, consent, a dry run
and a simulation over past data; every firing audited. See ``docs/automation.md``.

>>> with ws.session() as s:                                                # doctest: +SKIP
...     do_save_rule(session=s, actor="user:ania", data=parse_rule_yaml(text).source)
>>> ws.automation.run_once()                                               # doctest: +SKIP
"""

from __future__ import annotations

from cxm.automation.actions import ActionFailed, Delivery, sign
from cxm.automation.audience import Customer, load_customer
from cxm.automation.dispatch import DispatchReport, do_dispatch
from cxm.automation.engine import RunReport, do_evaluate_rules, do_run_scheduled, matches
from cxm.automation.firing import Decision, Trigger, decide, quiet_until
from cxm.automation.rules import Rule, RuleInvalid, parse_rule_yaml, rule_from_data
from cxm.automation.service import (
    StoredRule,
    do_retry_job,
    do_save_rule,
    do_set_rule_enabled,
    get_rule,
    list_rules,
)

__all__ = [
    "ActionFailed",
    "Customer",
    "Decision",
    "Delivery",
    "DispatchReport",
    "Rule",
    "RuleInvalid",
    "RunReport",
    "StoredRule",
    "Trigger",
    "decide",
    "do_dispatch",
    "do_evaluate_rules",
    "do_retry_job",
    "do_run_scheduled",
    "do_save_rule",
    "do_set_rule_enabled",
    "get_rule",
    "list_rules",
    "load_customer",
    "matches",
    "parse_rule_yaml",
    "quiet_until",
    "rule_from_data",
    "sign",
]

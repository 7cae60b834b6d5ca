"""One truth across channels: the canonical facts a company states (prices, fees, terms,
opening hours, policies) with their validity periods, where each is stated, and the conflicts
between them, ranked by how many customers saw the wrong version (``docs/consistency.md``)."""

from __future__ import annotations

from cxm.consistency.checks import Conflict, duplicate_accounts, find_conflicts
from cxm.consistency.facts import Fact, do_load_facts, list_facts

__all__ = ["Conflict", "Fact", "do_load_facts", "duplicate_accounts", "find_conflicts",
           "list_facts"]  # fmt: skip

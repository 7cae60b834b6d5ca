"""The audit log: an append-only, hash-chained record of every change made by a person or by
cxm itself (``cxm.audit.chain``)."""

from __future__ import annotations

from cxm.audit.chain import ChainReport, redact_entries, seal_chain, verify_chain
from cxm.audit.service import AuditEntry, list_actions, record_action, record_actions

__all__ = [
    "AuditEntry",
    "ChainReport",
    "list_actions",
    "record_action",
    "record_actions",
    "redact_entries",
    "seal_chain",
    "verify_chain",
]

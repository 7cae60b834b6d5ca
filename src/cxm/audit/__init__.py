"""The audit log: an append-only record of every change made by a person or by cxm itself."""

from __future__ import annotations

from cxm.audit.service import AuditEntry, list_actions, record_action, record_actions

__all__ = ["AuditEntry", "list_actions", "record_action", "record_actions"]

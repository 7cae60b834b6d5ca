"""Saving rules, enabling and disabling them, and retrying dead actions: each an audited
action.

>>> with ws.session() as s:                                                # doctest: +SKIP
...     do_save_rule(session=s, actor="user:ania", data=parse_yaml(open("rule.yaml").read()))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.automation.rules import Rule, rule_from_data
from cxm.automation.tables import automation_jobs, automation_rules
from cxm.errors import Conflict, InvalidInput, NotFound
from cxm.store.metadata import utcnow


@dataclass(frozen=True)
class StoredRule:
    rule: Rule
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime
    actor: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.rule.name,
            "description": self.rule.description,
            "enabled": self.enabled,
            "version": self.version,
            "trigger": self.rule.trigger.to_data(),
            "definition": self.rule.source,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "actor": self.actor,
        }


def do_save_rule(
    *, session: Session, actor: str, data: Any, replace: bool = False, name: str | None = None
) -> StoredRule:
    """Check a rule and store it (a new version when it replaces one); raises RuleInvalid
    listing every problem. A new rule is enabled unless it says ``enabled: false``."""
    if name is not None and isinstance(data, dict):
        data = {"name": name} | data
    rule = rule_from_data(data)
    if name is not None and rule.name != name:
        raise InvalidInput(f"the rule is named '{rule.name}' but is saved as '{name}'")
    enabled = data.get("enabled", True) if isinstance(data, dict) else True
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled must be true or false")
    now = utcnow()
    text = orjson.dumps(rule.source).decode()
    existing = session.execute(
        select(automation_rules.c.version).where(automation_rules.c.name == rule.name)
    ).first()
    if existing is not None and not replace:
        raise Conflict(
            f"a rule '{rule.name}' exists already; replace it (PUT /api/automation/rules/"
            f"{rule.name}, cxm automation load --replace) or choose another name"
        )
    if existing is None:
        try:
            with session.begin_nested():
                session.execute(
                    insert(automation_rules).values(
                        name=rule.name,
                        definition=text,
                        enabled=enabled,
                        version=1,
                        created_at=now,
                        updated_at=now,
                        actor=actor,
                    )  # fmt: skip
                )
        except IntegrityError as exc:
            raise Conflict(f"the rule '{rule.name}' was created at the same time") from exc
    else:
        session.execute(
            update(automation_rules)
            .where(automation_rules.c.name == rule.name)
            .values(
                definition=text,
                enabled=enabled,
                version=existing.version + 1,
                updated_at=now,
                actor=actor,
            )  # fmt: skip
        )
    record_action(session, actor=actor, action="automation.rule.save", subject=rule.name,
                  details={"definition": rule.source, "enabled": enabled})  # fmt: skip
    return get_rule(session, rule.name)


def do_set_rule_enabled(*, session: Session, actor: str, name: str, enabled: bool) -> StoredRule:
    get_rule(session, name)
    session.execute(
        update(automation_rules)
        .where(automation_rules.c.name == name)
        .values(enabled=enabled, updated_at=utcnow(), actor=actor)
    )
    action = "automation.rule.enable" if enabled else "automation.rule.disable"
    record_action(session, actor=actor, action=action, subject=name)
    return get_rule(session, name)


def do_retry_job(*, session: Session, actor: str, job_id: int, now: datetime | None = None) -> None:
    """Send a dead (or cancelled) action to the queue again, with a fresh count of attempts."""
    row = session.execute(
        select(automation_jobs.c.status).where(automation_jobs.c.id == job_id)
    ).first()
    if row is None:
        raise NotFound(f"no automation job {job_id}")
    if row.status not in ("dead", "cancelled"):
        raise Conflict(f"job {job_id} is {row.status}; only dead or cancelled jobs are retried")
    now = now or utcnow()
    session.execute(
        update(automation_jobs)
        .where(automation_jobs.c.id == job_id)
        .values(status="pending", attempts=0, due_at=now, lease_until=None, updated_at=now)
    )
    record_action(session, actor=actor, action="automation.job.retry", subject=str(job_id))


def get_rule(session: Session, name: str) -> StoredRule:
    row = session.execute(select(automation_rules).where(automation_rules.c.name == name)).first()
    if row is None:
        raise NotFound(f"no automation rule {name!r}; GET /api/automation/rules lists them")
    return _stored(row)


def list_rules(session: Session, *, enabled_only: bool = False) -> list[StoredRule]:
    query = select(automation_rules).order_by(automation_rules.c.name)
    if enabled_only:
        query = query.where(automation_rules.c.enabled.is_(True))
    return [_stored(row) for row in session.execute(query)]


def _stored(row: Any) -> StoredRule:
    data = orjson.loads(row.definition)
    # Stored definitions were checked when saved.
    return StoredRule(rule_from_data(data), bool(row.enabled), int(row.version), row.created_at,
                      row.updated_at, row.actor)  # fmt: skip

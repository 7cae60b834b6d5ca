"""API tokens: created with a name and scopes, shown once, stored as a hash."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.auth.tables import api_tokens
from cxm.errors import InvalidInput
from cxm.ingest.sources import hash_secret
from cxm.store.metadata import utcnow

# "read": every reading, customers included; "aggregates": only what adds customers up
# (metrics, journeys, topics, drivers); "write": every change; "cases": changing cases only;
# "pii": see personal data in free texts unredacted (verbatims, search); admin implies all.
SCOPES = ("admin", "read", "write", "pii", "aggregates", "cases")
# Named bundles of scopes for the people who use cxm (``cxm tokens create NAME --role agent``).
ROLES: dict[str, tuple[str, ...]] = {
    "admin": ("admin",),
    "analyst": ("read", "write", "pii"),  # a CX manager or analyst
    "agent": ("read", "cases"),  # serves customers; personal data in texts masked
    "viewer": ("aggregates",),  # a department's view: totals and trends, no customer
}


@dataclass(frozen=True)
class ApiPrincipal:
    """Who is calling: the token's id and name, and what it may do."""

    id: int
    name: str
    scopes: tuple[str, ...]
    kind: str = "token"  # or "user": a person signed in with a password
    # An agent or department viewer held to one department: they reach only the customers it
    # serves and the aggregates of its touchpoints (cxm.auth.reach).
    department: str | None = None

    @property
    def actor(self) -> str:
        """How this principal is named in the audit log."""
        return f"{self.kind}:{self.name}#{self.id}"

    def can(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    @property
    def held_to(self) -> str | None:
        """The department this principal is held to; admins and those who may change
        everything (analysts) are never held."""
        if self.department is None or self.can("admin") or self.can("write"):
            return None
        return self.department


def check_department_holder(scopes: tuple[str, ...], department: str | None) -> str | None:
    """The department a token or user of ``scopes`` is held to (cleaned), refusing one for
    roles that see every department."""
    if department is None or not department.strip():
        return None
    department = department.strip()
    if "admin" in scopes or "write" in scopes:
        raise InvalidInput(
            "a department holds an agent or a viewer to it; admins and analysts see every "
            "department"
        )
    if len(department) > 100:
        raise InvalidInput("a department id has at most 100 characters")
    return department


def do_create_token(
    session: Session,
    *,
    actor: str,
    name: str,
    scopes: tuple[str, ...] = ("admin",),
    department: str | None = None,
) -> tuple[ApiPrincipal, str]:
    """Create an API token; the plain token is returned once and never stored."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput(f"unknown scopes {unknown}; choose from {', '.join(SCOPES)}")
    if not name.strip() or len(name) > 100:
        raise InvalidInput("a token needs a name of 1 to 100 characters")
    department = check_department_holder(scopes, department)
    if department is not None:
        check_known_department(session, department)
    token = "cxm_" + secrets.token_urlsafe(32)
    new_id = session.execute(
        insert(api_tokens)
        .returning(api_tokens.c.id)
        .values(
            name=name.strip(),
            token_hash=hash_secret(token),
            prefix=token[:10],
            scopes=" ".join(scopes),
            created_at=utcnow(),
            department=department,
        )
    ).scalar_one()
    record_action(
        session,
        actor=actor,
        action="token.created",
        subject=name.strip(),
        details={"id": new_id, "scopes": list(scopes), "prefix": token[:10],
                 "department": department},
    )  # fmt: skip
    principal = ApiPrincipal(id=new_id, name=name.strip(), scopes=tuple(scopes),
                             department=department)  # fmt: skip
    return principal, token


def do_revoke_tokens_named(session: Session, *, actor: str, name: str) -> int:
    """Revoke every live token called ``name``; returns how many were revoked."""
    revoked = list(
        session.execute(
            update(api_tokens)
            .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .returning(api_tokens.c.id)
        ).scalars()
    )
    if revoked:
        record_action(
            session, actor=actor, action="token.revoked", subject=name, details={"ids": revoked}
        )
    return len(revoked)


def authenticate_token(session: Session, token: str) -> ApiPrincipal | None:
    """The principal behind a plain token, or None if it is unknown or revoked."""
    if not token or not token.startswith("cxm_"):
        return None
    row = session.execute(
        select(api_tokens).where(
            api_tokens.c.token_hash == hash_secret(token), api_tokens.c.revoked_at.is_(None)
        )
    ).first()
    return _principal(row) if row else None


def get_token(session: Session, token_id: int) -> ApiPrincipal | None:
    row = session.execute(
        select(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
    ).first()
    return _principal(row) if row else None


def any_token_exists(session: Session) -> bool:
    return session.execute(select(api_tokens.c.id).limit(1)).first() is not None


def _principal(row: object) -> ApiPrincipal:
    m = row._mapping  # type: ignore[attr-defined]
    return ApiPrincipal(id=m["id"], name=m["name"], scopes=tuple(m["scopes"].split()),
                        department=m["department"])  # fmt: skip


def check_known_department(session: Session, department: str) -> None:
    """Refuse a department the journey map does not list (any, before a map exists)."""
    from cxm.journeys.service import current_journey_map

    journey = current_journey_map(session)
    if journey is None:
        return
    known = [d.id for d in journey.departments]
    if department not in known:
        raise InvalidInput(
            f"the journey map has no department '{department}'; its departments are "
            f"{', '.join(known)}"
        )

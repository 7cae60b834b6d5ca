"""People who sign in to the dashboard with a user name and a password.

A user has a role (``cxm.auth.ROLES``: admin, analyst, agent, viewer), and through it the same
scopes an API token of that role would have; the audit log names them ``user:<name>#<id>``.
Passwords are kept as Argon2id hashes (``argon2-cffi``'s defaults: 64 MiB, 3 passes), checked
in constant time; an unknown user name costs the same check, so the answer time does not say
which names exist. A disabled user cannot sign in, and their open sessions end at the next page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.auth.service import (
    ROLES,
    ApiPrincipal,
    check_department_holder,
    check_known_department,
)
from cxm.auth.tables import users
from cxm.errors import Conflict, InvalidInput, NotFound
from cxm.store.metadata import utcnow

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_HASHER = PasswordHasher()
# Checked when the user name is unknown, so that case takes as long as a wrong password.
_DUMMY = _HASHER.hash("no such user: this hash only spends the time a real check would")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    name: str | None
    role: str
    created_at: datetime
    last_login_at: datetime | None
    disabled: bool
    department: str | None = None

    def principal(self) -> ApiPrincipal:
        return ApiPrincipal(id=self.id, name=self.username, scopes=ROLES[self.role], kind="user",
                            department=self.department)  # fmt: skip


def _user(row: object) -> User:
    return User(
        id=int(row.id),  # type: ignore[attr-defined]
        username=row.username,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        last_login_at=row.last_login_at,  # type: ignore[attr-defined]
        disabled=row.disabled_at is not None,  # type: ignore[attr-defined]
        department=row.department,  # type: ignore[attr-defined]
    )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters")


def do_create_user(
    session: Session, *, actor: str, username: str, password: str, role: str,
    name: str | None = None, department: str | None = None,
) -> User:  # fmt: skip
    """Create a user (the user name lower-case letters, digits, '.', '_' or '-'); an agent or
    viewer may be held to one ``department``."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise InvalidInput("a user name is 2 to 100 lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; the roles are {', '.join(ROLES)}")
    check_password(password)
    department = check_department_holder(ROLES[role], department)
    if department is not None:
        check_known_department(session, department)
    taken = session.execute(select(users.c.id).where(users.c.username == username)).first()
    if taken is not None:
        raise Conflict(f"there is already a user {username!r}")
    new_id = session.execute(
        insert(users)
        .values(username=username, name=(name or "").strip() or None,
                password_hash=_HASHER.hash(password), role=role, created_at=utcnow(),
                department=department)
        .returning(users.c.id)
    ).scalar_one()  # fmt: skip
    record_action(session, actor=actor, action="user.created", subject=f"user:{username}",
                  details={"role": role, "department": department})  # fmt: skip
    return get_user(session, int(new_id))


def get_user(session: Session, user_id: int) -> User:
    row = session.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"no user {user_id}")
    return _user(row)


def list_users(session: Session) -> list[User]:
    return [_user(r) for r in session.execute(select(users).order_by(users.c.username))]


def authenticate_user(session: Session, username: str, password: str) -> User | None:
    """The user when the name and password match and the user is not disabled, else None."""
    row = session.execute(select(users).where(users.c.username == username.strip().lower())).first()
    stored = row.password_hash if row is not None else _DUMMY
    try:
        _HASHER.verify(stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled_at is not None:
        return None
    if _HASHER.check_needs_rehash(stored):
        session.execute(
            update(users).where(users.c.id == row.id).values(password_hash=_HASHER.hash(password))
        )
    session.execute(update(users).where(users.c.id == row.id).values(last_login_at=utcnow()))
    return _user(row)


def active_user(session: Session, user_id: int) -> User | None:
    """The user behind a session, unless they were disabled or removed since."""
    row = session.execute(select(users).where(users.c.id == user_id)).first()
    if row is None or row.disabled_at is not None:
        return None
    return _user(row)


def do_disable_user(session: Session, *, actor: str, username: str) -> None:
    changed = session.execute(
        update(users)
        .where(users.c.username == username.strip().lower(), users.c.disabled_at.is_(None))
        .values(disabled_at=utcnow())
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no active user {username!r}")
    record_action(session, actor=actor, action="user.disabled", subject=f"user:{username}")


def do_set_password(session: Session, *, actor: str, username: str, password: str) -> None:
    check_password(password)
    changed = session.execute(
        update(users)
        .where(users.c.username == username.strip().lower())
        .values(password_hash=_HASHER.hash(password))
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no user {username!r}")
    record_action(session, actor=actor, action="user.password_changed", subject=f"user:{username}")

"""Whom a principal held to a department may reach: the customers that department serves.

An agent's or department viewer's token or user may be held to one department of the journey
map (``cxm tokens create --role agent --department network``). Such a principal:

- sees a customer (profile, timeline, cases, summary…) only when the department serves them:
  one of the customer's cases is held by the department now or had activity there (a contact,
  a transfer, a data request made by it). ``check_reach`` is called wherever a person-level
  read is logged (``cxm.api.deps.viewed`` and the customer and case pages), so a route that
  shows a customer cannot forget it;
- reads aggregates only through its department's view (``/api/departments/{id}``, the
  department page), never the whole company's metrics.

Admins and analysts (who may change everything) are never held: ``ApiPrincipal.held_to``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxm.auth.service import ApiPrincipal
from cxm.cases.queries import served_by
from cxm.cases.tables import cases
from cxm.errors import Forbidden


def serves(session: Session, department: str, profile_id: str) -> bool:
    found = session.execute(
        select(cases.c.id).where(cases.c.profile_id == profile_id, served_by(department)).limit(1)
    ).first()
    return found is not None


def served_customers(department: str) -> Any:
    """A condition on ``profiles``: the department serves the customer (for lists)."""
    from cxm.identity.tables import profiles

    return profiles.c.id.in_(select(cases.c.profile_id).where(served_by(department)))


def check_reach(session: Session, principal: ApiPrincipal, profile_id: str) -> None:
    """Refuse (Forbidden) when ``principal`` is held to a department that does not serve the
    customer ``profile_id`` (a live profile id)."""
    department = principal.held_to
    if department is None:
        return
    if not serves(session, department, profile_id):
        raise Forbidden(
            f"'{principal.name}' is held to the department '{department}', which serves no "
            "case of this customer"
        )


def check_aggregates(principal: ApiPrincipal, department: str | None = None) -> None:
    """Refuse company-wide aggregates to a principal held to a department (``department``:
    the one a department view asks for, which must be theirs)."""
    held = principal.held_to
    if held is None or department == held:
        return
    if department is None:
        raise Forbidden(
            f"'{principal.name}' is held to the department '{held}': its figures are at "
            f"/api/departments/{held}"
        )
    raise Forbidden(f"'{principal.name}' is held to the department '{held}', not '{department}'")

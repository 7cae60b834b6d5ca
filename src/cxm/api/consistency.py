"""One truth across channels over REST: the registry of canonical facts, the conflicts found
between channels ranked by the customers who saw them, and duplicate accounts
(``cxm.consistency``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from cxm.api.bodies import definition, definition_body, read_document
from cxm.api.deps import get_workspace, require, require_aggregates, write_session
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.consistency import duplicate_accounts, find_conflicts, list_facts
from cxm.consistency.facts import Fact, do_load_facts, do_save_fact
from cxm.errors import InvalidInput
from cxm.workspace import Workspace

router = APIRouter(prefix="/api/consistency", tags=["consistency"])
require_read = require("read")
require_write = require("write")
_definition = definition("fact")


def fact_body(fact: Fact) -> dict[str, Any]:
    return {
        "id": fact.id, "name": fact.name, "kind": fact.kind, "department": fact.department,
        "currency": fact.currency,
        "values": [{"value": str(p.value), "from": p.start.isoformat(),
                    "to": p.end.isoformat() if p.end else None} for p in fact.periods],
        "observe": fact.observe, "statements": fact.statements,
    }  # fmt: skip


@router.get("", summary="Conflicts between channels, most exposed first, and duplicate accounts")
def conflicts(
    department: str | None = Query(None, max_length=100, description="Only this department's"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    report = find_conflicts(ws).to_dict()
    if department:
        report["conflicts"] = [c for c in report["conflicts"] if c["department"] == department]
    with ws.session() as s:
        duplicates = duplicate_accounts(s).to_dict()
    return JsonResponse({"ok": True, **report, "duplicate_accounts": duplicates})


@router.get("/facts", summary="Every canonical fact with its values and where it is stated")
def facts(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_read)
) -> JsonResponse:
    with ws.session() as s:
        found = list_facts(s)
    return JsonResponse({"ok": True, "facts": [fact_body(f) for f in found]})


@router.put(
    "/facts/{fact_id}",
    summary="Create or replace a fact (every problem listed)",
    openapi_extra=definition_body("fact"),
)
def save_fact(
    fact_id: str = Path(min_length=1, max_length=100),
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    data: Any = Depends(_definition),
) -> JsonResponse:
    if isinstance(data, dict) and data.setdefault("id", fact_id) != fact_id:
        raise InvalidInput(f"the body's id {data['id']!r} is not the address's {fact_id!r}")
    fact = do_save_fact(session, data=data, actor=principal.actor)
    session.commit()
    return JsonResponse({"ok": True, "fact": fact_body(fact)})


@router.post(
    "/load",
    summary="Save every fact of a YAML or JSON document (bad ones listed, good ones kept)",
    openapi_extra=definition_body("facts"),
)
def load(
    session: Session = write_session,
    principal: ApiPrincipal = Depends(require_write),
    text: str = Depends(read_document),
) -> JsonResponse:
    report = do_load_facts(session, text=text, actor=principal.actor)
    session.commit()
    return JsonResponse({"ok": not report.rejected, "saved": report.saved,
                         "rejected": [p.as_dict() for p in report.rejected]})  # fmt: skip

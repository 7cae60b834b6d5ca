"""The Consistency page: what each channel says against the canonical facts, the conflicts
most customers saw first, each with the department that owns the fact; and the people the
company pushed into a second account (``cxm.consistency``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from cxm.consistency import duplicate_accounts, find_conflicts, list_facts
from cxm.web.viewer import SignedIn, render_page, workspace_of

router = APIRouter(include_in_schema=False)


@router.get("/consistency", response_class=HTMLResponse)
def consistency_page(request: Request, viewer: SignedIn, department: str = "") -> Response:
    ws = workspace_of(request)
    report = find_conflicts(ws)
    with ws.session() as s:
        facts = list_facts(s)
        duplicates = duplicate_accounts(s)
    conflicts = [c for c in report.conflicts if not department or c.department == department]
    context = {
        "conflicts": conflicts,
        "facts": facts,
        "checked": report.checked,
        "conflicted": {c.fact for c in report.conflicts},
        "duplicates": duplicates,
        "department": department,
        "departments": sorted({f.department for f in facts if f.department}),
    }
    return render_page(request, "consistency.html", context, viewer=viewer, active="consistency")

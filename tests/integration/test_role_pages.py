"""The dashboard by role, on both stores, through real HTTP: an agent held to a department
lands on its inbox, sees only the customers it serves with their e-mails and phones masked,
changes its own cases and no other; a viewer held to a department lands on that department's
page and opens nothing else; an analyst opens every department."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from cxm.auth.users import do_create_user
from cxm.cases import do_open_case
from cxm.journeys.map import telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace
from helpers import journeys_for

pytestmark = pytest.mark.anyio
PASSWORD = "correct horse battery"
NOW = datetime(2026, 6, 15, tzinfo=UTC)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def sign_in(api: httpx.AsyncClient, username: str) -> httpx.Response:
    page = await api.get("/login")
    return await api.post("/login", data={"csrf_token": csrf(page.text), "username": username,
                                          "password": PASSWORD})  # fmt: skip


def company(workspace: Workspace) -> dict[str, str]:
    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test")
        for username, role, department in (("olek", "agent", "network"),
                                           ("wiola", "viewer", "network"),
                                           ("anna", "analyst", None)):  # fmt: skip
            do_create_user(s, actor="test", username=username, password=PASSWORD, role=role,
                           department=department)  # fmt: skip
    ids = journeys_for(workspace, {
        "ania": [{"type": "identify", "at": NOW.isoformat(), "traits": {
            "email": "ania.kowalska@example.pl", "phone": "+48601234567",
            "name": "Ania Kowalska"}}],
        "bartek": [{"type": "identify", "at": NOW.isoformat(), "traits": {
            "email": "bartek.nowak@example.pl", "name": "Bartek Nowak"}}],
    })  # fmt: skip
    with workspace.session() as s:
        mine = do_open_case(session=s, actor="test", policy=workspace.case_policy,
                            profile_id=ids["ania"], title="Brak internetu",
                            department="network")  # fmt: skip
        theirs = do_open_case(session=s, actor="test", policy=workspace.case_policy,
                              profile_id=ids["bartek"], title="Faktura za marzec",
                              department="billing")  # fmt: skip
    return {**ids, "mine": mine.ref, "theirs": theirs.ref}


async def test_an_agent_serves_its_departments_customers_masked(
    api: httpx.AsyncClient, workspace: Workspace
) -> None:
    known = company(workspace)
    landed = await sign_in(api, "olek")
    assert landed.status_code == 303 and landed.headers["location"] == "/cases"
    inbox = (await api.get("/cases")).text
    assert "Brak internetu" in inbox and "Faktura za marzec" not in inbox
    listed = (await api.get("/customers")).text
    assert "Ania Kowalska" in listed and "Bartek Nowak" not in listed
    assert "ania.kowalska@example.pl" not in listed and "a***@example.pl" in listed

    page = await api.get(f"/customers/{known['ania']}")
    assert page.status_code == 200
    assert "ania.kowalska@example.pl" not in page.text and "601234567" not in page.text
    assert "Ania Kowalska" in page.text  # the name an agent greets the customer by stays
    other = await api.get(f"/customers/{known['bartek']}")
    assert other.status_code == 403 and "network" in other.text
    assert (await api.get(f"/cases/{known['theirs']}")).status_code == 403
    timeline = await api.get(f"/customers/{known['bartek']}/timeline",
                             headers={"HX-Request": "true"})  # fmt: skip
    assert timeline.status_code == 403

    case_page = await api.get(f"/cases/{known['mine']}")
    assert case_page.status_code == 200 and 'id="cs-change"' in case_page.text
    token = csrf(case_page.text)
    changed = await api.post(f"/cases/{known['mine']}/change",
                             data={"csrf_token": token, "note": "Technik umówiony"})  # fmt: skip
    assert changed.status_code == 303
    refused = await api.post(f"/cases/{known['theirs']}/change",
                             data={"csrf_token": token, "note": "x"})  # fmt: skip
    assert refused.status_code == 403
    for path in ("/overview", "/metrics", "/departments", "/insights", "/automation"):
        assert (await api.get(path)).status_code == 403, path


async def test_a_viewer_opens_only_its_departments_page(
    api: httpx.AsyncClient, workspace: Workspace
) -> None:
    company(workspace)
    landed = await sign_in(api, "wiola")
    assert landed.status_code == 303 and landed.headers["location"] == "/departments/network"
    page = await api.get("/departments/network")
    assert page.status_code == 200
    assert "Network operations" in page.text and 'id="dp-touchpoints"' in page.text
    assert 'href="/departments/network"' in page.text  # its sidebar leads to its own page
    for path in ("/departments", "/departments/billing", "/customers", "/cases", "/metrics",
                 "/overview", "/journey", "/text"):  # fmt: skip
        assert (await api.get(path)).status_code == 403, path


async def test_an_analyst_opens_every_department(
    api: httpx.AsyncClient, workspace: Workspace
) -> None:
    company(workspace)
    assert (await sign_in(api, "anna")).headers["location"] == "/overview"
    listed = await api.get("/departments")
    assert listed.status_code == 200
    assert 'data-department="network"' in listed.text and 'data-department="billing"' in listed.text
    one = await api.get("/departments/billing?cx=nps")
    assert one.status_code == 200 and "Billing and finance" in one.text
    assert (await api.get("/departments/billing?cx=weather")).status_code == 400
    assert (await api.get("/departments/nowhere")).status_code == 404
    customer = await api.get("/customers/ania.kowalska@example.pl", follow_redirects=True)
    assert "ania.kowalska@example.pl" in customer.text  # analysts see personal data

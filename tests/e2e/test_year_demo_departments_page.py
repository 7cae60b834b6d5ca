"""The Departments pages in Debian's Chromium over a year of the demo company: every
department with its figures, the call centre's page with its touchpoints, the monthly chart of
customers' and staff's experience and the correlation as the API reports it; a viewer held to
the call centre signs in with a password and lands on its page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from cxm.auth.users import do_create_user
from cxm.config import Settings
from cxm.workspace import Workspace
from helpers import YearDemo, bearer, running_server, sign_in_browser

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def served(year_demo: YearDemo) -> Iterator[str]:
    with Workspace.open(settings=Settings(workspace=year_demo.path)) as ws, ws.session() as s:
        do_create_user(s, actor="test", username="kasia", password=PASSWORD, role="viewer",
                       department="call-centre")  # fmt: skip
    with running_server(year_demo.path, env={"CXM_INSIGHTS_INTERVAL_S": "3600"}) as url:
        yield url


def test_the_departments_pages_show_what_the_api_finds(
    page: Page, served: str, year_demo: YearDemo
) -> None:
    view = httpx.get(f"{served}/api/departments/call-centre", headers=bearer(year_demo.token),
                     timeout=60).json()["department"]  # fmt: skip
    sign_in_browser(page, served, year_demo.token, "/departments")
    expect(page.locator("#dp-list tbody tr")).to_have_count(11)
    expect(page.locator("#dp-list tr[data-department=hr]")).to_contain_text("withheld")
    page.locator("#dp-list tr[data-department=call-centre] a").click()
    expect(page).to_have_url(re.compile("/departments/call-centre$"))
    expect(page.locator("#dp-name")).to_have_text("Call centre")
    expect(page.locator("#dp-touchpoints tbody tr")).to_have_count(len(view["touchpoints"]))
    expect(page.locator("#dp-months tbody tr")).to_have_count(12)
    expect(page.locator(".dp-chart canvas")).to_have_count(1)
    link = view["link"]
    if link["r"] is not None:
        expect(page.locator("#dp-link-result")).to_contain_text(f"r = {link['r']:.2f}")
    else:
        expect(page.locator("#dp-link-result")).to_contain_text(link["reason"])
    # Another customer measure, chosen on the page.
    page.select_option("select[name=cx]", "effort_index")
    page.locator("#dp-link button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"cx=effort_index"))
    expect(page.locator("#dp-months thead")).to_contain_text("Effort index")


def test_a_held_viewer_lands_on_its_department(page: Page, served: str) -> None:
    page.goto(served + "/login")
    page.fill("input[name=username]", "kasia")
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/departments/call-centre$"))
    expect(page.locator(".nav a")).to_have_count(1)
    response = page.goto(served + "/departments/retail")
    assert response is not None and response.status == 403

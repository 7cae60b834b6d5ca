"""The Cases pages in Debian's Chromium over the demo company: the broken journey (branch →
phone menu and agent, transferred → technician) is one case whose page tells the whole story,
with its handoffs and the times the customer was asked again; the inbox filters; an agent
updates a case from its page."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from helpers import LiveDemo, bearer, sign_in_browser


def _cases(demo: LiveDemo, **params: Any) -> dict[str, Any]:
    response = httpx.get(demo.url + "/api/cases", params=params, headers=bearer(demo.token),
                         timeout=60)  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_broken_journey_is_one_case_on_its_page(page: Page, live_demo: LiveDemo) -> None:
    every = _cases(live_demo, status=["open", "pending", "resolved", "closed"], limit=500)
    assert every["total"] > 20
    candidates = [
        c for c in every["cases"]
        if c["touchpoint"] == "branch-issue" and c["contacts"] >= 3 and c["handoffs"] >= 2
    ]  # fmt: skip
    broken = []
    for c in sorted(candidates, key=lambda c: (c["contacts"], c["ref"])):
        one = httpx.get(f"{live_demo.url}/api/cases/{c['ref']}", headers=bearer(live_demo.token))
        activity = one.json()["case"]["activity"]
        channels = {a["channel"] for a in activity if a["kind"] == "contact"}
        if {"branch", "field_service"} <= channels and channels & {"ivr", "phone"}:
            broken.append((c, activity))
    assert broken, "the demo's broken journeys should be cases across channels"
    case, activity = broken[0]
    assert any(a["kind"] == "transfer" for a in activity)
    assert case["asked_again"] >= 2

    sign_in_browser(page, live_demo.url, live_demo.token, f"/cases/{case['ref']}")
    facts = page.locator("#cs-facts")
    expect(facts.locator("[data-contacts]")).to_have_attribute(
        "data-contacts", str(case["contacts"])
    )
    expect(facts.locator("[data-handoffs]")).to_have_attribute(
        "data-handoffs", str(case["handoffs"])
    )
    expect(facts.locator("[data-asked-again]")).to_have_attribute(
        "data-asked-again", str(case["asked_again"])
    )
    steps = page.locator("#cs-activity li")
    expect(steps).to_have_count(len(activity))
    expect(page.locator("#cs-activity li[data-kind='transfer']").first).to_be_visible()
    asks = page.locator("#cs-activity li[data-kind='data_request']")
    expect(asks.first).to_be_visible()
    # Fields the profile already held are marked on the requests.
    expect(page.locator("#cs-activity .cs-known").first).to_be_visible()


def test_the_inbox_filters_and_an_agent_updates_a_case(page: Page, live_demo: LiveDemo) -> None:
    sign_in_browser(page, live_demo.url, live_demo.token, "/cases?status=all")
    rows = page.locator("#cs-inbox tbody tr")
    expect(rows.first).to_be_visible()
    total = _cases(live_demo, status=["open", "pending", "resolved", "closed"])["total"]
    expect(page.locator("#cs-inbox-title + .card-sub")).to_contain_text(str(total))
    # Filter by department: every row is held by that department.
    page.select_option("#cs-filters select[name=department]", "field-service")
    page.locator("#cs-filters button").click()
    expect(page).to_have_url(re.compile(r"department=field-service"))
    held = _cases(live_demo, status=["open", "pending", "resolved", "closed"],
                  department="field-service", limit=500)  # fmt: skip
    if held["total"]:
        expect(rows.first).to_be_visible()
        expect(rows).to_have_count(min(held["total"], 50))
    else:
        expect(page.locator("#cs-empty")).to_be_visible()
    # The asked-again card lists touchpoints with the share asked for what was known.
    expect(page.locator("#cs-asked tbody tr").first).to_be_visible()

    # An agent reopens a resolved case and adds a note, from the case's page.
    ref = _cases(live_demo, status=["resolved"], limit=1)["cases"][0]["ref"]
    page.goto(f"{live_demo.url}/cases/{ref}")
    page.select_option("#cs-change select[name=status]", "open")
    page.fill("#cs-change textarea[name=note]", "Called back: the fault is back")
    page.locator("#cs-change button").click()
    expect(page.locator("#cs-activity li[data-kind='note']").last).to_contain_text(
        "Called back: the fault is back"
    )
    after = httpx.get(f"{live_demo.url}/api/cases/{ref}", headers=bearer(live_demo.token)).json()
    assert after["case"]["status"] == "open" and after["case"]["reopened"] >= 1

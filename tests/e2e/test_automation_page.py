"""The Automation and Insights pages in Debian's Chromium over the demo company: the demo's
rules with their firings, a rule's simulation over past events matching the API's, turning a
rule off and on, and the association report."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
from playwright.sync_api import Page, expect

from helpers import LiveDemo, bearer, sign_in_browser


def test_rules_simulation_and_switching(page: Page, live_demo: LiveDemo) -> None:
    sign_in_browser(page, live_demo.url, live_demo.token, "/automation")
    api = httpx.get(f"{live_demo.url}/api/automation/rules", headers=bearer(live_demo.token))
    names = [r["name"] for r in api.json()["rules"]]
    assert "detractor-callback" in names
    rows = page.locator("#au-rules tbody tr")
    expect(rows).to_have_count(len(names))
    page.locator("#au-rules tr[data-rule='detractor-callback'] a").click()
    expect(page).to_have_url(re.compile(r"/automation/rules/detractor-callback$"))
    expect(page.locator("#au-yaml")).to_contain_text("score")

    # Simulate the last 60 days: the page shows what the API computes.
    start = (date.today() - timedelta(days=60)).isoformat()
    end = (date.today() + timedelta(days=1)).isoformat()
    page.fill("#au-simulate input[name=start]", start)
    page.fill("#au-simulate input[name=end]", end)
    page.locator("#au-simulate button").click()
    sim = httpx.get(
        f"{live_demo.url}/api/automation/rules/detractor-callback/simulate",
        params={"start": start, "end": end},
        headers=bearer(live_demo.token),
        timeout=60,
    ).json()["simulation"]
    assert sim["triggers"] > 0 and sim["would_fire"] > 0
    result = page.locator("#au-sim-result")
    expect(result.locator("[data-key=triggers]")).to_have_text(f"{sim['triggers']:,}")
    expect(result.locator("[data-key=would_fire]")).to_have_text(f"{sim['would_fire']:,}")

    # Off and on again, from the page.
    page.locator("#au-switch button").click()
    expect(page.locator("#au-rule-name .badge")).to_have_text(re.compile("off|wyłączona"))
    rule = httpx.get(f"{live_demo.url}/api/automation/rules/detractor-callback",
                     headers=bearer(live_demo.token)).json()["rule"]  # fmt: skip
    assert rule["enabled"] is False
    page.locator("#au-switch button").click()
    expect(page.locator("#au-rule-name .badge")).to_have_text(re.compile("on|włączona"))


def test_the_insights_page_lists_what_the_api_finds(page: Page, live_demo: LiveDemo) -> None:
    sign_in_browser(page, live_demo.url, live_demo.token, "/insights?all=true")
    body = httpx.get(f"{live_demo.url}/api/insights/associations",
                     headers=bearer(live_demo.token), timeout=60).json()  # fmt: skip
    if body["rules"]:
        expect(page.locator("#in-rules tbody tr")).to_have_count(len(body["rules"]))
        first = body["rules"][0]
        row = page.locator(f"#in-rules tr[data-problem='{first['problem_id']}']").first
        expect(row).to_be_visible()
    else:
        expect(page.locator("#in-empty")).to_be_visible()
    expect(page.locator("section[aria-labelledby=in-assoc-title] .card-sub")).to_contain_text(
        str(body["customers"])
    )


def test_a_rule_written_on_the_page_is_checked_then_saved(page: Page, live_demo: LiveDemo) -> None:
    sign_in_browser(page, live_demo.url, live_demo.token, "/automation")
    editor = page.locator("#au-new textarea")
    editor.fill("name: Bad Name\ntrigger: {event: X}\nactions: [{sms: {text: hi}}]\n")
    page.locator("#au-new button").click()
    problems = page.locator("#au-problems li")
    expect(problems).to_have_count(2)
    expect(page.locator("#au-problems")).to_contain_text("sms")
    expect(editor).to_have_value(re.compile("Bad Name"))  # the draft is kept
    editor.fill(
        "name: written-in-the-browser\ntrigger: {score: {kind: csat, below: 3}}\n"
        "actions:\n  - nudge: {message: 'Przykro nam, {{ first_name }}'}\n"
    )
    page.locator("#au-new button").click()
    expect(page).to_have_url(re.compile(r"/automation/rules/written-in-the-browser$"))
    rule = httpx.get(f"{live_demo.url}/api/automation/rules/written-in-the-browser",
                     headers=bearer(live_demo.token)).json()["rule"]  # fmt: skip
    assert rule["trigger"] == {"score": {"kind": "csat", "below": 3.0}} and rule["enabled"]

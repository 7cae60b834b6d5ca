"""The Journey page in Debian's Chromium over the demo company: the wall, the department
filter, a touchpoint's detail with its Sankey, and a funnel that agrees with the REST API."""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import Locator, Page, expect

from cxm.journeys import default_journey_map
from helpers import LiveDemo, bearer, sign_in_browser

FUNNEL = ["offer-pages", "subscription-start", "app-activation"]


def sign_in(page: Page, demo: LiveDemo, target: str) -> None:
    sign_in_browser(page, demo.url, demo.token, target)


def test_wall_department_filter_and_touchpoint_detail(page: Page, live_demo: LiveDemo) -> None:
    journey = default_journey_map()
    sign_in(page, live_demo, "/journey")
    expect(page.locator("h1")).to_have_text("Customer journey")
    expect(page.locator(".nav-link.is-active")).to_contain_text("Journey")

    stages = page.locator(".jm-stage")
    expect(stages.locator("h2")).to_have_text([s.name for s in journey.stages])
    cards = page.locator(".jm-card")
    expect(cards).to_have_count(len(journey.touchpoints))
    health = {cards.nth(i).get_attribute("data-health") for i in range(cards.count())}
    assert {"good", "no-data"} <= health and health <= {"good", "watch", "poor", "no-data"}
    # A healthy card is drawn in green: the colour comes from its health class.
    good = page.locator(".jm-card.health-good").first
    colour = good.evaluate("el => getComputedStyle(el).borderLeftColor")
    assert colour == "rgb(22, 163, 74)"
    expect(page.locator(".jm-legend")).to_contain_text("contact-after rate")
    engage = stages.filter(has=page.locator("h2", has_text="Engagement"))
    assert (
        int(engage.locator(".jm-stage-stats [data-stat=customers]").inner_text().replace(",", ""))
        > 0
    )

    for department in ("billing", "network"):
        influenced = [t for t in journey.touchpoints if t.influence.get(department, 0) > 0]
        page.select_option("#journey-department", department)
        expect(page.locator(".jm-card.is-influenced")).to_have_count(len(influenced))
        expect(page.locator(".jm-card.is-dimmed")).to_have_count(
            len(journey.touchpoints) - len(influenced)
        )
        strongest = max(influenced, key=lambda t: t.influence[department])
        card = page.locator(f".jm-card[data-touchpoint='{strongest.id}']")
        weight = round(100 * strongest.influence[department])
        expect(card.locator("[data-weight]")).to_have_text(f"Influence {weight}%")
        expect(card.locator(".jm-chip.is-selected")).to_have_count(1)
        expect(page).to_have_url(re.compile(f"department={department}"))
    page.select_option("#journey-department", "")
    expect(page.locator(".jm-card.is-dimmed")).to_have_count(0)

    page.locator(".jm-card[data-touchpoint='offer-pages']").click()
    detail = page.locator("#journey-detail")
    expect(detail.locator("h2")).to_have_text("Offer pages")
    expect(detail.locator(".jm-sankey canvas")).to_have_count(1)
    out = detail.locator("table.jm-paths[data-direction=out] tbody tr")
    expect(out.first.locator(".jm-path")).to_have_text(re.compile(r"^Offer pages → "))
    assert out.count() >= 3
    into = detail.locator("table.jm-paths[data-direction=in] tbody tr")
    expect(into.first.locator(".jm-path")).to_have_text(re.compile(r"→ Offer pages$"))
    detail.get_by_role("button", name="Close").click()
    expect(detail.locator("h2")).to_have_count(0)


def test_funnel_matches_the_api(page: Page, live_demo: LiveDemo) -> None:
    sign_in(page, live_demo, "/journey")
    result = page.locator("#journey-funnel-result")
    expect(result.locator("tbody tr")).to_have_count(3)  # the default funnel, shown at once

    for position, step in enumerate([*FUNNEL, "", ""], start=1):
        page.select_option(f"select[data-funnel-step='{position}']", step)
    page.fill("input[name=window]", "30")
    page.get_by_role("button", name="Show funnel").click()
    rows = result.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-step", FUNNEL[0])
    expect(result.locator(".jm-funnel-chart canvas")).to_have_count(1)

    with httpx.Client(base_url=live_demo.url, trust_env=False) as api:
        response = api.post(
            "/api/journeys/funnel",
            json={"steps": FUNNEL, "window_days": 30},
            headers=bearer(live_demo.token),
        )
    assert response.status_code == 200, response.text
    expected = response.json()["rows"]
    assert [r["label"] for r in expected] == FUNNEL and expected[0]["customers"] > 0
    chart = json.loads(result.locator(".jm-funnel-chart").get_attribute("data-chart") or "{}")
    assert chart["series"][0]["data"] == [r["customers"] for r in expected]
    for row, want in zip(rows.all(), expected, strict=True):
        assert row.get_attribute("data-step") == want["label"]
        assert number(row, "customers") == want["customers"]
        assert number(row, "drop_off") == want["drop_off"]
        assert row.locator("[data-col=conversion]").inner_text() == percent(want["conversion"])
    # Time to convert is humanised: the later steps take days on the demo.
    expect(rows.last.locator("[data-col=median_time]")).to_have_text(re.compile(r" days?$"))

    # The browser refuses a window out of range; a hand-made URL gets the server's message.
    page.goto(live_demo.url + "/journey?step=offer-pages&step=nope&window=7#funnel")
    expect(result.locator(".alert-error")).to_have_text(
        "There is no touchpoint “nope” in the journey map."
    )
    expect(page.locator(".jm-card")).not_to_have_count(0)


def number(row: Locator, column: str) -> int:
    return int(row.locator(f"[data-col={column}]").inner_text().replace(",", ""))


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.0f}%"

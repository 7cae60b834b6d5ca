"""The Insights page in Debian's Chromium over a year of the demo company: what could not be
worked out and why, the drivers of churn and NPS as the API reports them, each department's
fix-first list, the outage alert, the experience score with its baseline; and a customer's
outlook on their page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from helpers import YearDemo, bearer, running_server, sign_in_browser


@pytest.fixture(scope="module")
def served(year_demo: YearDemo) -> Iterator[str]:
    # The worker's own insights run would only repeat the build's: an hour is never reached.
    with running_server(year_demo.path, env={"CXM_INSIGHTS_INTERVAL_S": "3600"}) as url:
        yield url


def test_the_insights_page_shows_what_the_api_finds(
    page: Page, served: str, year_demo: YearDemo
) -> None:
    headers = bearer(year_demo.token)
    drivers = httpx.get(f"{served}/api/insights/drivers", headers=headers, timeout=60).json()
    alerts = httpx.get(f"{served}/api/insights/alerts", headers=headers, timeout=60).json()
    sign_in_browser(page, served, year_demo.token, "/insights")

    # A year of 1,000 customers holds too few churners for a churn model: the page says so.
    refused = page.locator("#in-refused li[data-step=train]")
    expect(refused).to_contain_text("each group needs at least 30")
    expect(page.locator("#in-kpi-model .kpi-value")).to_have_text("–")

    # The drivers, in the API's order, with the planted repair journey among them.
    for outcome in ("churn", "nps"):
        rows = page.locator(f"#in-drivers-{outcome} tbody tr")
        listed = drivers["analyses"][outcome]["drivers"][:10]
        expect(rows).to_have_count(len(listed))
        first = listed[0]
        expect(rows.first).to_have_attribute("data-driver", f"{first['kind']}:{first['key']}")
    churn_rows = page.locator("#in-drivers-churn tbody tr.is-significant")
    expect(churn_rows.filter(has_text="Asked again for data we held")).to_have_count(1)
    expect(page.locator("#in-drivers-churn")).to_contain_text("Identity check in the phone menu")

    # Each department's list; the field technicians' starts with the repair journey.
    field = page.locator(".in-fix[data-department=field-service]")
    expect(field.locator("li").first).to_contain_text(re.compile("Technician|Repair"))

    # The outage alert, as the API lists it.
    expect(page.locator("#in-alerts-table tbody tr")).to_have_count(len(alerts["alerts"]))
    series = alerts["alerts"][0]["series"]
    expect(page.locator(f"#in-alerts-table tr[data-series='{series}']")).to_contain_text(
        "expected about"
    )
    expect(page.locator("#in-kpi-alerts")).to_have_class(re.compile("kpi-warn"))

    # The experience score, beside the baseline it has to beat.
    expect(page.locator("#in-exp-accuracy")).to_contain_text("guessing the usual band")


def test_a_customer_page_shows_the_likely_nps_group(
    page: Page, served: str, year_demo: YearDemo
) -> None:
    cards = httpx.get(f"{served}/api/profiles?limit=1", headers=bearer(year_demo.token)).json()
    profile_id = cards["profiles"][0]["id"]
    sign_in_browser(page, served, year_demo.token, f"/customers/{profile_id}")
    expect(page.locator("#outlook-experience")).to_contain_text(
        re.compile("Likely NPS group: (detractors|passives|promoters)")
    )
    # No churn model, so no risk is shown, and the API says why.
    expect(page.locator("#outlook-risk")).to_have_count(0)
    missing = httpx.get(f"{served}/api/profiles/{profile_id}/churn",
                        headers=bearer(year_demo.token))  # fmt: skip
    assert missing.status_code == 404 and "no churn score" in missing.json()["message"]

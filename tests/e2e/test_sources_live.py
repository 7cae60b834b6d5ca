"""The Sources page in Debian's Chromium: an SDK sends an event, the live panel shows it.

No asyncio here: Playwright's sync API owns this module's event loop (see tests/conftest.py).
"""

from __future__ import annotations

import re
import secrets

import httpx
from playwright.sync_api import Page, expect
from segment.analytics.client import Client

from helpers import LiveDemo, bearer


def sign_in(page: Page, demo: LiveDemo) -> None:
    page.goto(demo.url + "/login")
    page.fill("input[name=token]", demo.token)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/overview$"))


def create_source(demo: LiveDemo, name: str) -> str:
    """A new web source through the REST API; returns its write key."""
    with httpx.Client(base_url=demo.url, headers=bearer(demo.token)) as client:
        response = client.post("/api/sources", json={"name": name, "channel": "web"})
    assert response.status_code == 201, response.text
    key: str = response.json()["write_key"]
    return key


def test_an_event_sent_with_the_segment_sdk_appears_live_and_links_to_its_customer(
    page: Page, live_demo: LiveDemo
) -> None:
    sign_in(page, live_demo)
    page.get_by_role("link", name="Sources", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sources$"))
    expect(page.locator("h1")).to_have_text("Sources")
    expect(page.locator("#ingest-url")).to_have_text(live_demo.url + "/v1/batch")
    # The demo's sources are listed with their activity; the newest events are already shown.
    expect(page.locator(".sources-table tbody tr").first).to_contain_text("website")
    expect(page.locator("#live-events li.live-item").first).to_be_visible()

    user_id = f"E2E-{secrets.token_hex(4)}"
    errors: list[object] = []
    sdk = Client(
        write_key=create_source(live_demo, f"e2e-site-{secrets.token_hex(3)}"),
        host=live_demo.url,
        sync_mode=True,
        on_error=lambda error, batch: errors.append(error),
        max_retries=1,
    )
    sdk.track(user_id=user_id, event="Checkout Started", properties={"note": "<b>hi</b>"})
    sdk.flush()
    assert errors == []

    # It shows up without a reload (the panel polls every 3 s) ...
    row = page.locator("#live-events li.live-item", has_text=user_id)
    expect(row).to_have_count(1, timeout=10_000)
    expect(row).to_contain_text("Checkout Started")
    expect(row.locator("code.type-tag")).to_have_text("track")
    # ... and once the server's projector has placed it, it links to the customer 360.
    link = row.locator("a.live-profile")
    expect(link).to_be_visible(timeout=15_000)
    expect(row.locator(".badge-wait")).to_have_count(0)

    row.locator("details summary").click()
    expect(row.locator("details pre")).to_contain_text('"note": "<b>hi</b>"')
    profile_id = link.inner_text().strip()
    link.click()
    expect(page).to_have_url(re.compile(rf"/customers/{profile_id}$"))
    expect(page.locator("#timeline-list")).to_contain_text("Checkout Started")


def test_the_source_filter_swaps_only_the_live_panel(page: Page, live_demo: LiveDemo) -> None:
    sign_in(page, live_demo)
    page.goto(live_demo.url + "/sources")
    page.evaluate("window.cxmSameDocument = true")
    page.select_option("#live-source", "call-centre")
    expect(page).to_have_url(re.compile(r"/sources\?source=call-centre$"))
    items = page.locator("#live-events li.live-item")
    expect(items.first).to_be_visible()
    sources = items.locator(".live-source-name").all_inner_texts()
    assert sources and set(sources) == {"call-centre"}
    # No navigation: htmx swapped the panel in this same document and pushed the URL.
    assert page.evaluate("window.cxmSameDocument === true")
    expect(page.locator("#live-poll")).to_have_attribute("hx-get", re.compile("source=call-centre"))

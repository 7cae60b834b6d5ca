"""The dashboard in Debian's Chromium: sign in, find a customer, read their whole history."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from helpers import LiveDemo


def sign_in(page: Page, demo: LiveDemo) -> None:
    page.goto(demo.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=token]", demo.token)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/overview$"))


def test_sign_in_search_and_see_the_cross_channel_timeline(page: Page, live_demo: LiveDemo) -> None:
    sign_in(page, live_demo)
    expect(page.locator("h1")).to_have_text("Overview")

    page.get_by_role("link", name="Customers").first.click()
    surname = live_demo.customer.display_name.split()[-1]  # type: ignore[union-attr]
    page.fill("input[name=q]", surname)
    row = page.locator("#customer-rows a", has_text=live_demo.customer.display_name)
    expect(row.first).to_be_visible()
    row.first.click()

    expect(page).to_have_url(re.compile(rf"/customers/{live_demo.customer.id}"))
    expect(page.locator("h1")).to_contain_text(live_demo.customer.display_name)
    items = page.locator("#timeline-list li.tl-item")
    expect(items.first).to_be_visible()
    # The timeline mixes channels: every channel this customer used shows up on the page.
    while page.locator(".tl-more a").count():
        before = items.count()
        page.locator(".tl-more a").click()
        expect(items).not_to_have_count(before)
    seen = {
        cls.split("ch-")[1].split()[0]
        for cls in items.evaluate_all("els => els.map(e => e.className)")
    }
    assert seen == set(live_demo.customer.channels)
    assert len(seen) >= 4
    assert items.count() == live_demo.customer.event_count


def test_polish_interface_and_sign_out(page: Page, live_demo: LiveDemo) -> None:
    sign_in(page, live_demo)
    page.get_by_role("link", name="PL", exact=True).click()
    expect(page.locator("h1")).to_have_text("Przegląd")
    page.goto(f"{live_demo.url}/customers/{live_demo.customer.id}")
    expect(page.get_by_text("Co już wiemy")).to_be_visible()
    page.get_by_role("button", name=re.compile("Wyloguj")).click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(f"{live_demo.url}/customers/{live_demo.customer.id}")
    expect(page).to_have_url(re.compile(r"/login"))


def test_wrong_token_is_refused(page: Page, live_demo: LiveDemo) -> None:
    page.goto(live_demo.url + "/login")
    page.fill("input[name=token]", "cxm_wrong")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator(".alert, .error, [role=alert]").first).to_be_visible()

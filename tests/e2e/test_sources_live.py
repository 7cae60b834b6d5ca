"""The Sources page in Debian's Chromium: an SDK sends an event, the live panel shows it.

No asyncio here: Playwright's sync API owns this module's event loop (see tests/conftest.py).
"""

from __future__ import annotations

import re
import secrets
import time

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


# A Polish call-centre export as Excel writes it: Windows-1250, semicolons, local day-first times.
EXPORT = (
    "Nr zgłoszenia;Data;Telefon;Notatki\r\n"
    "E2E-1;07.12.2026 14:35;601 234 567;Klient zgłasza brak internetu; router miga\r\n"
    'E2E-2;01.07.2026 09:00;+48 602 000 111;"Pyta o fakturę; korekta za żółty abonament"\r\n'
).encode("cp1250")


def test_a_file_imported_on_the_page_lands_on_the_customers_timeline(
    page: Page, live_demo: LiveDemo
) -> None:
    sign_in(page, live_demo)
    page.goto(live_demo.url + "/sources")
    page.locator("#import-link").click()
    expect(page).to_have_url(re.compile(r"/sources/import$"))
    form = page.locator("#im-form")
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "zgłoszenia.csv", "mimeType": "text/csv", "buffer": EXPORT}]
    )
    form.locator("select[name=source]").select_option("call-centre")
    form.locator("textarea[name=columns]").fill(
        "messageId = Nr zgłoszenia\ntimestamp = Data\nphone = Telefon\ntext = Notatki"
    )
    form.locator("textarea[name=constants]").fill("event = Call Handled")
    form.locator("select[name=encoding]").select_option("cp1250")
    form.locator("input[name=date_format]").fill("%d.%m.%Y %H:%M")
    form.locator("input[name=timezone]").fill("Europe/Warsaw")
    form.get_by_role("button", name="Import", exact=True).click()

    expect(page.locator("#im-summary")).to_have_text(
        "New events stored: 1 · already present: 0 · rows rejected: 1"
    )
    rejected = page.locator("#im-rejected tbody tr")
    expect(rejected).to_have_count(1)
    expect(rejected.first).to_contain_text("zgłoszenia.csv:2")
    expect(rejected.first).to_contain_text("the row has 5 fields, the header has 4")
    # What was chosen stays in the form, to fix the file and send it again.
    expect(form.locator("select[name=encoding]")).to_have_value("cp1250")

    # The stored call is on its customer's timeline, Polish letters intact, at 09:00 Warsaw
    # time (07:00 UTC in summer).
    profile_id = None
    with httpx.Client(base_url=live_demo.url, headers=bearer(live_demo.token)) as client:
        deadline = time.monotonic() + 20  # the server's worker places new events in seconds
        while profile_id is None and time.monotonic() < deadline:
            found = client.get("/api/profiles/+48602000111")
            if found.status_code == 200:
                profile_id = found.json()["profile"]["id"]
            else:
                time.sleep(0.5)
    assert profile_id, found.text
    page.goto(live_demo.url + f"/customers/{profile_id}")
    item = page.locator("#timeline-list li", has_text="korekta za żółty abonament")
    expect(item).to_have_count(1, timeout=15_000)
    expect(item.locator("time").first).to_have_attribute(
        "datetime", re.compile(r"^2026-07-01T07:00:00(\+00:00|Z)$")
    )

"""The Text page in Debian's Chromium over the demo company: topics × sentiment, trending
complaints, a search in Polish that finds Russian and English texts, and a topic renamed and
pinned from its page."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from helpers import LiveDemo, bearer, sign_in_browser


def sign_in(page: Page, demo: LiveDemo, target: str) -> None:
    sign_in_browser(page, demo.url, demo.token, target)


def test_text_page_topics_search_and_curation(page: Page, live_demo: LiveDemo) -> None:
    sign_in(page, live_demo, "/text")
    rows = page.locator("#tx-topics tbody tr")
    expect(rows.first).to_be_visible()
    api = httpx.get(live_demo.url + "/api/text/topics", headers=bearer(live_demo.token), timeout=60)
    topics = api.json()["topics"]
    expect(rows).to_have_count(len(topics))
    # The page shows the API's counts, and a sentiment bar per topic.
    first = topics[0]
    row = page.locator(f"#tx-topics tr[data-topic='{first['id']}']")
    expect(row.locator("td").first).to_have_text(str(first["texts"]))
    expect(row.locator(".tx-bar")).to_be_visible()
    # Topics hold texts in several languages (they form by theme, not by language).
    assert max(len(t["languages"]) for t in topics) >= 2

    # A Polish search about a bill finds texts in other languages too.
    page.fill(".tx-search input[name=q]", "za wysoki rachunek, proszę o zwrot pieniędzy")
    page.locator(".tx-search button").click()
    expect(page).to_have_url(re.compile(r"/text\?q="))
    hits = page.locator("#tx-hits .tx-verbatim")
    expect(hits.first).to_be_visible()
    languages = set(page.locator("#tx-hits .tx-lang").all_inner_texts())
    assert len({lang.strip().lower() for lang in languages}) >= 2, languages

    # Rename and pin a topic from its page.
    page.locator(f"#tx-topics tr[data-topic='{first['id']}'] a").click()
    expect(page).to_have_url(re.compile(rf"/text/topics/{first['id']}$"))
    expect(page.locator("#tx-keyphrases dt").first).to_be_visible()
    expect(page.locator("#tx-verbatims .tx-verbatim").first).to_be_visible()
    page.fill("#tx-rename input[name=name]", "Renamed in the browser")
    page.locator("#tx-rename button").click()
    expect(page.locator("#tx-topic-name")).to_contain_text("Renamed in the browser")
    page.locator("#tx-pin button").click()
    expect(page.locator("#tx-topic-name .tx-pill")).to_be_visible()
    after = httpx.get(live_demo.url + "/api/text/topics", headers=bearer(live_demo.token))
    mine = next(t for t in after.json()["topics"] if t["id"] == first["id"])
    assert mine["name"] == "Renamed in the browser" and mine["pinned"]

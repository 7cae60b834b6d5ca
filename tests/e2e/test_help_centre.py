"""The public help centre in Debian's Chromium over the demo company, signed out: a Russian
question answered with the article that has no Russian version, saying so; the article page
and its other languages; the embeddable widget searching from another page; every search and
view reaching the help-centre source as events."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from helpers import LiveDemo, bearer

ROAMING_RU = "будет ли работать телефон в отпуске в Испании"


def test_a_question_in_russian_finds_the_article_it_lacks(page: Page, live_demo: LiveDemo) -> None:
    page.goto(live_demo.url + "/help?lang=ru")
    expect(page.locator("h1")).to_have_text("Центр помощи")
    page.fill("input[name=q]", ROAMING_RU)
    page.keyboard.press("Enter")
    first = page.locator("#hc-results .hc-hit").first
    expect(first).to_have_attribute("data-article", "roaming")
    expect(first.locator(".hc-fallback")).to_contain_text("Пока нет на русском")
    first.locator("a").click()
    expect(page).to_have_url(re.compile(r"/help/articles/roaming\?lang=ru"))
    expect(page.locator("#hc-fallback")).to_be_visible()
    page.locator(".hc-langs a[hreflang=pl]").click()
    expect(page.locator("#hc-title")).to_have_text("Telefon za granicą (roaming)")
    expect(page.locator("#hc-fallback")).to_have_count(0)


def test_the_widget_searches_from_another_page(page: Page, live_demo: LiveDemo) -> None:
    page.set_content(
        '<html lang="en"><body><div data-cxm-help data-lang="en"></div>'
        f'<script src="{live_demo.url}/help/widget.js"></script></body></html>'
    )
    page.fill("[data-cxm-help] input[type=search]", "my modem is frozen, how do I reboot it")
    page.click("[data-cxm-help] button")
    hit = page.locator(".cxm-help-results li").first
    expect(hit).to_have_attribute("data-article", "router-restart")
    expect(hit.locator("a")).to_have_attribute("href", re.compile(r"/help/articles/router-restart"))


def test_searches_and_views_reach_the_help_centre_source(live_demo: LiveDemo) -> None:
    gaps = httpx.get(live_demo.url + "/api/kb/gaps", headers=bearer(live_demo.token),
                     timeout=60).json()  # fmt: skip
    assert gaps["searches"] >= 2 and gaps["answered"] >= 1
    assert {u["article"] for u in gaps["untranslated"]} == {"roaming", "opening-hours"}

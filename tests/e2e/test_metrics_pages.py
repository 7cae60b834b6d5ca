"""The CX metrics in Debian's Chromium over the demo company: the overview's tiles with their
intervals and trends, the movers and effort cards, and the Metrics page switching dimension
with the figures the REST API gives."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from cxm.journeys import default_journey_map
from helpers import LiveDemo, bearer, sign_in_browser

TILES = [
    "nps", "csat", "ces", "first_contact_resolution", "repeat_contact_rate", "channel_hopping",
    "time_to_resolution", "effort_index", "churn_rate",
]  # fmt: skip


def sign_in(page: Page, demo: LiveDemo, target: str) -> None:
    sign_in_browser(page, demo.url, demo.token, target)


def api_rows(demo: LiveDemo, **params: str) -> list[dict[str, object]]:
    response = httpx.get(
        demo.url + "/api/metrics/catalogue", params=params, headers=bearer(demo.token), timeout=60
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, object]] = response.json()["rows"]
    return rows


def test_overview_shows_the_cx_metrics(page: Page, live_demo: LiveDemo) -> None:
    sign_in(page, live_demo, "/overview")
    panel = page.locator("#cx-metrics[data-state=ready]")
    expect(panel).to_be_visible(timeout=60_000)  # loaded after the page, from the lake
    tiles = panel.locator(".cx-tile")
    expect(tiles).to_have_count(len(TILES))
    assert tiles.evaluate_all("els => els.map(e => e.dataset.metric)") == TILES
    # Every tile has a value with its interval and n, or says why it has none.
    with_interval = 0
    for i in range(len(TILES)):
        tile = tiles.nth(i)
        if tile.locator("[data-interval]").count():
            expect(tile.locator("[data-interval]")).to_contain_text("95% CI")
            expect(tile.locator("[data-n]")).to_contain_text("n = ")
            with_interval += 1
        else:
            expect(tile.locator("[data-insufficient]")).to_contain_text(
                re.compile("insufficient data|no data")
            )
    assert with_interval >= 3
    # The sparklines are drawn: ECharts puts a canvas in each chart's element.
    expect(panel.locator(".cx-spark canvas").first).to_be_visible()
    # An arrow only where a change survived Benjamini-Hochberg.
    movers = panel.locator("#cx-movers")
    expect(movers.locator("h2")).to_have_text("Biggest movers")
    flagged = movers.locator(".cx-mover")
    if flagged.count() == 0:
        expect(movers.locator(".cx-none")).to_contain_text(
            re.compile("survived the false-discovery control|Nothing to compare")
        )
    effort = panel.locator("#cx-effort")
    expect(effort.locator(".bar-row").first).to_be_visible()
    expect(effort.locator("[data-validation]")).to_contain_text("CES")

    panel.get_by_role("link", name=re.compile("All metrics")).click()
    expect(page).to_have_url(re.compile(r"/metrics$"))


def test_metrics_table_switches_dimension(page: Page, live_demo: LiveDemo) -> None:
    sign_in(page, live_demo, "/metrics")
    expect(page.locator("h1")).to_have_text("Metrics")
    expect(page.locator(".nav-link.is-active")).to_contain_text("Metrics")
    table = page.locator("#mx-table")
    expect(table).to_have_attribute("data-by", "month")
    months = sorted({str(r["month"]) for r in api_rows(live_demo, by="month")})
    expect(table.locator("thead th[data-group]")).to_have_text(months)
    expect(page.locator("#mx-retention canvas").first).to_be_visible()

    page.select_option("#mx-by", "stage")
    expect(table).to_have_attribute("data-by", "stage")
    expect(page).to_have_url(re.compile(r"by=stage"))
    journey = default_journey_map()
    stages = {s.id: s.name for s in journey.stages}
    heads = table.locator("thead th[data-group]")
    groups = heads.evaluate_all("els => els.map(e => e.dataset.group)")
    assert groups and set(groups) <= set(stages) | {"(none)"}
    # A cell shows what the API says for that metric and stage.
    rows = api_rows(live_demo, by="stage", metrics="repeat_contact_rate")
    (support,) = [r for r in rows if r["stage"] == "support"]
    cell = table.locator("tr[data-metric=repeat_contact_rate] td").nth(groups.index("support"))
    estimate, n = float(str(support["estimate"])), int(str(support["n"]))
    expect(cell).to_contain_text(f"{100 * estimate:.1f}%")
    expect(cell).to_contain_text(f"n = {n:,}")

    with page.expect_download() as download:
        table.locator("[data-csv]").click()
    assert download.value.suggested_filename == "cxm-metrics-stage.csv"

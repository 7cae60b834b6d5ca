"""The Journey page over HTTP: the wall, the detail and funnel fragments, the no-map hint, and a
clear message (never a 500) for parameters it cannot use."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cxm.journeys import default_journey_map, telecom_yaml
from cxm.workspace import Workspace
from helpers import basic, bearer, sign_in

pytestmark = pytest.mark.anyio

HX = {"HX-Request": "true"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def load_map(api: httpx.AsyncClient, token: str) -> None:
    response = await api.put(
        "/api/journey",
        content=telecom_yaml().encode(),
        headers={**bearer(token), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text


async def visit_offers(api: httpx.AsyncClient, workspace: Workspace, key: str) -> None:
    """Three customers open the home page, then an offer a few minutes later."""
    batch = []
    for n in range(3):
        for minutes, name in ((0, "Home"), (5 + n, "Offer – Fibre")):
            at = T0 + timedelta(days=n, minutes=minutes)
            batch.append(
                {
                    "type": "page",
                    "name": name,
                    "userId": f"CUST-{n}",
                    "messageId": f"m-{n}-{minutes}",
                    "timestamp": at.isoformat(),
                }
            )
    response = await api.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert response.status_code == 200, response.text
    workspace.catch_up()
    workspace.sync_lake()


async def test_the_page_needs_a_session(api: httpx.AsyncClient, workspace: Workspace) -> None:
    workspace.initialise()
    response = await api.get("/journey")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/journey"


async def test_without_a_map_the_page_says_how_to_load_one(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    await sign_in(api, admin_token)
    page = await api.get("/journey")
    assert page.status_code == 200
    assert "No journey map yet" in page.text
    assert "cxm journey load FILE" in page.text
    assert "cxm journey show --example --yaml" in page.text
    assert 'class="jm-wall"' not in page.text
    detail = await api.get("/journey/touchpoints/home-page", headers=HX)
    assert detail.status_code == 200 and "No journey map yet" in detail.text


async def test_an_empty_lake_shows_the_map_with_zeros(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    await sign_in(api, admin_token)
    await load_map(api, admin_token)
    journey = default_journey_map()
    page = await api.get("/journey")
    assert page.status_code == 200, page.text
    text = page.text
    positions = [text.index(f'id="stage-{s.id}">{s.name}</h2>') for s in journey.stages]
    assert positions == sorted(positions), "stages are not in journey order"
    assert text.count('class="jm-card health-no-data"') == len(journey.touchpoints)
    assert 'data-touchpoint="home-page"' in text and "Ewa Kowalska" in text
    assert re.search(r'data-stat="customers">0<', text)
    assert 'href="/journey"' in text and "is-active" in text  # the nav link

    detail = await api.get("/journey/touchpoints/calls", headers=HX)
    assert detail.status_code == 200 and "<html" not in detail.text
    assert "Call to the call centre" in detail.text and "No paths in this period" in detail.text
    funnel = await api.get("/journey/funnel?step=home-page&step=offer-pages&window=7", headers=HX)
    assert funnel.status_code == 200 and funnel.text.count("<tr data-step=") == 2


async def test_numbers_detail_and_funnel_from_the_lake(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    await sign_in(api, admin_token)
    await load_map(api, admin_token)
    await visit_offers(api, workspace, write_keys["website"])

    page = await api.get("/journey?department=it")
    assert page.status_code == 200
    home = card(page.text, "home-page")
    assert 'data-stat="visits">3<' in home and "is-influenced" in home
    assert "Influence 70%" in home
    assert "is-dimmed" in card(page.text, "branch-visit")

    detail = await api.get("/journey/touchpoints/home-page", headers=HX)
    assert detail.status_code == 200
    assert 'class="chart jm-sankey"' in detail.text and '"type": "sankey"' in detail.text
    assert 'Home page</span><span class="jm-arrow"' in detail.text.replace("\n", "")

    funnel = await api.get(
        "/journey/funnel?step=home-page&step=offer-pages&step=&window=1", headers=HX
    )
    assert funnel.status_code == 200
    rows = re.findall(r'data-col="customers">(\d+)<', funnel.text)
    assert rows == ["3", "3"]
    assert "6 minutes" in funnel.text  # the median of 5, 6 and 7 minutes

    outside = await api.get("/journey?start=2026-04-01")
    assert outside.status_code == 200 and 'data-stat="visits">3<' not in card(
        outside.text, "home-page"
    )
    whole = await api.get("/journey/touchpoints/home-page")  # without htmx: the whole page
    assert whole.status_code == 200 and "<html" in whole.text and "jm-sankey" in whole.text


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/journey?start=yesterday", 400, "The start date “yesterday” is not a date"),
        ("/journey?start=2026-05-01&end=2026-04-01", 400, "starts (2026-05-01) after it ends"),
        ("/journey?department=nobody", 400, "There is no department “nobody”"),
        ("/journey/touchpoints/nowhere", 404, "There is no touchpoint “nowhere”"),
        ("/journey/funnel?step=home-page&window=7", 400, "Choose from 2 to 5 touchpoints"),
        ("/journey/funnel?step=home-page&step=x&window=7", 400, "no touchpoint “x”"),
        ("/journey/funnel?step=home-page&step=calls&window=abc", 400, "The window “abc”"),
        ("/journey/funnel?step=home-page&step=calls&window=0", 400, "The window “0”"),
        ("/journey/funnel?step=home-page&step=calls&window=nan", 400, "The window “nan”"),
    ],
)
@pytest.mark.parametrize("headers", [HX, {}], ids=["fragment", "page"])
async def test_bad_parameters_get_a_message(
    api: httpx.AsyncClient,
    admin_token: str,
    url: str,
    status: int,
    message: str,
    headers: dict[str, str],
) -> None:
    await sign_in(api, admin_token)
    await load_map(api, admin_token)
    response = await api.get(url, headers=headers)
    assert response.status_code == status, response.text
    assert message in response.text
    assert 'role="alert"' in response.text


async def test_the_page_in_polish(api: httpx.AsyncClient, admin_token: str) -> None:
    await sign_in(api, admin_token)
    await load_map(api, admin_token)
    page = await api.get("/journey", headers={"Accept-Language": "pl"})
    assert page.status_code == 200
    assert "Ścieżka klienta" in page.text and "Brak danych" in page.text
    assert "Wszystkie działy" in page.text


def card(html: str, touchpoint: str) -> str:
    """The markup of one touchpoint card on the wall."""
    start = html.index(f'data-touchpoint="{touchpoint}"')
    return html[html.rindex("<a ", 0, start) : html.index("</a>", start)]


async def test_the_customer_page_places_events_on_the_journey(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    await load_map(api, admin_token)
    await visit_offers(api, workspace, write_keys["website"])
    await sign_in(api, admin_token)
    profile = workspace.profile("CUST-1").id
    page = await api.get(f"/customers/{profile}")
    assert page.status_code == 200
    # the newest event (an offer page) puts the customer in the engagement stage
    assert re.search(r'class="current-stage"[^>]*>Engagement<', page.text)
    assert page.text.count('class="tl-place"') == 2
    assert "Engagement · Offer pages" in page.text and "First mention · Home page" in page.text
    more = await api.get(f"/customers/{profile}/timeline", headers=HX)
    assert more.status_code == 200 and "Engagement · Offer pages" in more.text

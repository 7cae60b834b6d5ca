"""The public survey page in Debian's Chromium on a phone-sized screen: a survey and its
invitations made through the live server's API, a score tapped and sent, the answer stored,
a second answer refused, a forged link, and a Polish invitation in Polish."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from helpers import LiveDemo, bearer

SURVEY: dict[str, Any] = {
    "id": "nps-phone-check",
    "name": "Demo Telecom",
    "kind": "nps",
    "languages": ["en", "pl"],
    "questions": [
        {"id": "reason", "type": "text", "text": {"en": "Why that score?", "pl": "Dlaczego?"}},
        {
            "id": "channel",
            "type": "choice",
            "text": {"en": "How did you reach us?", "pl": "Którędy?"},
            "options": [
                {"id": "web", "label": {"en": "Website", "pl": "Strona"}},
                {"id": "shop", "label": {"en": "Shop", "pl": "Salon"}},
            ],
        },
    ],
}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def api(live_demo: LiveDemo) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_demo.url, headers=bearer(live_demo.token), trust_env=False
    ) as client:
        saved = client.post("/api/surveys", json=SURVEY)
        assert saved.status_code == 200, saved.text
        yield client


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def invite(api: httpx.Client, language: str, skip: int) -> str:
    """A link for a customer no earlier test invited (the fatigue rule refuses a second)."""
    listed = api.get("/api/profiles", params={"limit": 20})
    assert listed.status_code == 200, listed.text
    customer = listed.json()["profiles"][skip]["id"]
    response = api.post(
        f"/api/surveys/{SURVEY['id']}/invitations",
        json={"profiles": [customer], "language": language},
    )
    assert response.status_code == 200, response.text
    (outcome,) = response.json()["outcomes"]
    assert outcome["status"] == "sent", outcome
    link: str = outcome["token"]
    return link


def test_answering_on_a_phone(phone: Page, api: httpx.Client, live_demo: LiveDemo) -> None:
    link = invite(api, "en", skip=0)
    phone.goto(f"{live_demo.url}/s/{link}")
    expect(phone.locator(".sv-brand")).to_have_text("Demo Telecom")
    expect(phone.locator(".sv-headline")).to_contain_text("How likely are you to recommend us")
    expect(phone.locator(".sv-ends")).to_contain_text("Not at all likely")
    expect(phone.locator(".sv-ends")).to_contain_text("Extremely likely")
    expect(phone.locator(".sidebar, .nav-link")).to_have_count(0)

    # Eleven score buttons, each a comfortable tap target, and no sideways scrolling.
    points = phone.locator(".sv-point span")
    expect(points).to_have_count(11)
    for i in range(11):
        box = points.nth(i).bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44, (i, box)
    send_box = phone.get_by_role("button", name="Send").bounding_box()
    assert send_box is not None and send_box["height"] >= 44
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The radios are reachable by their label, as a screen reader announces them.
    score = phone.get_by_role("radio", name="9", exact=True)
    phone.locator(".sv-point", has=phone.locator("input[value='9']")).tap()
    expect(score).to_be_checked()
    phone.get_by_text("Website", exact=True).tap()
    phone.locator("textarea[name=reason]").fill("Quick and friendly")
    phone.get_by_role("button", name="Send").tap()

    expect(phone.locator("h1")).to_have_text("Thank you!")
    stored = api.get(f"/api/surveys/{SURVEY['id']}/responses")
    assert stored.status_code == 200, stored.text
    (row,) = stored.json()["responses"]
    assert row["score"] == 9 and row["comment"] == "Quick and friendly"
    assert row["answers"]["channel"] == "web" and row["language"] == "en"

    # Back to the link (or a reload of the form): the first answer stays.
    phone.goto(f"{live_demo.url}/s/{link}")
    expect(phone.locator("h1")).to_have_text("We already have your answer, thank you")
    again = api.get(f"/api/surveys/{SURVEY['id']}/responses").json()["responses"]
    assert [r["score"] for r in again] == [9]


def test_a_missing_score_is_shown_next_to_the_question(
    phone: Page, api: httpx.Client, live_demo: LiveDemo
) -> None:
    link = invite(api, "en", skip=1)
    phone.goto(f"{live_demo.url}/s/{link}")
    phone.locator("textarea[name=reason]").fill("Kept")
    phone.get_by_role("button", name="Send").tap()
    expect(phone.locator("[data-question=score] .sv-error")).to_have_text(
        "Please answer this question."
    )
    expect(phone.locator("textarea[name=reason]")).to_have_value("Kept")
    phone.locator(".sv-point", has=phone.locator("input[value='6']")).tap()
    phone.get_by_role("button", name="Send").tap()
    expect(phone.locator("h1")).to_have_text("Thank you!")


def test_polish_invitation_and_a_forged_link(
    phone: Page, api: httpx.Client, live_demo: LiveDemo
) -> None:
    link = invite(api, "pl", skip=2)
    phone.goto(f"{live_demo.url}/s/{link}")
    expect(phone.locator("html")).to_have_attribute("lang", "pl")
    expect(phone.locator(".sv-headline")).to_contain_text("Jak bardzo prawdopodobne jest")
    expect(phone.locator(".sv-ends")).to_contain_text("Zupełnie nieprawdopodobne")
    phone.locator(".sv-point", has=phone.locator("input[value='10']")).tap()
    phone.get_by_text("Salon", exact=True).tap()
    phone.get_by_role("button", name="Wyślij").tap()
    expect(phone.locator("h1")).to_have_text("Dziękujemy!")

    forged = link[:-1] + ("A" if link[-1] != "A" else "B")
    response = phone.goto(f"{live_demo.url}/s/{forged}")
    assert response is not None and response.status == 404
    expect(phone.locator("h1")).to_have_text("This link is not valid")

"""The Surveys pages in Debian's Chromium against a real ``cxm serve``, on SQLite and
PostgreSQL: a survey built in the builder (a missing Russian translation shown next to its
field first, the input kept), a customer invited from the results page, the answer given
through the public link ``/s/{token}``, and the answer counted on the results page and the list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cxm.config import Settings
from cxm.journeys import default_journey_map, telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace
from helpers import journeys_for, running_server

CUSTOMER_EMAIL = "zofia.nowak@example.pl"


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    profile_id: str


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """A workspace with the telecom journey map and one customer, served by ``cxm serve``."""
    path = tmp_path / "ws"
    with Workspace.open(settings=Settings(workspace=path, database_url=database_url)) as ws:
        token = ws.initialise()
        assert token is not None
        with ws.session() as session:
            do_save_journey_map(session=session, source=telecom_yaml(), actor="test")
        traits = {"name": "Zofia Nowak", "email": CUSTOMER_EMAIL}
        step = {"type": "identify", "at": "2026-06-01T10:00:00Z", "traits": traits}
        profile_id = journeys_for(ws, {"CUST-E2E": [step]})["CUST-E2E"]
    with running_server(path, database_url=database_url) as url:
        yield Server(url=url, token=token, profile_id=profile_id)


def sign_in(page: Page, server: Server, target: str) -> None:
    page.goto(server.url + target)
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=token]", server.token)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))


def test_build_invite_answer_and_see_it_counted(page: Page, server: Server) -> None:
    touchpoint = default_journey_map().touchpoints[0]
    sign_in(page, server, "/surveys")
    expect(page.locator("h1")).to_have_text("Surveys")
    expect(page.locator(".nav-link.is-active")).to_contain_text("Surveys")
    expect(page.locator(".sv-list")).to_contain_text("No surveys yet.")

    # Build: an NPS survey with a question of our own, in English and Russian at first.
    page.get_by_role("link", name="New survey").first.click()
    expect(page).to_have_url(re.compile(r"/surveys/new$"))
    page.fill("input[name=id]", "nps-e2e")
    page.fill("input[name=name]", "Vistula after repair")
    page.get_by_label("Russian").check()
    page.get_by_role("radio", name=re.compile("After a touchpoint")).check()
    page.select_option("select[name=trigger_touchpoint]", touchpoint.id)
    page.fill("input[name=q-0-id]", "reason")
    page.fill("input[name=q-0-text-en]", "What should we do better?")
    # A choice question shows its option rows; a text question does not.
    expect(page.locator("[data-question='0'] .sb-options")).to_be_hidden()
    page.locator("[data-save]").click()

    # Not saved: the missing Russian text is named next to its field, the input kept.
    expect(page.locator(".sb-summary")).to_contain_text("The survey was not saved: 1 problem.")
    expect(page.locator(".sb-summary li")).to_have_text(
        "questions.0.text.ru: question 'reason' has no translation into 'ru'; add one"
    )
    error = page.locator("[data-error-for='q-0-text-ru']")
    expect(error).to_be_visible()
    expect(error).to_have_text("question 'reason' has no translation into 'ru'; add one")
    expect(page.locator("input[name=q-0-text-ru]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("input[name=q-0-text-en]")).to_have_value("What should we do better?")
    expect(page.locator("input[name=name]")).to_have_value("Vistula after repair")
    expect(page.locator("select[name=trigger_touchpoint]")).to_have_value(touchpoint.id)

    page.fill("input[name=q-0-text-ru]", "Что нам улучшить?")
    page.locator("[data-save]").click()
    expect(page).to_have_url(re.compile(r"/surveys/nps-e2e\?saved=1$"))
    expect(page.locator("h1")).to_have_text("Vistula after repair")
    expect(page.locator(".alert-ok")).to_have_text("Version 1 saved.")
    expect(page.locator(".sv-about")).to_contain_text(f"After “{touchpoint.name}”")
    expect(page.locator("[data-kpi=score]")).to_contain_text("insufficient data: no responses")

    # Invite the customer by e-mail: one outcome, sent, with its personal link.
    page.fill("textarea[name=refs]", CUSTOMER_EMAIL)
    page.get_by_role("button", name="Send invitations").click()
    outcome = page.locator("[data-outcome]")
    expect(outcome).to_have_count(1)
    expect(outcome).to_have_attribute("data-outcome", "sent")
    expect(page.locator(".sv-tally")).to_have_text("Sent: 1 · suppressed: 0 · rejected: 0")
    link = page.locator("[data-invite-link]").get_attribute("href")
    assert link is not None and link.startswith("/s/")
    expect(page.locator("[data-step=delivered] [data-count]")).to_have_text("1")

    # Answer through the public link, as the customer would.
    page.goto(server.url + link)
    expect(page.locator(".sv-brand")).to_have_text("Vistula after repair")
    page.locator(".sv-point", has=page.locator("input[value='9']")).click()
    page.locator("textarea[name=reason]").fill("Faster visits, please")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("h1")).to_have_text("Thank you!")

    # The results count it: one answer, too few for a figure, the comment with its customer.
    page.goto(server.url + "/surveys/nps-e2e")
    expect(page.locator("[data-kpi=answered] .kpi-value")).to_have_text("1")
    expect(page.locator("[data-kpi=score]")).to_contain_text("insufficient data: 1 response")
    expect(page.locator("[data-step=answered] [data-count]")).to_have_text("1")
    expect(page.locator("[data-kpi=response_rate]")).to_contain_text("1 answered of 1 delivered")
    verbatim = page.locator(".sv-verbatim")
    expect(verbatim).to_have_count(1)
    expect(verbatim.locator("blockquote")).to_have_text("Faster visits, please")
    author = verbatim.get_by_role("link", name="Zofia Nowak")
    expect(author).to_have_attribute("href", f"/customers/{server.profile_id}")
    # The charts are drawn: the trend (a gap this month, too few answers) and the distribution.
    expect(page.locator(".sv-trend-chart canvas")).to_have_count(1)
    expect(page.locator(".sv-dist-chart canvas")).to_have_count(1)
    expect(page.locator("tr[data-score='9'] td.num")).to_have_text("1")

    page.get_by_role("link", name="Surveys").first.click()
    row = page.locator("tr[data-survey='nps-e2e']")
    expect(row.locator("[data-status=answered] .sv-count-v")).to_have_text("1")
    expect(row.locator("[data-col=score]")).to_have_text("insufficient data: 1 response")

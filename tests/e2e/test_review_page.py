"""The Review page and the customer's identity in Debian's Chromium, over a tiny workspace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from cxm.config import Settings
from cxm.identity import do_merge_profiles
from cxm.ingest import do_create_source, do_ingest_events
from cxm.profiles import resolve_profile_id
from cxm.workspace import Workspace
from helpers import running_server

PHONE = "+48601234567"


@dataclass(frozen=True)
class Household:
    url: str
    token: str
    anna: str  # shares the phone with Jan: a pair waiting for review
    jan: str
    ola: str  # merged by hand with Kasia: a merge to undo


def identify(user_id: str, **traits: Any) -> dict[str, Any]:
    return {"type": "identify", "userId": user_id, "messageId": f"id-{user_id}", "traits": traits}


@pytest.fixture(scope="module")
def household(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Household]:
    path: Path = tmp_path_factory.mktemp("household")
    with Workspace.open(settings=Settings(workspace=path)) as ws:
        token = ws.initialise()
        assert token is not None
        with ws.session() as session:
            source, _ = do_create_source(session, actor="test", name="website", channel="web")
        people = [
            identify("anna-1", name="Anna Nowak", phone=PHONE, email="anna@example.pl"),
            identify("jan-2", name="Jan Nowak", phone=PHONE),
            identify("ola-7", name="Ola Kowalska", email="ola@example.pl"),
            identify("kasia-8", name="Kasia Kowalska", email="kasia@example.pl"),
        ]
        do_ingest_events(ws.engine, source=source, events=list(enumerate(people)))
        ws.catch_up()
        with ws.session() as session:
            refs = ("anna-1", "jan-2", "ola-7", "kasia-8")
            ids = {ref: resolve_profile_id(session, ref) for ref in refs}
            do_merge_profiles(
                session,
                actor="test",
                a=ids["ola-7"],
                b=ids["kasia-8"],
                reason="same customer, new e-mail",
            )
        with ws.session() as session:
            ola = resolve_profile_id(session, "ola-7")
    with running_server(path) as url:
        yield Household(url=url, token=token, anna=ids["anna-1"], jan=ids["jan-2"], ola=ola)


def sign_in(page: Page, household: Household, target: str) -> None:
    page.goto(household.url + target)
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=token]", household.token)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))


def test_review_a_pair_and_see_it_on_the_customer_page(page: Page, household: Household) -> None:
    sign_in(page, household, "/review")
    expect(page.locator("h1")).to_have_text("Review")
    item = page.locator("article.review-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Anna Nowak")
    expect(item).to_contain_text("Jan Nowak")
    expect(item.locator(".review-reason")).to_contain_text("user_id")
    phone = item.locator(".evidence tbody tr", has_text="Phone")
    expect(phone).to_contain_text(PHONE)
    expect(phone).to_contain_text("shared")

    item.get_by_role("button", name="Different people").click()
    expect(item).to_contain_text("Decided: different people")
    expect(item.get_by_role("button", name="Same person")).to_have_count(0)
    page.reload()
    expect(page.locator("article.review-item")).to_have_count(0)
    expect(page.get_by_text("Nothing to review")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Different people")).click()
    expect(page.locator("article.review-item")).to_have_count(1)

    page.goto(f"{household.url}/customers/{household.anna}")
    identity = page.locator("#identity")
    expect(identity.locator("h2")).to_have_text("Identity")
    shared = identity.locator("tr", has_text=PHONE)
    expect(shared.locator(".badge")).to_have_text("Shared")
    expect(shared.get_by_role("link", name=household.jan)).to_be_visible()
    expect(identity.locator(".pair")).to_contain_text("Different people")
    expect(identity.locator(".pair")).to_contain_text("Jan Nowak")


def test_undo_a_merge_from_the_customer_page(page: Page, household: Household) -> None:
    sign_in(page, household, f"/customers/{household.ola}")
    identity = page.locator("#identity")
    merge = identity.locator("li.merge")
    expect(merge).to_have_count(1)
    expect(merge).to_contain_text("same customer, new e-mail")
    merge.get_by_text("Undo this merge").click()
    merge.get_by_label("Why was this merge wrong?").fill("two sisters")
    merge.get_by_role("button", name="Undo the merge").click()

    expect(page).to_have_url(re.compile(r"/customers/p_[^/#]+#identity$"))
    expect(page.locator("#identity li.merge")).to_have_count(0)
    expect(page.locator("#identity .pair")).to_contain_text("Different people")
    expect(page.locator("h1")).to_contain_text(re.compile("Ola Kowalska|Kasia Kowalska"))

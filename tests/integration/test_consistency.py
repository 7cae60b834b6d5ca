"""One truth across channels, on both stores: a price that differs between the website and a
branch is found with the customers who paid it; an expired fee in an e-mail template and in
one language of an article, and an article missing a language, are found; the facts every
channel agrees on give no conflict; malformed facts (currencies, amounts, dates, overlapping
periods) are refused with where and why while the good ones in the file are saved; people
with two accounts opened days apart are found."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from cxm.consistency import do_load_facts, duplicate_accounts, find_conflicts
from cxm.kb.service import do_load_kb
from cxm.workspace import Workspace
from helpers import bearer, journeys_for, sign_in

pytestmark = pytest.mark.anyio
DAY = datetime(2026, 9, 10, 12, tzinfo=UTC)

FACTS = """
facts:
  - id: price.roaming-eu
    name: EU roaming pack
    kind: price
    department: sales
    currency: PLN
    values: [{value: 19 PLN, from: 2024-01-01}]
    observe:
      - {event: Add-on Purchased, property: price, where: {addon: Roaming EU}}
      - {event: Purchase Completed, property: price, where: {product: Roaming EU}}
  - id: fee.paper-invoice
    name: Paper invoice fee
    kind: fee
    department: billing
    values:
      - {value: 4 PLN, from: 2024-01-01, to: 2026-07-01}
      - {value: 5 PLN, from: 2026-07-01}
    statements:
      - {channel: kb, where: "kb:payment-methods"}
      - {channel: email, where: "template: payment reminder", value: "4 zł", as_of: 2026-10-15}
      - {channel: agent, where: "macro: fees", value: "5,00 zł", as_of: 2026-10-15}
  - id: price.booster
    name: Wi-Fi Booster
    kind: price
    department: marketing
    values: [{value: 149 PLN, from: 2024-01-01}]
    observe:
      - {event: Add-on Purchased, property: price, where: {addon: Booster}}
  - id: broken.currency
    name: Bad
    kind: fee
    values: [{value: 5 XYZ, from: 2026-01-01}]
  - id: broken.periods
    name: Bad periods
    kind: price
    currency: PLN
    values:
      - {value: 10, from: 2026-01-01, to: 2026-08-01}
      - {value: 12, from: 2026-06-01}
      - {value: ten, from: 2026-02-01}
      - {value: 13, from: 2026-13-01}
"""

KB = """
articles:
  - id: payment-methods
    versions:
      pl: {title: Jak zapłacić, body: "Faktura papierowa kosztuje 5 zł miesięcznie."}
      en: {title: Ways to pay, body: "A paper invoice costs 4 PLN a month."}
"""


def plant(workspace: Workspace) -> None:
    def at(hours: float) -> str:
        return (DAY + timedelta(hours=hours)).isoformat()

    journeys_for(workspace, {
        "web1": [{"event": "Add-on Purchased", "at": at(1), "channel": "web",
                  "properties": {"addon": "Roaming EU", "price": 19, "currency": "PLN"}}],
        "shop1": [{"event": "Purchase Completed", "at": at(2), "channel": "branch",
                   "properties": {"product": "Roaming EU", "price": 25, "currency": "PLN"}}],
        "shop2": [{"event": "Purchase Completed", "at": at(3), "channel": "branch",
                   "properties": {"product": "Roaming EU", "price": 25, "currency": "PLN"}},
                  {"event": "Purchase Completed", "at": at(30), "channel": "branch",
                   "properties": {"product": "Roaming EU", "price": 25, "currency": "PLN"}}],
        "shop3": [{"event": "Purchase Completed", "at": at(4), "channel": "branch",
                   "properties": {"product": "Roaming EU", "price": 19, "currency": "PLN"}}],
        "boost": [{"event": "Add-on Purchased", "at": at(5), "channel": "app",
                   "properties": {"addon": "Booster", "price": 149, "currency": "PLN"}}],
    })  # fmt: skip


def test_planted_conflicts_are_found_and_agreeing_facts_give_none(workspace: Workspace) -> None:
    plant(workspace)
    with workspace.session() as s:
        assert not do_load_kb(s, text=KB, actor="test").rejected
        report = do_load_facts(s, text=FACTS, actor="test")
    assert report.saved == ["price.roaming-eu", "fee.paper-invoice", "price.booster"]
    said = {(".".join(map(str, p.loc)), p.message) for p in report.rejected}
    assert (
        "facts[3] (broken.currency).values.0.value",
        "unknown currency 'XYZ'; use an ISO code such as PLN or EUR",
    ) in said
    messages = " ".join(m for _, m in said)
    assert "overlaps value 1: it holds until 2026-08-01, value 1 from 2026-06-01" in messages
    assert "'2026-13-01' is not a date" in messages and "'ten' is not an amount" in messages

    found = find_conflicts(workspace, today=date(2026, 10, 20))
    seen = {(c.fact, c.kind, c.channel, c.where, c.language, c.stated, c.expected, c.exposure,
             c.occurrences) for c in found.conflicts}  # fmt: skip
    assert seen == {
        ("price.roaming-eu", "different value", "branch", "event: Purchase Completed", None,
         "25 PLN", "19 PLN", 2, 3),
        ("fee.paper-invoice", "expired value", "email", "template: payment reminder", None,
         "4 PLN", "5 PLN", None, 1),
        ("fee.paper-invoice", "expired value", "kb", "kb:payment-methods", "en", "4 PLN",
         "5 PLN", None, 1),
        ("fee.paper-invoice", "missing translation", "kb", "kb:payment-methods", "ru", None,
         None, 0, 0),
    }  # fmt: skip
    # The most exposed first, each routed to the department that owns the fact.
    assert found.conflicts[0].fact == "price.roaming-eu"
    assert found.conflicts[0].department == "sales"
    assert found.checked == {"price.roaming-eu": 5, "fee.paper-invoice": 3, "price.booster": 1}


def test_an_automation_templates_amounts_are_read(workspace: Workspace) -> None:
    from cxm.automation import do_save_rule

    with workspace.session() as s:
        do_save_rule(session=s, actor="test", data={
            "name": "reminder", "trigger": {"event": "Payment Failed"},
            "actions": [{"email": {"subject": "Payment", "body": {
                "pl": "Faktura papierowa kosztuje 4 zł.", "en": "A paper invoice costs 5 PLN."}}}],
        })  # fmt: skip
        do_load_facts(s, text="""
facts:
  - id: fee.paper-invoice
    name: Paper invoice fee
    kind: fee
    values:
      - {value: 4 PLN, from: 2024-01-01, to: 2026-07-01}
      - {value: 5 PLN, from: 2026-07-01}
    statements:
      - {channel: email, where: "rule:reminder"}
      - {channel: email, where: "rule:nowhere"}
""", actor="test")  # fmt: skip
    found = find_conflicts(workspace, today=date(2026, 10, 20)).conflicts
    assert {(c.kind, c.where, c.language, c.stated, c.exposure) for c in found} == {
        ("expired value", "rule:reminder", "pl", "4 PLN", 0),
        ("missing template", "rule:nowhere", None, None, None),
    }  # fmt: skip


def test_the_value_in_force_is_the_one_of_the_day(workspace: Workspace) -> None:
    """Before the fee changed, the old fee was right: a June e-mail gives no conflict."""
    with workspace.session() as s:
        do_load_facts(s, text="""
facts:
  - id: fee.paper-invoice
    name: Paper invoice fee
    kind: fee
    values:
      - {value: 4 PLN, from: 2024-01-01, to: 2026-07-01}
      - {value: 5 PLN, from: 2026-07-01}
    statements:
      - {channel: email, where: "template: june", value: "4 PLN", as_of: 2026-06-20}
""", actor="test")  # fmt: skip
    assert find_conflicts(workspace, today=date(2026, 10, 20)).conflicts == []


async def test_conflicts_over_the_api(
    workspace: Workspace, api: httpx.AsyncClient, admin_token: str
) -> None:
    plant(workspace)
    auth = bearer(admin_token)
    loaded = await api.post("/api/consistency/load", headers=auth, content=FACTS)
    assert loaded.status_code == 200 and loaded.json()["ok"] is False
    assert len(loaded.json()["saved"]) == 3
    answer = await api.get("/api/consistency", headers=auth, params={"department": "sales"})
    body = answer.json()
    assert [c["kind"] for c in body["conflicts"]] == ["different value"]
    assert body["duplicate_accounts"]["with_duplicates"] == 0
    await sign_in(api, admin_token)
    page = await api.get("/consistency")
    assert page.status_code == 200
    assert 'data-fact="price.roaming-eu" data-kind="different value"' in page.text
    # Routed: the owning department's page lists it, another's does not.
    from cxm.journeys.map import telecom_yaml
    from cxm.journeys.service import do_save_journey_map

    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test")
    sales = await api.get("/departments/sales")
    assert 'id="dp-conflicts"' in sales.text and 'data-fact="price.roaming-eu"' in sales.text
    retail = await api.get("/departments/retail")
    assert retail.status_code == 200 and 'id="dp-conflicts"' not in retail.text
    no_day = {"name": "X", "kind": "fee", "values": [{"value": "1 PLN"}]}
    bad = await api.put("/api/consistency/facts/x", headers=auth, json=no_day)
    assert bad.status_code == 400 and body["facts"] == 3


def test_people_with_two_accounts_opened_days_apart(workspace: Workspace) -> None:
    def at(days: float) -> str:
        return (DAY + timedelta(days=days)).isoformat()

    journeys_for(workspace, {
        "acct-1": [{"type": "identify", "at": at(0), "traits": {"email": "jan@example.pl"}}],
        "acct-2": [{"type": "identify", "at": at(3), "traits": {"email": "jan@example.pl"}}],
        "acct-3": [{"type": "identify", "at": at(0), "traits": {"email": "ola@example.pl"}}],
        "acct-4": [{"type": "identify", "at": at(-200), "traits": {"email": "ola@example.pl"}}],
        "acct-5": [{"type": "identify", "at": at(0), "traits": {"email": "ewa@example.pl"}}],
    })  # fmt: skip
    with workspace.session() as s:
        found = duplicate_accounts(s, within_days=30)
    assert found.people == 3 and found.with_duplicates == 1
    assert found.examples[0]["accounts"] == 2 and found.examples[0]["second_after_days"] == 3.0

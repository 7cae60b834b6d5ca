"""Consent per purpose and per channel: the latest word about the purpose as a whole or about
the channel decides; a firing needs a yes somewhere, each action its own channel's."""

from __future__ import annotations

from datetime import UTC, datetime

from cxm.automation.audience import SEGMENT_CONSENT_EVENT, Customer, consent_statements
from cxm.automation.rules import Action


def at(day: int) -> datetime:
    return datetime(2026, 3, day, tzinfo=UTC)


def customer(**events: list[tuple[datetime, bool]]) -> Customer:
    consent = {k.replace("_at_", "@"): v for k, v in events.items()}
    return Customer(profile_id="p_1", traits={}, last_seen=None, display_name=None,
                    consent_events=consent)  # fmt: skip


def test_a_channel_withdrawal_stops_that_channel_only() -> None:
    c = customer(marketing=[(at(1), True)], marketing_at_email=[(at(2), False)])
    assert c.may_contact("marketing") == (True, None)
    assert c.may_contact("marketing", "app") == (True, None)
    allowed, why = c.may_contact("marketing", "email")
    assert not allowed and why == "the customer withdrew consent for marketing by email"


def test_the_latest_word_decides_across_the_purpose_and_the_channel() -> None:
    later_yes = customer(marketing=[(at(3), True)], marketing_at_email=[(at(2), False)])
    assert later_yes.may_contact("marketing", "email") == (True, None)
    wide_no = customer(marketing=[(at(3), False)], marketing_at_email=[(at(2), True)])
    assert not wide_no.may_contact("marketing", "email")[0]
    assert not wide_no.may_contact("marketing")[0]


def test_an_opt_in_given_in_one_channel_lets_the_rule_fire_and_only_that_channel_send() -> None:
    c = customer(marketing_at_app=[(at(1), True)])
    assert c.may_contact("marketing") == (True, None)  # the rule may fire
    assert c.may_contact("marketing", "app") == (True, None)
    assert c.may_contact("marketing", "email") == (
        False,
        "no consent for marketing (it needs a yes)",
    )


def test_actions_know_their_channel() -> None:
    assert Action("email", {}).channel == "email"
    assert Action("nudge", {"channel": "web"}).channel == "web"
    assert Action("nudge", {}).channel == "app"
    assert Action("webhook", {"url": "http://x"}).channel is None


def test_segment_consent_preferences_are_read_per_category() -> None:
    payload = {
        "context": {"consent": {"categoryPreferences": {
            "Advertising": False, "Analytics": True, "Strictly Necessary": True,
            "Personalization": False, "Loyalty Club": True, "Broken": "yes"}}},
        "properties": {"version": "cmp-7"},
    }  # fmt: skip
    said = {(s.purpose, s.given, s.version) for s in consent_statements(
        SEGMENT_CONSENT_EVENT, payload)}  # fmt: skip
    assert said == {("marketing", False, "cmp-7"), ("analytics", True, "cmp-7"),
                    ("service", True, "cmp-7"), ("profiling", False, "cmp-7"),
                    ("loyaltyclub", True, "cmp-7")}  # fmt: skip
    assert consent_statements(SEGMENT_CONSENT_EVENT, {"context": {"consent": "all"}}) == []
    assert consent_statements(SEGMENT_CONSENT_EVENT, None) == []


def test_consent_events_without_a_purpose_say_nothing() -> None:
    assert consent_statements("Consent Given", {"properties": {}}) == []
    (dnc,) = consent_statements("Do Not Contact", {})
    assert (dnc.key, dnc.given) == ("*", False)
    (email,) = consent_statements(
        "Consent Withdrawn", {"properties": {"purpose": "marketing", "channel": "email"}}
    )
    assert (email.key, email.given) == ("marketing@email", False)

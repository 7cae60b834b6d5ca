"""The demo company generator: deterministic, valid Segment events, and ground truth that holds."""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cxm.config import CHANNELS
from cxm.demo.generator import DemoCompany, DemoSource, generate_company
from cxm.demo.texts import CUSTOMER
from cxm.identity.normalize import normalize_phone

CYRILLIC = re.compile(r"[а-яА-ЯёЁ]")
POLISH = re.compile(r"[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")
EVENT_TYPES = {"identify", "track", "page", "screen", "group", "alias"}
END = datetime(2026, 11, 1, tzinfo=UTC)
Event = dict[str, Any]


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company(seed=11, customers=400, days=120)


def _e164(raw: str) -> str:
    """The identity rule's phone normalisation; every demo phone must be a valid number."""
    number = normalize_phone(raw)
    assert number is not None, f"{raw!r} is not a valid phone number"
    return number


def _identity_traits(event: Event) -> dict[str, Any]:
    if event["type"] == "identify":
        traits: dict[str, Any] = event["traits"]
        return traits
    return dict(event.get("context", {}).get("traits", {}))


def _identifiers(event: Event) -> list[tuple[str, str]]:
    """What cxm's deterministic rules link on one event."""
    found = []
    if event.get("userId"):
        found.append(("user_id", event["userId"]))
    for key in ("anonymousId", "previousId"):
        if event.get(key):
            found.append(("anonymous_id", event[key]))
    traits = _identity_traits(event)
    if traits.get("email"):
        found.append(("email", traits["email"].strip().lower()))
    if traits.get("phone"):
        found.append(("phone", _e164(traits["phone"])))
    for external in event.get("context", {}).get("externalIds", []):
        found.append((external["type"], external["id"]))
    return found


def _customer_identifiers(truth: dict[str, Any]) -> list[tuple[str, str]]:
    return (
        [("user_id", truth["user_id"])]
        + [("email", e) for e in truth["emails"]]
        + [("phone", p) for p in truth["phones_e164"]]
        + [("anonymous_id", a) for a in truth["anonymous_ids"]]
        + [("social_handle", h) for h in truth["social_handles"]]
    )


def _owners(company: DemoCompany) -> dict[str, str]:
    """Customer key by userId and by anonymousId (each belongs to exactly one customer)."""
    owner: dict[str, str] = {}
    for key, truth in company.ground_truth["customers"].items():
        for value in [truth["user_id"], *truth["anonymous_ids"]]:
            assert owner.setdefault(value, key) == key, f"{value} belongs to two customers"
    return owner


def _events_by_customer(company: DemoCompany) -> dict[str, list[tuple[str, Event]]]:
    owner = _owners(company)
    by_customer: dict[str, list[tuple[str, Event]]] = defaultdict(list)
    for source, event in company.events:
        by_customer[owner[event.get("userId") or event["anonymousId"]]].append((source, event))
    return by_customer


def test_the_same_seed_gives_the_same_company_and_another_seed_another() -> None:
    state = random.getstate()
    first = generate_company(seed=3, customers=60, days=30)
    second = generate_company(seed=3, customers=60, days=30)
    other = generate_company(seed=4, customers=60, days=30)
    assert random.getstate() == state, "the global RNG must not be used"
    assert json.dumps(first.events) == json.dumps(second.events)
    assert json.dumps(first.ground_truth) == json.dumps(second.ground_truth)
    assert [e for _, e in first.events] != [e for _, e in other.events]
    assert first.ground_truth["customers"] != other.ground_truth["customers"]


def test_events_scale_with_customers_and_days(company: DemoCompany) -> None:
    customer_years = 400 * 120 / 365
    assert len(company.events) >= 40 * customer_years
    assert len(company.ground_truth["customers"]) == 400
    smaller = generate_company(seed=11, customers=100, days=120)
    assert len(company.events) > 3 * len(smaller.events)


def test_every_event_is_valid_by_the_segment_spec(company: DemoCompany) -> None:
    message_ids = set()
    previous = None
    start = END - timedelta(days=120)
    for _, event in company.events:
        assert event["type"] in EVENT_TYPES
        assert isinstance(event["messageId"], str) and event["messageId"] not in message_ids
        message_ids.add(event["messageId"])
        assert event["timestamp"].endswith("Z")
        at = datetime.fromisoformat(event["timestamp"])
        assert at.tzinfo is not None and start <= at < END
        assert previous is None or previous <= at, "events are sorted by timestamp"
        previous = at
        assert event.get("userId") or event.get("anonymousId")
        for key in ("properties", "traits", "context"):
            assert isinstance(event.get(key, {}), dict)
        if event["type"] == "track":
            assert isinstance(event["event"], str) and event["event"].strip()
        elif event["type"] == "identify":
            assert isinstance(event["traits"], dict) and event["traits"]
        elif event["type"] in ("page", "screen"):
            assert isinstance(event["name"], str)
        elif event["type"] == "group":
            assert event["groupId"]
        elif event["type"] == "alias":
            assert event["previousId"] and event["userId"]
        assert len(json.dumps(event, ensure_ascii=False).encode()) < 32 * 1024


def test_sources_cover_the_channels_and_all_produce_events(company: DemoCompany) -> None:
    assert all(isinstance(s, DemoSource) for s in company.sources)
    names = [s.name for s in company.sources]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) for name in names)
    assert all(s.channel in CHANNELS for s in company.sources)
    assert len({s.channel for s in company.sources}) >= 9
    used = Counter(source for source, _ in company.events)
    assert set(used) == set(names), "every source has events and no event has another source"


def test_each_silo_identifies_people_its_own_way(company: DemoCompany) -> None:
    by_source: dict[str, list[Event]] = defaultdict(list)
    for source, event in company.events:
        by_source[source].append(event)
    for event in by_source["email-support"]:
        assert "userId" not in event
        assert event["anonymousId"].startswith("email:") and event["context"]["traits"]["email"]
    phone_forms = set()
    for event in by_source["call-centre"] + by_source["ivr"]:
        assert "userId" not in event
        phone = event["context"]["traits"]["phone"]
        phone_forms.add(re.sub(r"\d", "9", phone))
        _e164(phone)
    assert len(phone_forms) >= 4, f"caller numbers come in varied formats: {phone_forms}"
    assert all(
        e["userId"] and e["context"]["traits"]["phone"]
        for e in by_source["branches"]
        if e["event"] != "Add-on Purchased"
    )
    for event in by_source["social"]:
        assert event["anonymousId"] == f"social:{event['context']['externalIds'][0]['id']}"
        assert event["context"]["externalIds"][0]["type"] == "social_handle"
    logins = [e for e in by_source["website"] if e["type"] == "identify"]
    assert logins and all(e["anonymousId"] and e["userId"] for e in logins)
    assert all(e["traits"]["email"] and e["traits"]["phone"] for e in logins)
    anonymous_pages = [e for e in by_source["website"] if e["type"] == "page" and "userId" not in e]
    assert anonymous_pages
    assert all(e.get("userId") for e in by_source["billing"] + by_source["field-service"])


def test_texts_are_in_polish_russian_and_english(company: DemoCompany) -> None:
    customers = company.ground_truth["customers"]
    labels = company.ground_truth["text_labels"]
    owner = _owners(company)
    texts: dict[str, list[str]] = defaultdict(list)
    for _, event in company.events:
        properties = event.get("properties", {})
        text = properties.get("text") or properties.get("comment")
        if text is None:
            continue
        label = labels[event["messageId"]]
        language = customers[owner[event.get("userId") or event["anonymousId"]]]["language"]
        assert label["language"] == language, "free texts are in the customer's language"
        texts[language].append(text)
    assert all(CYRILLIC.search(t) for t in texts["ru"])
    assert sum(bool(POLISH.search(t)) for t in texts["pl"]) > 0.8 * len(texts["pl"])
    # English texts may quote a Polish street or shop name, but are written in English.
    assert not any(CYRILLIC.search(t) for t in texts["en"])
    english = re.compile(r"\b(the|my|you|your|for|and|is|it|I|to|of|in|with|on|thanks|no)\b")
    assert sum(bool(english.search(t)) for t in texts["en"]) > 0.9 * len(texts["en"])
    assert len(set(texts["pl"])) > 100 and len(set(texts["en"])) > 20
    for language in ("pl", "ru", "en"):
        templates = [t for topic in CUSTOMER[language].values() for t in topic]
        assert len(templates) >= 15


def test_names_keep_diacritics_and_russians_appear_in_both_scripts(company: DemoCompany) -> None:
    customers = company.ground_truth["customers"].values()
    assert any(POLISH.search(c["name"]) for c in customers)
    russians = [c for c in customers if c["language"] == "ru"]
    assert russians and all(CYRILLIC.search(c["name"]) for c in russians)
    assert all(c["name_latin"].isascii() for c in russians)
    names_seen = {
        t.get("name")
        for _, e in company.events
        for t in (e.get("traits", {}), e.get("context", {}).get("traits", {}))
    }
    assert any(c["name"] in names_seen and c["name_latin"] in names_seen for c in russians)


def test_ground_truth_identifiers_occur_in_the_events(company: DemoCompany) -> None:
    seen = {ident for _, event in company.events for ident in _identifiers(event)}
    for key, truth in company.ground_truth["customers"].items():
        missing = set(_customer_identifiers(truth)) - seen
        assert not missing, f"{key}: {missing}"
        assert truth["language"] in ("pl", "ru", "en")
    assert json.loads(json.dumps(company.ground_truth)) == company.ground_truth


def test_linkable_by_rules_is_what_the_deterministic_rules_give(company: DemoCompany) -> None:
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(node: tuple[str, str]) -> tuple[str, str]:
        while parent[node] != node:
            node = parent[node]
        return node

    for _, event in company.events:
        nodes = _identifiers(event)
        for node in nodes:
            parent.setdefault(node, node)
        for node in nodes[1:]:
            a, b = root(nodes[0]), root(node)
            if a != b:
                parent[b] = a
    truth = company.ground_truth
    for key, customer in truth["customers"].items():
        linked = len({root(n) for n in _customer_identifiers(customer)}) == 1
        assert linked == truth["linkable_by_rules"][key], key
        assert linked or customer["quirk"], f"{key} is unlinkable without a reason"
    unlinkable = sum(not v for v in truth["linkable_by_rules"].values())
    assert 0.03 * 400 <= unlinkable <= 0.12 * 400
    # Family members sharing a phone: the phone rule wrongly makes them one profile.
    assert truth["shared_phones"]
    for a, b, phone in truth["shared_phones"]:
        assert phone in truth["customers"][a]["phones_e164"]
        assert phone in truth["customers"][b]["phones_e164"]
        assert root(("user_id", truth["customers"][a]["user_id"])) == root(
            ("user_id", truth["customers"][b]["user_id"])
        )


def test_broken_journeys_go_branch_ivr_call_centre_technician(company: DemoCompany) -> None:
    broken = company.ground_truth["broken_journeys"]
    assert len(broken) >= 10
    by_customer = _events_by_customer(company)
    for key in broken:
        events = [(s, e, datetime.fromisoformat(e["timestamp"])) for s, e in by_customer[key]]
        journey = _find_journey(events)
        assert journey is not None, f"{key} has no branch → ivr → phone → technician sequence"
        begin, finish = journey
        window = [(s, e) for s, e, at in events if begin <= at <= finish + timedelta(hours=4)]
        asked = {s for s, e in window if e.get("event") == "Data Requested"}
        assert len(asked & {"ivr", "call-centre", "field-service"}) >= 2
        refs = [e["properties"].get("case_ref") for _, e in window if e["type"] == "track"]
        kept = [r for r in refs if r]
        assert kept and len(set(kept)) == 1 and len(kept) < len(refs), "case_ref on only some"


def _find_journey(events: list[tuple[str, Event, datetime]]) -> tuple[datetime, datetime] | None:
    steps = [
        ("branches", "Issue Reported"),
        ("ivr", "IVR Call"),
        ("call-centre", "Call Handled"),
        ("field-service", "Technician Visit"),
    ]
    for i, (source, event, at) in enumerate(events):
        if (source, event.get("event")) != steps[0]:
            continue
        step, last = 1, at
        for later_source, later, later_at in events[i + 1 :]:
            # The technician comes 2-6 days after the last call, which may be a second call
            # up to 2 days after the first.
            if later_at - last > timedelta(days=9):
                break
            if (later_source, later.get("event")) == steps[step]:
                step, last = step + 1, later_at
                if step == len(steps):
                    return at, later_at
    return None


def test_problem_reporters_buy_the_matching_add_on_more_often(company: DemoCompany) -> None:
    by_customer = _events_by_customer(company)
    labels = company.ground_truth["text_labels"]
    reported, bought = set(), set()
    for key, events in by_customer.items():
        for _, event in events:
            label = labels.get(event["messageId"])
            if label and label["topic"] == "slow_speed" and label["author"] == "customer":
                reported.add(key)
            is_purchase = event.get("event") == "Add-on Purchased"
            if is_purchase and event["properties"]["addon"] == "Wi-Fi Booster":
                bought.add(key)
    others = set(company.ground_truth["customers"]) - reported
    assert reported
    rate_reported = len(bought & reported) / len(reported)
    rate_others = len(bought & others) / len(others)
    assert rate_reported > 3 * rate_others
    assert company.ground_truth["addon_affinity"]["slow_speed"] == "Wi-Fi Booster"


def test_lifecycle_stages_show_in_the_events() -> None:
    company = generate_company(seed=5, customers=300, days=365)
    names = Counter(e.get("event") or e["type"] for _, e in company.events)
    for stage in (
        "Social Post",
        "page",
        "Chat Started",
        "Order Completed",
        "Purchase Completed",
        "Subscription Started",
        "Onboarding Completed",
        "Installation Completed",
        "screen",
        "Invoice Issued",
        "Call Handled",
        "Add-on Purchased",
        "Contract Renewed",
        "Subscription Cancelled",
        "Win-back Offer Sent",
        "Plan Changed",
        "alias",
        "group",
        "Survey Answered",
    ):
        assert names[stage] > 0, stage
    kinds = Counter(
        e["properties"]["kind"] for _, e in company.events if e.get("event") == "Survey Answered"
    )
    assert kinds["nps"] and kinds["csat"] and kinds["ces"]


def test_end_moves_the_window_and_bad_arguments_are_refused() -> None:
    end = datetime(2025, 3, 1, tzinfo=UTC)
    company = generate_company(seed=1, customers=30, days=20, end=end)
    stamps = [datetime.fromisoformat(e["timestamp"]) for _, e in company.events]
    assert min(stamps) >= end - timedelta(days=20) and max(stamps) < end
    with pytest.raises(ValueError, match="customers"):
        generate_company(customers=0)
    with pytest.raises(ValueError, match="timezone"):
        generate_company(customers=5, end=datetime(2026, 1, 1))


@pytest.mark.slow
def test_the_default_company_is_a_year_of_over_200k_events() -> None:
    company = generate_company()
    assert company.name == "Vistula Telecom"
    assert len(company.events) >= 200_000
    assert len(company.ground_truth["customers"]) >= 5000
    assert 150 <= len(company.ground_truth["broken_journeys"]) <= 600
    linkable = company.ground_truth["linkable_by_rules"].values()
    assert 0.05 <= sum(not v for v in linkable) / len(linkable) <= 0.10
    first = datetime.fromisoformat(company.events[0][1]["timestamp"])
    last = datetime.fromisoformat(company.events[-1][1]["timestamp"])
    assert last - first > timedelta(days=360)

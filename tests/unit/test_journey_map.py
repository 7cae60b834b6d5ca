"""The journey map file: the shipped telecom map, every rule with its line, event matching."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cxm.config import CHANNELS
from cxm.demo.generator import generate_company
from cxm.errors import InvalidInput, NotFound
from cxm.journeys import (
    JourneyMap,
    JourneyMapInvalid,
    default_journey_map,
    journey_map_from_data,
    parse_journey_map,
    telecom_yaml,
)
from cxm.journeys.service import set_influence_in_yaml

# Line numbers below refer to this file; keep it in step with the tests.
BASE = """\
journey: Test journey
departments:
  marketing: {name: Marketing, lead: Ewa Kowalska}
  it: {name: IT, lead: Piotr Zieliński}
stages:
  - id: discover
    name: First mention
  - id: buy
    name: Purchase
touchpoints:
  - id: home
    name: Home page
    stage: discover
    match: {type: page, event: Home, channel: web}
    owner: marketing
    influence: {marketing: 0.9, it: 0.5}
  - id: order
    name: Order
    stage: buy
    match:
      type: track
      event: [Order Completed]
    owner: it
    owner_name: Jan Nowak
    influence: {it: 0.8}
"""

# Segment events that only link identifiers or households: no touchpoint of their own.
BOOKKEEPING = {"alias", "group"}
# The marketing tool's log of who is in which group of a campaign (the holdout gets nothing).
ASSIGNMENT = ("track", "Campaign Assigned", "email")

# Every (type, name, channel) the demo generator emits, from builds of 3000 customers.
DEMO_EVENTS = [
    ("identify", None, "app"), ("identify", None, "social"), ("identify", None, "web"),
    ("page", "Add-ons", "web"), ("page", "Checkout", "web"), ("page", "Contact", "web"),
    ("page", "Coverage Map", "web"), ("page", "Help – Invoices", "web"),
    ("page", "Help – Outages", "web"), ("page", "Home", "web"), ("page", "My Account", "web"),
    ("page", "My Invoices", "web"), ("page", "Offer – Fibre", "web"),
    ("page", "Offer – Mobile", "web"), ("page", "Offer – TV", "web"), ("page", "Roaming", "web"),
    ("page", "Shop – Phones", "web"), ("screen", "Add-ons", "app"), ("screen", "Home", "app"),
    ("screen", "Invoices", "app"), ("screen", "Profile", "app"), ("screen", "Roaming", "app"),
    ("screen", "Support", "app"), ("screen", "Usage", "app"),
    ("track", "Add-on Purchased", "app"), ("track", "Add-on Purchased", "branch"),
    ("track", "Add-on Purchased", "web"), ("track", "Branch Visit", "branch"),
    ("track", "Offer Sent", "email"), ("track", "Consent Given", "web"),
    ("track", "Call Handled", "phone"), ("track", "Call Started", "phone"),
    ("track", "Call Transferred", "phone"), ("track", "Case Resolved", "field_service"),
    ("track", "Chat Started", "chat"), ("track", "Chat Transcript", "chat"),
    ("track", "Contract Renewed", "other"), ("track", "Data Requested", "field_service"),
    ("track", "Data Requested", "ivr"), ("track", "Data Requested", "phone"),
    ("track", "Data Usage Checked", "app"), ("track", "Email Answered", "email"),
    ("track", "Email Received", "email"), ("track", "IVR Call", "ivr"),
    ("track", "Identity Verified", "ivr"), ("track", "Installation Completed", "field_service"),
    ("track", "Invoice Issued", "other"), ("track", "Issue Reported", "branch"),
    ("track", "Loyalty Reward Redeemed", "app"), ("track", "Onboarding Completed", "app"),
    ("track", "Onboarding Completed", "other"), ("track", "Order Completed", "web"),
    ("track", "Payment Failed", "other"), ("track", "Plan Changed", "other"),
    ("track", "Purchase Completed", "branch"), ("track", "Repair Completed", "field_service"),
    ("track", "SMS Received", "sms"), ("track", "SMS Sent", "sms"),
    ("track", "Social Post", "social"), ("track", "Subscription Cancelled", "other"),
    ("track", "Subscription Started", "other"), ("track", "Survey Answered", "survey"),
    ("track", "Technician Visit", "field_service"), ("track", "Win-back Accepted", "other"),
    ("track", "Win-back Offer Sent", "other"),
]  # fmt: skip


def problems(text: str, filename: str = "journey.yaml") -> list[str]:
    with pytest.raises(JourneyMapInvalid) as caught:
        parse_journey_map(text, filename=filename)
    return [e.message for e in caught.value.errors]


def one_problem(text: str) -> str:
    [message] = problems(text)
    return message


def changed(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def matching(journey: JourneyMap, kind: str, name: str | None, channel: str) -> list[str]:
    return [t.id for t in journey.touchpoints if t.match.matches(kind, name, channel)]


# --- the shipped map ------------------------------------------------------------------------------


def test_the_telecom_map_has_every_stage_in_order() -> None:
    journey = parse_journey_map(telecom_yaml(), filename="telecom.yaml")
    assert [s.id for s in journey.stages] == [
        "discover", "engage", "purchase", "onboard", "use", "support", "loyalty", "winback",
    ]  # fmt: skip
    assert [s.rank for s in journey.stages] == list(range(8))
    assert journey.stage("winback").name == "Win-back after churn"
    assert journey.stage("loyalty").after == ("use",)
    assert {d.id for d in journey.departments} == {
        "marketing", "sales", "it", "billing", "legal", "call-centre", "retail", "field-service",
        "network", "hr", "customer-success",
    }  # fmt: skip
    for stage in journey.stages:
        assert journey.touchpoints_in(stage.id), f"stage {stage.id} has no touchpoint"
    for tp in journey.touchpoints:
        assert tp.influence[tp.owner] > 0 and tp.owner_name
        assert len(tp.influence) >= 2, f"{tp.id}: several departments shape each touchpoint"
    assert journey == default_journey_map()


def test_every_demo_event_belongs_to_exactly_one_touchpoint() -> None:
    journey = default_journey_map()
    company = generate_company(seed=7, customers=300, days=365)
    channel_of = {s.name: s.channel for s in company.sources}
    seen: Counter[tuple[str, str | None, str]] = Counter()
    for source, event in company.events:
        kind = event["type"]
        name = event.get("event") if kind == "track" else event.get("name")
        seen[(kind, name, channel_of[source])] += 1
    assert ASSIGNMENT in seen and journey.match(*ASSIGNMENT) is None
    assert set(seen) - {k for k in seen if k[0] in BOOKKEEPING} - {ASSIGNMENT} <= set(
        DEMO_EVENTS
    ), "the demo emits events this test does not know: add them to DEMO_EVENTS and the map"
    for kind, name, channel in DEMO_EVENTS:
        found = matching(journey, kind, name, channel)
        assert len(found) == 1, (kind, name, channel, found)
        assert journey.match(kind, name, channel).id == found[0]  # type: ignore[union-attr]
    for kind in BOOKKEEPING:
        assert journey.match(kind, None, "web") is None


def test_the_influence_matrix_lists_every_cell_and_marks_owners() -> None:
    journey = default_journey_map()
    rows = journey.influence_rows()
    assert len(rows) == sum(len(t.influence) for t in journey.touchpoints)
    owners = [r for r in rows if r.is_owner]
    assert len(owners) == len(journey.touchpoints)
    first = rows[0]
    assert (first.touchpoint, first.department, first.weight, first.is_owner) == (
        "social-posts", "marketing", 0.9, True,
    )  # fmt: skip


def test_the_map_round_trips_through_its_document() -> None:
    journey = default_journey_map()
    text = yaml.safe_dump(journey.to_document(), sort_keys=False, allow_unicode=True)
    assert parse_journey_map(text) == journey
    assert journey_map_from_data(journey.to_document()) == journey
    data = journey.to_dict()
    assert data["stages"][6] == {
        "id": "loyalty",
        "name": "Loyalty",
        "rank": 6,
        "after": ["use"],
        "description": "Renewals, rewards and what customers tell us in surveys.",
    }
    assert data["touchpoints"][0]["match"] == {
        "types": ["track"], "events": ["Social Post"], "channels": ["social"],
    }  # fmt: skip


# --- matching ---------------------------------------------------------------------------------


def test_match_classifies_one_event_exactly() -> None:
    journey = default_journey_map()
    assert journey.match("page", "Offer – TV", "web").id == "offer-pages"  # type: ignore[union-attr]
    assert journey.match("screen", "Support", "app").stage == "support"  # type: ignore[union-attr]
    assert journey.match("track", "Data Requested", "ivr").id == "ivr-verification"  # type: ignore[union-attr]
    assert journey.match("identify", None, "app").id == "app-activation"  # type: ignore[union-attr]
    assert journey.match("page", "offer – tv", "web") is None  # names are case-sensitive
    assert journey.match("page", "Offer – TV", "app") is None  # another channel
    assert journey.match("track", "Data Requested", "email") is None


def test_any_name_and_any_channel_patterns() -> None:
    text = changed("match: {type: page, event: Home, channel: web}", "match: {type: page}")
    journey = parse_journey_map(text)
    assert journey.match("page", "Anything", "app").id == "home"  # type: ignore[union-attr]
    assert journey.match("track", "Order Completed", "branch").id == "order"  # type: ignore[union-attr]
    assert journey.match("screen", "Home", "app") is None
    assert journey.touchpoint("home").match.events is None
    assert journey.touchpoint("order").match.channels is None


def test_lookups_name_what_is_known() -> None:
    journey = parse_journey_map(BASE)
    assert journey.stage_rank("buy") == 1
    assert [t.id for t in journey.touchpoints_in("buy")] == ["order"]
    assert journey.touchpoint("home").owner_name == "Ewa Kowalska"  # the department's lead
    assert journey.touchpoint("order").owner_name == "Jan Nowak"
    with pytest.raises(NotFound, match="no stage 'nowhere'; its stages: discover, buy"):
        journey.stage("nowhere")
    with pytest.raises(NotFound, match="no touchpoint 'x'"):
        journey.touchpoint("x")


# --- each rule, with its line -------------------------------------------------------------------


def test_the_error_is_invalid_input_with_a_stable_code() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_journey_map(changed("stage: buy", "stage: sell"), filename="mine.yaml")
    error = caught.value
    assert isinstance(error, JourneyMapInvalid)
    assert error.code == "invalid_journey_map" and error.http_status == 422
    assert error.message.startswith("mine.yaml is not a valid journey map (1 problem); the first:")
    [detail] = error.errors
    assert detail.loc == ("mine.yaml", "line 19", "touchpoints", 1, "stage")


def test_touchpoint_in_an_unknown_stage() -> None:
    assert one_problem(changed("stage: buy", "stage: sell")) == (
        "journey.yaml:19: touchpoint 'order' is in stage 'sell', which is not a stage; "
        "known stages: buy, discover"
    )


def test_overlapping_patterns_name_both_touchpoints_and_an_example() -> None:
    text = changed("event: [Order Completed]", "event: [Order Completed]\n      channel: web")
    text = text.replace("type: track", "type: [track, page]").replace(
        "event: [Order Completed]", "event: [Order Completed, Home]"
    )
    assert one_problem(text) == (
        "journey.yaml:20: touchpoints 'home' (line 11) and 'order' could match the same event, "
        "e.g. a page event named 'Home' on channel web; each event must belong to one "
        "touchpoint: narrow the event names or channels of one of them"
    )


def test_an_omitted_name_or_channel_overlaps_everything() -> None:
    text = changed("match: {type: page, event: Home, channel: web}", "match: {type: track}")
    assert "e.g. a track event named 'Order Completed' on any channel" in one_problem(text)
    apart = changed("match: {type: page, event: Home, channel: web}", "match: {type: page}")
    parse_journey_map(apart)  # another type: no overlap


def test_disjoint_channels_do_not_overlap() -> None:
    text = changed(
        "match: {type: page, event: Home, channel: web}",
        "match: {type: track, event: Order Completed, channel: [web, app]}",
    ).replace("event: [Order Completed]", "event: [Order Completed]\n      channel: branch")
    parse_journey_map(text)


def test_weight_outside_0_to_1() -> None:
    assert one_problem(changed("it: 0.5}", "it: 1.5}")) == (
        "journey.yaml:16: weight 1.5 for department 'it' in touchpoint 'home' is outside 0–1"
    )


def test_weight_that_is_not_a_number() -> None:
    assert one_problem(changed("it: 0.5}", "it: high}")) == (
        "journey.yaml:16: the weight for department 'it' in touchpoint 'home' is 'high'; "
        "a weight is a number from 0 to 1"
    )


def test_cycle_in_stage_order_names_the_stages() -> None:
    text = changed("    name: First mention\n", "    name: First mention\n    after: [buy]\n")
    assert one_problem(text) == (
        "journey.yaml:8: the stage order has a cycle: discover → buy → discover; each stage "
        "must come after stages that do not come after it"
    )


def test_after_an_unknown_stage() -> None:
    text = changed("    name: Purchase\n", "    name: Purchase\n    after: [discover, pay]\n")
    assert one_problem(text) == (
        "journey.yaml:10: stage 'buy' comes after 'pay', which is not a stage; "
        "known stages: buy, discover"
    )


def test_stage_order_follows_after() -> None:
    text = changed(
        "  - id: buy\n    name: Purchase\n",
        "  - id: buy\n    name: Purchase\n    after: [later]\n  - id: later\n    name: Later\n"
        "    after: [discover]\n",
    )
    journey = parse_journey_map(text)
    assert [(s.id, s.rank) for s in journey.stages] == [("discover", 0), ("later", 1), ("buy", 2)]


def test_unknown_department_in_influence_and_owner() -> None:
    text = changed("influence: {it: 0.8}", "influence: {it: 0.8, finance: 0.3}")
    text = text.replace("owner: it", "owner: finance")
    assert problems(text) == [
        "journey.yaml:23: touchpoint 'order' is owned by 'finance', which is not a department; "
        "known: marketing, it",
        "journey.yaml:25: touchpoint 'order' names 'finance', which is not a department; "
        "known: marketing, it",
    ]


def test_the_owner_must_have_influence() -> None:
    assert one_problem(changed("influence: {it: 0.8}", "influence: {it: 0}")) == (
        "journey.yaml:25: touchpoint 'order' is owned by 'it', so influence must give 'it' a "
        "weight above 0"
    )


def test_unknown_key() -> None:
    assert one_problem(changed("    owner_name: Jan Nowak", "    owner_nam: Jan Nowak")) == (
        "journey.yaml:24: unknown key 'owner_nam' in touchpoint 'order'; expected one of: id, "
        "name, stage, match, owner, owner_name, influence, role, description"
    )
    assert one_problem(changed("journey: Test journey", "journey: T\nversion: 2")) == (
        "journey.yaml:2: unknown key 'version' in the journey map; expected one of: journey, "
        "description, departments, stages, touchpoints"
    )


def test_missing_required_field() -> None:
    assert one_problem(changed("    name: Order\n", "")) == (
        "journey.yaml:17: touchpoint 'order' lacks the required field 'name'"
    )
    assert one_problem(changed("  it: {name: IT, lead: Piotr Zieliński}", "  it: {name: IT}")) == (
        "journey.yaml:4: department 'it' lacks the required field 'lead'"
    )


def test_yaml_syntax_error_with_its_line() -> None:
    message = one_problem(changed("it: 0.5}", "it: 0.5"))
    assert message.startswith("journey.yaml:17: YAML syntax error: ")


def test_duplicate_ids_and_keys() -> None:
    text = changed("  - id: order\n", "  - id: home\n")
    assert one_problem(text) == "journey.yaml:17: duplicate touchpoint id 'home' (first on line 11)"
    duplicate = "  it: {name: IT, lead: P}\n  it: {name: IT, lead: Q}"
    text = changed("  it: {name: IT, lead: Piotr Zieliński}", duplicate)
    assert one_problem(text) == (
        "journey.yaml:5: the key 'it' appears twice (also on line 4); keep one"
    )


def test_unknown_event_type_and_channel() -> None:
    text = changed("{type: page, event: Home, channel: web}", "{type: click, channel: [web, fax]}")
    assert problems(text) == [
        "journey.yaml:14: touchpoint 'home': unknown event type 'click'; expected one of track, "
        "page, screen, identify",
        f"journey.yaml:14: touchpoint 'home': unknown channel 'fax'; expected one of "
        f"{', '.join(CHANNELS)}",
    ]


def test_identify_patterns_cannot_name_events() -> None:
    text = changed("match: {type: page, event: Home, channel: web}", "match: {type: identify, "
                   "event: Signed In}")  # fmt: skip
    assert "identify events have no name" in one_problem(text)


def test_bad_ids_and_empty_maps() -> None:
    assert "stage id 'Buy Now' is not valid" in one_problem(
        changed("  - id: buy\n", "  - id: Buy Now\n").replace("stage: buy", "stage: Buy Now")
    )
    assert problems("") == [
        "journey.yaml: the file is empty; a journey map needs journey, departments, stages and "
        "touchpoints"
    ]
    assert problems("- a list") == [
        "journey.yaml:1: a journey map is a mapping of keys to values, not list"
    ]
    assert problems("journey: x\ndepartments: {}\nstages: []\ntouchpoints: []\n") == [
        "journey.yaml:3: a journey needs at least one stage"
    ]


def test_all_problems_are_reported_together_in_line_order() -> None:
    text = (
        changed("journey: Test journey", "journey: Test journey\ncolour: red")
        .replace("it: 0.5}", "it: 1.5}")
        .replace("stage: buy", "stage: sell")
        .replace("owner: it", "owner: ops")
    )
    found = problems(text, filename="telecom.yaml")
    assert [m.split(":")[1] for m in found] == ["2", "17", "20", "24"]
    assert all(m.startswith("telecom.yaml:") for m in found)


def test_data_without_lines_gives_paths() -> None:
    data = yaml.safe_load(changed("it: 0.5}", "it: 1.5}"))
    with pytest.raises(JourneyMapInvalid) as caught:
        journey_map_from_data(data)
    [detail] = caught.value.errors
    assert detail.loc == ("request body", "touchpoints", 0, "influence", "it")
    assert detail.message == (
        "request body: touchpoints[0].influence.it: weight 1.5 for department 'it' in "
        "touchpoint 'home' is outside 0–1"
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_map_or_a_list_of_problems(text: str) -> None:
    try:
        parse_journey_map(text)
    except JourneyMapInvalid as exc:
        assert exc.errors and all(e.message.startswith("journey.yaml") for e in exc.errors)


# --- patterns that do not overlap always validate --------------------------------------------

EVENT_NAMED = ("track", "page", "screen")


@st.composite
def disjoint_patterns(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Touchpoint patterns that cannot overlap: each has event names of its own."""
    count = draw(st.integers(min_value=1, max_value=8))
    patterns = []
    for index in range(count):
        names = [f"Event {index}.{k}" for k in range(draw(st.integers(1, 3)))]
        channels = draw(st.none() | st.lists(st.sampled_from(CHANNELS), min_size=1, unique=True))
        types = draw(st.lists(st.sampled_from(EVENT_NAMED), min_size=1, max_size=3, unique=True))
        match: dict[str, Any] = {"type": types if len(types) > 1 else types[0], "event": names}
        if channels is not None:
            match["channel"] = channels
        patterns.append(match)
    return patterns


@settings(max_examples=100, deadline=None)
@given(disjoint_patterns(), st.data())
def test_disjoint_patterns_validate_and_match_their_touchpoint(
    patterns: list[dict[str, Any]], data: st.DataObject
) -> None:
    document = {
        "journey": "Generated",
        "departments": {"ops": {"name": "Operations", "lead": "Jan Nowak"}},
        "stages": [{"id": "only", "name": "Only"}],
        "touchpoints": [
            {
                "id": f"tp-{i}",
                "name": f"Touchpoint {i}",
                "stage": "only",
                "match": match,
                "owner": "ops",
                "influence": {"ops": 1},
            }
            for i, match in enumerate(patterns)
        ],
    }
    journey = parse_journey_map(yaml.safe_dump(document, allow_unicode=True))
    for i, match in enumerate(patterns):
        types = match["type"] if isinstance(match["type"], list) else [match["type"]]
        kind = data.draw(st.sampled_from(types))
        name = data.draw(st.sampled_from(match["event"]))
        channel = data.draw(st.sampled_from(match.get("channel") or CHANNELS))
        assert journey.match(kind, name, channel).id == f"tp-{i}"  # type: ignore[union-attr]
        assert journey.match(kind, name + " (other)", channel) is None


# --- editing influence in the YAML --------------------------------------------------------------


def test_setting_influence_keeps_comments_and_layout() -> None:
    source = telecom_yaml()
    edited = set_influence_in_yaml(source, touchpoint="home-page", department="it", weight=0.4)
    assert edited == source.replace(
        "influence: {marketing: 0.8, it: 0.7, sales: 0.3}",
        "influence: {marketing: 0.8, it: 0.4, sales: 0.3}",
    )
    added = set_influence_in_yaml(source, touchpoint="home-page", department="hr", weight=0.25)
    assert "influence: {marketing: 0.8, it: 0.7, sales: 0.3, hr: 0.25}" in added
    removed = set_influence_in_yaml(source, touchpoint="home-page", department="it", weight=None)
    assert "influence: {marketing: 0.8, sales: 0.3}" in removed
    last = set_influence_in_yaml(source, touchpoint="home-page", department="sales", weight=None)
    assert "influence: {marketing: 0.8, it: 0.7}\n" in last
    assert parse_journey_map(last).touchpoint("home-page").influence == {
        "marketing": 0.8,
        "it": 0.7,
    }


def test_setting_influence_in_a_block_mapping() -> None:
    source = telecom_yaml()
    block = "      network: 0.4\n      billing: 0.3\n"
    assert block in source  # the `calls` touchpoint writes its influence as a block
    added = set_influence_in_yaml(source, touchpoint="calls", department="legal", weight=0.2)
    assert block + "      legal: 0.2\n" in added
    removed = set_influence_in_yaml(source, touchpoint="calls", department="network", weight=None)
    assert "      it: 0.4\n      billing: 0.3\n" in removed
    assert removed.count("\n") == source.count("\n") - 1
    changed_weight = set_influence_in_yaml(source, touchpoint="calls", department="hr", weight=1)
    assert "      hr: 1\n" in changed_weight
    assert changed_weight.startswith("# The customer journey of Vistula Telecom")


def test_the_documented_example_is_valid() -> None:
    docs = Path(__file__).parents[2] / "docs" / "journeys.md"
    example = re.search(r"```yaml\n(.*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert example is not None
    journey = parse_journey_map(example.group(1))
    assert journey.match("track", "Call Handled", "phone").id == "calls"  # type: ignore[union-attr]


def test_touchpoint_role_is_checked_and_kept() -> None:
    assert one_problem(
        changed("    owner_name: Jan Nowak", "    owner_name: Jan Nowak\n    role: contakt")
    ) == (
        "journey.yaml:25: touchpoint 'order': 'role' is 'contakt': input should be 'contact', "
        "'data_request', 'resolution', 'reopen', 'self_service' or 'churn'"
    )
    journey = parse_journey_map(
        changed("    owner_name: Jan Nowak", "    owner_name: Jan Nowak\n    role: contact")
    )
    assert [t.id for t in journey.with_role("contact")] == ["order"]
    assert journey.touchpoint("order").role == "contact"
    assert "role: contact" in yaml.safe_dump(journey.to_document(), allow_unicode=True)


def test_demo_map_gives_every_behavioural_role_a_touchpoint() -> None:
    journey = default_journey_map()
    for role in ("contact", "data_request", "resolution", "self_service", "churn"):
        assert journey.with_role(role), role

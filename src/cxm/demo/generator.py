"""The demo company: a year of Vistula Telecom's customers across every channel, with ground truth.

Vistula Telecom is a Polish operator (mobile, home fibre, TV, add-ons). Its silos record the
same people under different identifiers: browser ids, account ids, e-mail addresses, caller
numbers typed in many formats, social handles. ``generate_company`` returns Segment-spec events
per source plus the truth a resolver and the analytics should recover. Pure: no I/O, and the
same seed gives the same company.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cxm.demo.effort import Effort, customer_effort, effort_model
from cxm.demo.lifecycle import (
    ADDON_AFFINITY,
    CAMPAIGN,
    CAMPAIGN_ADDON,
    CAMPAIGN_EXTRA_RATE,
    CAMPAIGN_HOLDOUT,
    OUTAGE_CITY,
    OUTAGE_DAYS_BEFORE_END,
    CustomerYear,
)
from cxm.demo.population import draw_population
from cxm.demo.recorder import DAY, EventRecorder
from cxm.demo.touchpoints import Touchpoints
from cxm.errors import InvalidInput

DEFAULT_END = datetime(2026, 11, 1, tzinfo=UTC)
COMPANY_NAME = "Vistula Telecom"


@dataclass(frozen=True)
class DemoSource:
    """A silo of the demo company: where its events come from and which channel it is."""

    name: str
    channel: str
    label: str


@dataclass
class DemoCompany:
    """A generated company: its sources, its events in time order, and the ground truth.

    ``events`` holds ``(source name, Segment event)`` pairs sorted by timestamp. The
    JSON-serialisable ``ground_truth`` has ``customers`` (key → user_id, emails, phones_e164,
    anonymous_ids, social_handles, name, name_latin, language, services, issues, quirk,
    household, joined_in_window, churned, effort), ``broken_journeys`` (keys),
    ``linkable_by_rules`` (key → bool), ``shared_phones`` (``[key_a, key_b, e164]``),
    ``addon_affinity`` (problem topic → add-on bought more often), ``incidents`` (each
    problem's customer, topic, start, end, touchpoint, case and effort components),
    ``effort_model`` (how effort drives the survey answers), ``text_labels`` (messageId →
    topic, language, sentiment, author) and ``notes``.
    """

    name: str
    sources: list[DemoSource]
    events: list[tuple[str, dict[str, Any]]]
    ground_truth: dict[str, Any]


SOURCES = (
    DemoSource("website", "web", "Website (vistula.pl)"),
    DemoSource("mobile-app", "app", "Mobile app (Mój Vistula)"),
    DemoSource("email-support", "email", "E-mail support (pomoc@vistula.pl)"),
    DemoSource("call-centre", "phone", "Call centre"),
    DemoSource("ivr", "ivr", "IVR phone menu"),
    DemoSource("branches", "branch", "Branches and shops"),
    DemoSource("live-chat", "chat", "Live chat"),
    DemoSource("social", "social", "Social media (Facebook, X, Instagram)"),
    DemoSource("field-service", "field_service", "Field service technicians"),
    DemoSource("surveys", "survey", "Surveys (NPS, CSAT, CES)"),
    DemoSource("billing", "other", "Billing system"),
    DemoSource("sms", "sms", "SMS gateway"),
    DemoSource("marketing", "email", "E-mail marketing (campaigns)"),
)

NOTES = (
    "linkable_by_rules[c] is true when cxm's deterministic rules (userId+anonymousId on one "
    "event, alias, e-mail or E.164 phone in traits/context.traits) connect all of c's "
    "identifiers as they occur in c's own events.",
    "Customers with linkable_by_rules false have a quirk (social_only, second_phone, alt_email): "
    "some channel shares no identifier with the rest; they are for probabilistic matching.",
    "shared_phones lists family members who share one phone number: the phone rule merges each "
    "pair into one profile, which is wrong person-wise; expect these false merges from rules "
    "alone (each member is still linkable_by_rules).",
    "text_labels gives, by messageId, the topic, language, sentiment and author of each free "
    "text (properties.text, or properties.comment of a Survey Answered event).",
    "Survey Answered events have the shape cxm's own survey responses log: survey, kind "
    "(nps|csat|ces), score, comment, touchpoint (the journey map touchpoint the answer is "
    "about, after an incident), case (the case ref, when the incident had one) and language.",
    "customers[c].effort is the effort c's incidents cost them over the window, summed over "
    "incidents: contacts, channel_switches, handoffs (call transfers, technician visits), "
    "data_reasks (asked again for data already given), days_to_resolve and points, the "
    "weighted total in CES points (effort_model.weights). incidents lists each incident. "
    "CES (1-7, 7 = easiest) after an incident is drawn around 6.2 - points, CSAT from the "
    "same points, and the relationship NPS falls with the points of incidents before it.",
)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    # A full-size run allocates over a million dicts that all stay alive to the end; the cyclic
    # collector would rescan them again and again (about a third of the run) and free nothing.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def generate_company(
    *, seed: int = 7, customers: int = 5000, days: int = 365, end: datetime | None = None
) -> DemoCompany:
    """Generate the demo company's events over ``days`` days ending at ``end`` (UTC).

    >>> company = generate_company(seed=1, customers=20, days=30)
    >>> source, event = company.events[0]
    >>> event["type"] in ("identify", "track", "page", "screen", "group", "alias")
    True
    """
    if customers < 1:
        raise InvalidInput(f"customers must be at least 1, got {customers}")
    if days < 1:
        raise InvalidInput(f"days must be at least 1, got {days}")
    end = end or DEFAULT_END
    if end.tzinfo is None:
        raise InvalidInput(f"end must be timezone-aware (UTC), got naive {end.isoformat()}")
    end_ms = int(end.timestamp() * 1000)
    start_ms = end_ms - days * DAY
    rng = random.Random(seed)
    recorder = EventRecorder(start_ms=start_ms, end_ms=end_ms)
    survey_rng = random.Random(f"demo-surveys:{seed}")
    touchpoints = Touchpoints(rng=rng, recorder=recorder, survey_rng=survey_rng)
    incidents: dict[str, list[Effort]] = {}
    with _cyclic_gc_paused():
        population, shared_phones = draw_population(rng, customers, start_ms, end_ms)
        for persona in population:
            year = CustomerYear(touchpoints, persona, start_ms=start_ms, end_ms=end_ms)
            year.live()
            incidents[persona.key] = year.incidents
        events, text_labels = recorder.finish(f"demo-{seed}-")

    truth_customers: dict[str, Any] = {}
    linkable: dict[str, bool] = {}
    for p in population:
        ids = recorder.ids.get(p.key)
        truth_customers[p.key] = {
            "user_id": p.user_id,
            "emails": sorted(ids.emails) if ids else [],
            "phones_e164": sorted(ids.phones) if ids else [],
            "anonymous_ids": sorted(ids.anonymous_ids) if ids else [],
            "social_handles": sorted(ids.social_handles) if ids else [],
            "name": p.name,
            "name_latin": p.name_latin,
            "language": p.language,
            "services": list(p.services),
            "issues": list(p.issues),
            "quirk": p.quirk,
            "household": p.household,
            "joined_in_window": p.join_ms is not None,
            "churned": p.churn_ms is not None,
            "churn_driver": p.churn_driver,
            "effort": customer_effort(incidents[p.key]),
        }
        linkable[p.key] = ids is not None and ids.components() == 1
    ground_truth = {
        "customers": truth_customers,
        "broken_journeys": [p.key for p in population if p.broken_journey],
        "linkable_by_rules": linkable,
        "shared_phones": [list(pair) for pair in shared_phones],
        "addon_affinity": dict(ADDON_AFFINITY),
        "campaign": {
            "name": CAMPAIGN,
            "goal": {"event": "Add-on Purchased", "where": {"addon": CAMPAIGN_ADDON}, "days": 30},
            "holdout": CAMPAIGN_HOLDOUT,
            "extra_rate": CAMPAIGN_EXTRA_RATE,
        },
        "outage": {
            "city": OUTAGE_CITY,
            "day": _iso(end_ms - OUTAGE_DAYS_BEFORE_END * DAY)[:10],
            "topic": "outage",
        },
        "incidents": [
            _incident_truth(key, effort) for key, efforts in incidents.items() for effort in efforts
        ],
        "effort_model": effort_model(),
        "text_labels": text_labels,
        "notes": list(NOTES),
    }
    return DemoCompany(
        name=COMPANY_NAME, sources=list(SOURCES), events=events, ground_truth=ground_truth
    )


def _incident_truth(customer: str, effort: Effort) -> dict[str, Any]:
    return {
        "customer": customer,
        "topic": effort.topic,
        "start": _iso(effort.start),
        "end": _iso(effort.end),
        "broken_journey": effort.broken_journey,
        "touchpoint": effort.touchpoint,
        "case": effort.case,
        **effort.components(),
    }


def _iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )

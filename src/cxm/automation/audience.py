"""What automation knows about a customer when it decides: their current traits, whether they
are in a segment, and whether they may be contacted for a purpose.

Consent, until the privacy capability keeps a ledger of its own, is read from what the
customer told the company, newest first:

- a ``Consent Given`` / ``Consent Withdrawn`` event with ``purpose`` (and ``Do Not Contact``);
- Segment's ``Segment Consent Preference Updated`` event, whose
  ``context.consent.categoryPreferences`` (category → true/false) is read per category:
  Advertising and Marketing are ``marketing``, Analytics ``analytics``, Personalization
  ``profiling``, Functional and Strictly Necessary ``service``; any other category is the
  purpose of its own name, lower-cased (``SEGMENT_CATEGORIES``);
- the traits ``do_not_contact`` (true: never contact), ``consent_<purpose>`` (true/false) and
  ``consents`` (an object of purpose → true/false).

``marketing`` needs a yes (opt-in, as the GDPR and the ePrivacy rules want for marketing);
any other purpose (``service``: messages about the customer's own matters) is allowed unless
the customer said no.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.identity.tables import profiles
from cxm.ingest.tables import events
from cxm.profiles.tables import profile_events, trait_observations
from cxm.segments.queries import get_segment

OPT_IN_PURPOSES = frozenset({"marketing"})
SEGMENT_CONSENT_EVENT = "Segment Consent Preference Updated"
CONSENT_EVENTS = ("Consent Given", "Consent Withdrawn", "Do Not Contact", SEGMENT_CONSENT_EVENT)
# Segment's consent categories (lower-cased, spaces and dashes removed) → cxm's purposes.
SEGMENT_CATEGORIES = {
    "advertising": "marketing",
    "marketing": "marketing",
    "analytics": "analytics",
    "personalization": "profiling",
    "personalisation": "profiling",
    "functional": "service",
    "strictlynecessary": "service",
}


@dataclass(frozen=True)
class ConsentStatement:
    """One thing a consent event says: a purpose (``*``: any contact), maybe a channel, yes or
    no, under which wording version."""

    purpose: str
    channel: str | None
    given: bool
    version: str | None = None

    @property
    def key(self) -> str:
        return f"{self.purpose}@{self.channel}" if self.channel else self.purpose


def consent_statements(name: str, payload: dict[str, Any] | None) -> list[ConsentStatement]:
    """What the consent event ``name`` with ``payload`` (the stored event) says."""
    payload = payload or {}
    props = payload.get("properties") or {}
    version = props.get("version")
    version = str(version) if isinstance(version, str | int | float) else None
    if name == "Do Not Contact":
        return [ConsentStatement("*", None, False, version)]
    if name == SEGMENT_CONSENT_EVENT:
        consent = (payload.get("context") or {}).get("consent") or {}
        prefs = consent.get("categoryPreferences") if isinstance(consent, dict) else None
        if not isinstance(prefs, dict):
            return []
        found = []
        for category, given in prefs.items():
            if not isinstance(given, bool) or not isinstance(category, str):
                continue
            plain = re.sub(r"[\s_-]+", "", category).lower()[:100]
            if plain:
                found.append(ConsentStatement(SEGMENT_CATEGORIES.get(plain, plain), None, given,
                                              version))  # fmt: skip
        return found
    purpose, channel = props.get("purpose"), props.get("channel")
    if not isinstance(purpose, str) or not purpose:
        return []
    channel = channel if isinstance(channel, str) and channel else None
    return [ConsentStatement(purpose, channel, name == "Consent Given", version)]


@dataclass(frozen=True)
class Customer:
    profile_id: str
    traits: dict[str, Any]
    last_seen: datetime | None
    display_name: str | None
    # Consent events by purpose, newest last: (at, given)
    consent_events: dict[str, list[tuple[datetime, bool]]]

    @property
    def first_name(self) -> str | None:
        for key in ("firstName", "first_name"):
            value = self.traits.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        name = self.traits.get("name") or self.display_name
        return name.split()[0] if isinstance(name, str) and name.strip() else None

    @property
    def language(self) -> str:
        for key in ("language", "locale"):
            value = self.traits.get(key)
            if isinstance(value, str) and value[:2].lower() in ("pl", "en", "ru"):
                return value[:2].lower()
        return "pl"

    def may_contact(self, purpose: str, channel: str | None = None) -> tuple[bool, str | None]:
        """Whether the customer may be contacted for ``purpose`` (in ``channel``), and if not,
        why. Consent is per purpose and, where the event names one, per channel: the latest
        event about the purpose as a whole or about this channel decides. Without a channel
        (deciding whether a rule fires at all), a yes in any channel is enough to go on; each
        action is then held to its own channel."""
        if self.consent_events.get("*"):
            return False, "the customer asked not to be contacted"
        if self.traits.get("do_not_contact") is True:
            return False, "the customer asked not to be contacted (trait do_not_contact)"
        events = list(self.consent_events.get(purpose, []))
        if channel is not None:
            events = sorted(events + self.consent_events.get(f"{purpose}@{channel}", []))
        said: bool | None = events[-1][1] if events else None
        if said is None and channel is None:
            per_channel = [v for k, v in self.consent_events.items()
                           if k.startswith(f"{purpose}@") and v]  # fmt: skip
            if any(v[-1][1] for v in per_channel):
                said = True
        if said is None:
            trait = self.traits.get(f"consent_{purpose}")
            consents = self.traits.get("consents")
            if isinstance(trait, bool):
                said = trait
            elif isinstance(consents, dict) and isinstance(consents.get(purpose), bool):
                said = consents[purpose]
        if said is False:
            where = f" by {channel}" if channel and self.consent_events.get(
                f"{purpose}@{channel}") else ""  # fmt: skip
            return False, f"the customer withdrew consent for {purpose}{where}"
        if said is None and purpose in OPT_IN_PURPOSES:
            return False, f"no consent for {purpose} (it needs a yes)"
        return True, None

    def context(self) -> dict[str, Any]:
        """What templates may use: ``{{ first_name }}``, ``{{ name }}``, ``{{ traits.plan }}``."""
        return {
            "profile_id": self.profile_id,
            "name": self.display_name or self.traits.get("name") or "",
            "first_name": self.first_name or "",
            "traits": self.traits,
            "language": self.language,
        }


ALERT_PREFIX = "alert:"


def alert_recipient(key: str) -> Customer:
    """Who an alert rule's action speaks to: the team, not a customer (``key`` is the job's
    ``alert:<id>``); templates get English and no customer traits."""
    return Customer(profile_id=key, traits={"language": "en"}, last_seen=None,
                    display_name="the team", consent_events={})  # fmt: skip


def load_customer(session: Session, profile_id: str) -> Customer | None:
    """The live profile ``profile_id`` is (or was merged into), with what automation needs."""
    live_profile = profiles.alias("live")
    live = session.execute(
        select(live_profile.c.id, live_profile.c.last_seen, live_profile.c.display_name)
        .select_from(profiles)
        .join(
            live_profile,
            live_profile.c.id == func.coalesce(profiles.c.merged_into, profiles.c.id),
        )
        .where(profiles.c.id == profile_id)
    ).first()
    if live is None:
        return None
    root = live.id
    traits: dict[str, Any] = {}
    obs = trait_observations.c
    for key, value in session.execute(
        select(obs.key, obs.value)
        .where(obs.profile_id == root)
        .order_by(obs.observed_at, obs.seq)  # newest last wins
    ):
        traits[key] = orjson.loads(value)
    consent: dict[str, list[tuple[datetime, bool]]] = defaultdict(list)
    rows = session.execute(
        select(events.c.event, events.c.timestamp, events.c.payload)
        .join(profile_events, profile_events.c.seq == events.c.seq)
        .where(profile_events.c.profile_id == root, events.c.event.in_(CONSENT_EVENTS))
        .order_by(events.c.timestamp, events.c.seq)
    )
    for name, at, payload in rows:
        for said in consent_statements(name, orjson.loads(payload)):
            consent[said.key].append((at, said.given))
    return Customer(
        profile_id=root,
        traits=traits,
        last_seen=live.last_seen if live else None,
        display_name=live.display_name if live else None,
        consent_events=dict(consent),
    )


def consent_ledger(session: Session, profile_id: str) -> list[dict[str, Any]]:
    """Every consent the customer gave or withdrew, oldest first: what, for which purpose and
    channel, under which wording version, from which source, when."""
    from cxm.ingest.tables import sources

    rows = session.execute(
        select(events.c.event, events.c.timestamp, events.c.payload, sources.c.name)
        .join(profile_events, profile_events.c.seq == events.c.seq)
        .join(sources, sources.c.id == events.c.source_id)
        .where(profile_events.c.profile_id == profile_id, events.c.event.in_(CONSENT_EVENTS))
        .order_by(events.c.timestamp, events.c.seq)
    )
    ledger = []
    for name, at, payload, source in rows:
        for said in consent_statements(name, orjson.loads(payload)):
            ledger.append(
                {
                    "event": name,
                    "at": at.isoformat(),
                    "source": source,
                    "purpose": said.purpose,
                    "channel": said.channel,
                    "given": said.given,
                    "version": said.version,
                }
            )
    return ledger


def in_segment(session: Session, name: str, customer: Customer, now: datetime) -> bool:
    segment = get_segment(session, name)
    return segment.definition.includes(customer.traits, last_seen=customer.last_seen, now=now)

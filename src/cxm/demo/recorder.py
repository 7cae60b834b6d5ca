"""Collects the demo company's events and what the identity rules can link, customer by customer.

The recorder applies cxm's deterministic rules to each customer's own events as they are
recorded (every identifier one event carries is linked: userId, anonymousId, alias previousId,
the e-mail and the E.164 phone in ``traits``/``context.traits``), so the ground truth says for
each customer whether a correct rule-based resolver can end with one profile for them.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from cxm.demo.people import Persona, format_phone

Event = dict[str, Any]
MINUTE = 60_000  # times are epoch milliseconds
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass
class CustomerIds:
    """A customer's identifiers as their events carry them, and a union-find over them."""

    user_ids: dict[str, None] = field(default_factory=dict)  # dicts: insertion-ordered sets
    emails: dict[str, None] = field(default_factory=dict)
    phones: dict[str, None] = field(default_factory=dict)
    anonymous_ids: dict[str, None] = field(default_factory=dict)
    social_handles: dict[str, None] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)

    def root(self, node: str) -> str:
        parent = self.parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def link(self, nodes: list[str]) -> None:
        for node in nodes:
            self.parent.setdefault(node, node)
        first = self.root(nodes[0])
        for node in nodes[1:]:
            other = self.root(node)
            if other != first:
                self.parent[other] = first

    def components(self) -> int:
        return len({self.root(node) for node in self.parent})


class EventRecorder:
    """Holds events as ``(epoch ms, order, source, event)`` until ``finish`` sorts and stamps them.

    Events outside ``[start_ms, end_ms)`` are dropped, so activity planned near the edges of
    the window simply does not happen, and nothing dropped counts as evidence for linking.
    """

    def __init__(self, *, start_ms: int, end_ms: int) -> None:
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.ids: dict[str, CustomerIds] = {}
        self._rows: list[tuple[int, int, str, Event]] = []
        self._labels: dict[int, dict[str, str]] = {}
        self._e164: dict[str, str] = {}

    def phone(self, rng: random.Random, e164: str) -> str:
        """``e164`` written the way some silo writes it; remembered so linking can read it."""
        written = format_phone(rng, e164)
        self._e164[written] = e164
        return written

    def phone_as_is(self, e164: str) -> str:
        """``e164`` itself, for silos that store numbers in E.164."""
        self._e164[e164] = e164
        return e164

    def add(
        self,
        p: Persona,
        source: str,
        at: int,
        event: Event,
        *,
        label: dict[str, str] | None = None,
    ) -> bool:
        """Record ``event`` of customer ``p`` at ``at`` (epoch ms); False when outside the window.

        ``label`` is the ground truth about the event's text (topic, language, sentiment).
        """
        if not self.start_ms <= at < self.end_ms:
            return False
        ids = self.ids.get(p.key)
        if ids is None:
            ids = self.ids[p.key] = CustomerIds()
        nodes: list[str] = []
        user_id = event.get("userId")
        if user_id:
            ids.user_ids[user_id] = None
            nodes.append("u:" + user_id)
        for key in ("anonymousId", "previousId"):
            anonymous_id = event.get(key)
            if anonymous_id:
                ids.anonymous_ids[anonymous_id] = None
                nodes.append("a:" + anonymous_id)
        context = event.get("context")
        traits = event.get("traits") if event["type"] == "identify" else None
        if traits is None and context is not None:
            traits = context.get("traits")
        if traits:
            email = traits.get("email")
            if email:
                email = email.strip().lower()
                ids.emails[email] = None
                nodes.append("e:" + email)
            phone = traits.get("phone")
            if phone:
                e164 = self._e164[phone]
                ids.phones[e164] = None
                nodes.append("p:" + e164)
        if context is not None:
            for external in context.get("externalIds", ()):
                ids.social_handles[external["id"]] = None
                nodes.append("s:" + external["id"])
        ids.link(nodes)
        order = len(self._rows)
        self._rows.append((at, order, source, event))
        if label is not None:
            self._labels[order] = label
        return True

    def finish(self, message_prefix: str) -> tuple[list[tuple[str, Event]], dict[str, Any]]:
        """Events in time order with timestamps and messageIds, and the text labels by messageId."""
        self._rows.sort(key=lambda row: (row[0], row[1]))
        events: list[tuple[str, Event]] = []
        labels: dict[str, Any] = {}
        days: dict[int, str] = {}
        for n, (at, order, source, event) in enumerate(self._rows):
            message_id = f"{message_prefix}{n}"
            day, in_day = divmod(at, 86_400_000)
            date = days.get(day)
            if date is None:
                date = days[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
            seconds, millis = divmod(in_day, 1000)
            minutes, second = divmod(seconds, 60)
            hour, minute = divmod(minutes, 60)
            event["messageId"] = message_id
            event["timestamp"] = f"{date}{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"
            label = self._labels.get(order)
            if label is not None:
                labels[message_id] = label
            events.append((source, event))
        return events, labels

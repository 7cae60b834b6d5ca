"""Page contexts built from read models: pure functions, so tests render pages without a store.

Each ``*_context`` returns the page-specific part; routes merge it with
:func:`cxm.web.rendering.page_context`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from cxm.cases import Case
from cxm.identity import ReviewItem
from cxm.ingest import RecentEvent, SourceActivity
from cxm.insights.labels import feature_label
from cxm.profiles.models import Profile, ProfileCard, TimelineItem, WhatWeKnow
from cxm.web.charts import channel_use_option, weekly_channels_option

if TYPE_CHECKING:
    from cxm.journeys.map import JourneyMap
    from cxm.profiles.models import Overview

TIMELINE_PAGE_SIZE = 30
CUSTOMER_LIST_LIMIT = 50
LIVE_EVENTS_LIMIT = 50
LIVE_POLL_SECONDS = 3


@dataclass(frozen=True)
class TimelinePage:
    """One page of the timeline, newest first; ``next_before`` is the seq to continue before."""

    items: list[TimelineItem]
    next_before: int | None

    @classmethod
    def from_fetch(cls, fetched: Sequence[TimelineItem], page_size: int) -> TimelinePage:
        """Cut ``fetched`` (asked for ``page_size + 1`` items) into a page and its continuation."""
        items = list(fetched[:page_size])
        more = len(fetched) > page_size and bool(items)
        return cls(items=items, next_before=items[-1].seq if more else None)


def _labeller(t: Callable[..., str]) -> Callable[[str], str]:
    def label(channel: str) -> str:
        key = f"channel.{channel}"
        text = t(key)
        return channel if text == key else text

    return label


def overview_context(overview: Overview, t: Callable[..., str]) -> dict[str, Any]:
    order = [channel for channel, _ in overview.by_channel]
    total = sum(count for _, count in overview.by_channel)
    return {
        "overview": overview,
        "channel_total": total,
        "weekly_chart": weekly_channels_option(overview.weekly, order, _labeller(t)),
    }


def customers_context(
    cards: Sequence[ProfileCard], query: str, total: int | None = None
) -> dict[str, Any]:
    shown = len(cards)
    return {"cards": list(cards), "q": query, "total": shown if total is None else total}


@dataclass(frozen=True)
class JourneyPlace:
    """Where an event sits on the journey map."""

    touchpoint: str
    touchpoint_name: str
    stage: str
    stage_name: str


def journey_places(
    items: Sequence[TimelineItem], journey: JourneyMap | None
) -> dict[int, JourneyPlace]:
    """Each timeline item's touchpoint and stage on the map (items on none are left out)."""
    if journey is None:
        return {}
    places = {}
    for item in items:
        tp = journey.match(item.type, item.event, item.channel)
        if tp is not None:
            stage = journey.stage(tp.stage)
            places[item.seq] = JourneyPlace(tp.id, tp.name, stage.id, stage.name)
    return places


def timeline_context(
    profile_id: str, page: TimelinePage, channel: str | None, journey: JourneyMap | None = None
) -> dict[str, Any]:
    return {
        "profile_id": profile_id,
        "timeline": page,
        "channel": channel,
        "places": journey_places(page.items, journey),
    }


def customer_context(
    profile: Profile,
    brief: WhatWeKnow,
    page: TimelinePage,
    channel: str | None,
    t: Callable[..., str],
    pairs: Sequence[ReviewItem] = (),
    journey: JourneyMap | None = None,
    effort: dict[str, Any] | None = None,
    cases: Sequence[Case] = (),
    outlook: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The customer page; ``pairs`` are the review questions and decisions about the profile,
    ``effort`` the customer's row of the effort ranking (None: no support matter yet),
    ``cases`` the open cases every channel should see, ``outlook`` the stored churn score and
    likely NPS group (``cxm.insights.scoring.customer_outlook``).

    With a journey map, each timeline event shows its touchpoint and stage, and the newest one
    on the map (first page, all channels) gives the customer's current stage.
    """
    used = sorted(brief.channels, key=lambda c: -c.count)
    timeline = timeline_context(profile.id, page, channel, journey)
    current = None
    if channel is None and page.items:
        current = next(
            (timeline["places"][i.seq] for i in page.items if i.seq in timeline["places"]), None
        )
    return {
        "profile": profile,
        "pairs": list(pairs),
        "brief": brief,
        "channels_used": used,
        "channel_chart": channel_use_option(used, _labeller(t)) if used else None,
        "current_place": current,
        "effort": effort,
        "open_cases": list(cases),
        "outlook": outlook,
        "feature_label": feature_label,
        "department_names": {d.id: d.name for d in journey.departments} if journey else {},
        **timeline,
    }


@dataclass(frozen=True)
class LiveFeed:
    """Where the live events panel stands: its filter, the newest seq it has seen, and the
    events it shows as waiting for identity resolution (re-checked at every poll).

    >>> LiveFeed(source="web site", after=41, pending=(40, 38)).poll_url
    '/sources/events?after=41&source=web+site&pending=40&pending=38'
    """

    source: str | None
    after: int
    pending: tuple[int, ...] = ()

    @classmethod
    def start(cls, source: str | None, shown: Sequence[RecentEvent], head: int) -> LiveFeed:
        """The feed of a freshly rendered panel; ``head`` is the log's newest seq, read first."""
        return cls(source=source, after=0).advance(shown, (), head=head)

    def advance(
        self, new: Sequence[RecentEvent], placed: Collection[int], *, head: int = 0
    ) -> LiveFeed:
        """The feed once ``new`` events are shown and the ``placed`` seqs got their customer.

        ``head`` is the log's newest seq, read before ``new``: continuing from it, a panel
        filtered to a quiet source does not rescan what the other sources sent meanwhile.
        """
        after = max([self.after, head, *(e.seq for e in new)])
        waiting = {e.seq for e in new if e.profile_id is None}
        waiting.update(seq for seq in self.pending if seq not in placed)
        # Only rows still on the panel matter, and it keeps the newest LIVE_EVENTS_LIMIT.
        pending = tuple(sorted(waiting, reverse=True)[:LIVE_EVENTS_LIMIT])
        return LiveFeed(source=self.source, after=after, pending=pending)

    @property
    def poll_url(self) -> str:
        query: list[tuple[str, str | int]] = [("after", self.after)]
        if self.source:
            query.append(("source", self.source))
        query.extend(("pending", seq) for seq in self.pending)
        return "/sources/events?" + urlencode(query)


def sources_context(
    activity: Sequence[SourceActivity],
    shown: Sequence[RecentEvent],
    feed: LiveFeed,
    *,
    base_url: str,
    can_write: bool = False,
) -> dict[str, Any]:
    """The Sources page: the sources, the live panel, how to send (``base_url`` ends in /),
    and, for a viewer who may write, the way to import a file."""
    return {
        "activity": list(activity),
        "can_write": can_write,
        "ingest_url": base_url + "v1/batch",
        "host": base_url.rstrip("/"),
        **live_feed_context(shown, feed),
    }


def live_feed_context(shown: Sequence[RecentEvent], feed: LiveFeed) -> dict[str, Any]:
    return {
        "events": list(shown),
        "feed": feed,
        "fresh": False,
        "live_limit": LIVE_EVENTS_LIMIT,
        "poll_seconds": LIVE_POLL_SECONDS,
    }


def live_update_context(
    new: Sequence[RecentEvent], placed: dict[int, str], feed: LiveFeed
) -> dict[str, Any]:
    """One poll's answer: ``new`` events to prepend, customers found for ``placed`` seqs."""
    return {**live_feed_context(new, feed), "fresh": True, "placed": placed}


def error_context(status_code: int, message: str | None = None) -> dict[str, Any]:
    return {"status_code": status_code, "message": message}

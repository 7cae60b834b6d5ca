"""Page contexts built from read models: pure functions, so tests render pages without a store.

Each ``*_context`` returns the page-specific part; routes merge it with
:func:`cxm.web.rendering.page_context`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cxm.profiles.models import Profile, ProfileCard, TimelineItem, WhatWeKnow
from cxm.web.charts import channel_use_option, weekly_channels_option

if TYPE_CHECKING:
    from cxm.profiles.models import Overview

TIMELINE_PAGE_SIZE = 30
CUSTOMER_LIST_LIMIT = 50


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


def customers_context(cards: Sequence[ProfileCard], query: str) -> dict[str, Any]:
    return {"cards": list(cards), "q": query}


def timeline_context(profile_id: str, page: TimelinePage, channel: str | None) -> dict[str, Any]:
    return {"profile_id": profile_id, "timeline": page, "channel": channel}


def customer_context(
    profile: Profile,
    brief: WhatWeKnow,
    page: TimelinePage,
    channel: str | None,
    t: Callable[..., str],
) -> dict[str, Any]:
    used = sorted(brief.channels, key=lambda c: -c.count)
    return {
        "profile": profile,
        "brief": brief,
        "channels_used": used,
        "channel_chart": channel_use_option(used, _labeller(t)) if used else None,
        **timeline_context(profile.id, page, channel),
    }


def error_context(status_code: int, message: str | None = None) -> dict[str, Any]:
    return {"status_code": status_code, "message": message}

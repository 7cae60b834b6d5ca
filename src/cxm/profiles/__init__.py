"""The customer memory: one profile per person, traits with provenance, a cross-channel timeline."""

from __future__ import annotations

from cxm.profiles.models import (
    ChannelUse,
    Identifier,
    KnownFact,
    Merge,
    Overview,
    Profile,
    ProfileCard,
    TimelineItem,
    Trait,
    TraitObservation,
    WhatWeKnow,
)
from cxm.profiles.projector import ProjectionResult, project_pending, rebuild_profiles
from cxm.profiles.queries import (
    count_profiles,
    get_overview,
    get_profile,
    get_timeline,
    placed_events,
    resolve_profile_id,
    search_profiles,
    what_we_know,
)

__all__ = [
    "ChannelUse",
    "count_profiles",
    "Identifier",
    "KnownFact",
    "Merge",
    "Overview",
    "Profile",
    "ProfileCard",
    "ProjectionResult",
    "TimelineItem",
    "Trait",
    "TraitObservation",
    "WhatWeKnow",
    "get_overview",
    "get_profile",
    "get_timeline",
    "placed_events",
    "project_pending",
    "rebuild_profiles",
    "resolve_profile_id",
    "search_profiles",
    "what_we_know",
]

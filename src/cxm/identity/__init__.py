"""The identity graph: identifiers, guardrails, merges and unmerges, the review queue, matching."""

from __future__ import annotations

from cxm.identity.models import PairDecided, ProfilesMerged, ProfilesUnmerged
from cxm.identity.policy import DEFAULT_LIMITS, IdentityPolicy, KindLimit
from cxm.identity.queries import (
    PairSide,
    ReviewItem,
    count_pairs,
    get_pair,
    list_pairs,
    pairs_of,
)
from cxm.identity.service import (
    MergeDone,
    UnmergeDone,
    do_decide_pair,
    do_merge_profiles,
    do_reopen_pair,
    do_unmerge,
)

__all__ = [
    "DEFAULT_LIMITS",
    "IdentityPolicy",
    "KindLimit",
    "MergeDone",
    "PairDecided",
    "PairSide",
    "ProfilesMerged",
    "ProfilesUnmerged",
    "ReviewItem",
    "UnmergeDone",
    "count_pairs",
    "do_decide_pair",
    "do_merge_profiles",
    "do_reopen_pair",
    "do_unmerge",
    "get_pair",
    "list_pairs",
    "pairs_of",
]

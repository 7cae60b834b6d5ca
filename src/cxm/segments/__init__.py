"""Segments: named sets of customers, defined as a filter over their traits and activity.

A minimal first version for sending surveys to a segment; the automation issue grows it.

>>> segment_from_data({"name": "active-fibre", "traits": {"plan": "fibre"},
...                    "active_days": 90}).active_days
90
"""

from cxm.segments.definitions import parse_segment_yaml, segment_from_data
from cxm.segments.models import (
    Condition,
    Segment,
    SegmentDefinition,
    SegmentDefinitionInvalid,
    SegmentSaved,
)
from cxm.segments.queries import get_segment, list_segments, segment_members, segment_names
from cxm.segments.service import do_save_segment

__all__ = [
    "Condition",
    "Segment",
    "SegmentDefinition",
    "SegmentDefinitionInvalid",
    "SegmentSaved",
    "do_save_segment",
    "get_segment",
    "list_segments",
    "parse_segment_yaml",
    "segment_from_data",
    "segment_members",
    "segment_names",
]

"""Journey maps: stages, touchpoints, department influence; journey analytics.

>>> from cxm.journeys import default_journey_map
>>> default_journey_map().match("track", "Repair Completed", "field_service").id
'repair'
"""

from cxm.journeys.map import (
    Department,
    EventType,
    InfluenceRow,
    JourneyMap,
    Stage,
    Touchpoint,
    TouchpointMatch,
    default_journey_map,
    journey_map_from_data,
    parse_journey_map,
    telecom_yaml,
)
from cxm.journeys.service import (
    JourneyMapSaved,
    JourneyMapVersion,
    StoredJourneyMap,
    current_journey_map,
    do_save_journey_map,
    do_set_influence,
    journey_map_version,
    latest_journey_map,
    list_journey_map_versions,
    stored_journey_map,
)
from cxm.journeys.validation import EVENT_TYPES, JourneyMapInvalid

__all__ = [
    "EVENT_TYPES",
    "Department",
    "EventType",
    "InfluenceRow",
    "JourneyMap",
    "JourneyMapInvalid",
    "JourneyMapSaved",
    "JourneyMapVersion",
    "Stage",
    "StoredJourneyMap",
    "Touchpoint",
    "TouchpointMatch",
    "current_journey_map",
    "default_journey_map",
    "do_save_journey_map",
    "do_set_influence",
    "journey_map_from_data",
    "journey_map_version",
    "latest_journey_map",
    "list_journey_map_versions",
    "parse_journey_map",
    "stored_journey_map",
    "telecom_yaml",
]

"""A small history of support matters whose metrics are worked out by hand (tests of the
metrics API, command line and pages).

The history (March 2026, repeat contacts within 7 days):

- ola, the broken journey: an issue reported at a branch (day 2), the phone menu and a call ten
  minutes later (day 3: one phone contact, begun in the menu), a technician (day 6) who
  resolves it at 12:00 (98 hours after the first contact); CES 2 the next day. One matter of
  three contacts: two repeats, two channel hops (branch → phone → field), two handoffs.
  She reads a help page in April, so March is the last whole month.
- piotr: one call (started and handled twenty minutes apart: one contact) on day 10, CES 6,
  and a help page on day 11 (self-service).
"""

from __future__ import annotations

import math
from typing import Any

from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace
from helpers import journeys_for

MAP = """
journey: Test telecom
departments:
  retail: {name: Retail, lead: Ola}
  care: {name: Care, lead: Ela}
  field: {name: Field service, lead: Jan}
  web: {name: Web, lead: Iza}
stages:
  - {id: use, name: Use}
  - {id: support, name: Support}
touchpoints:
  - {id: branch-issue, name: Issue at a branch, stage: support, role: contact, owner: retail,
     match: {type: track, event: Issue Reported, channel: branch}, influence: {retail: 1.0}}
  - {id: ivr, name: Phone menu, stage: support, role: contact, owner: care,
     match: {type: track, event: IVR Call, channel: ivr}, influence: {care: 1.0}}
  - {id: call, name: Call, stage: support, role: contact, owner: care,
     match: {type: track, event: [Call Started, Call Handled], channel: phone},
     influence: {care: 1.0}}
  - {id: visit, name: Technician, stage: support, role: contact, owner: field,
     match: {type: track, event: Technician Visit, channel: field_service},
     influence: {field: 1.0}}
  - {id: fixed, name: Resolved, stage: support, role: resolution, owner: field,
     match: {type: track, event: Case Resolved}, influence: {field: 1.0}}
  - {id: help, name: Help pages, stage: use, role: self_service, owner: web,
     match: {type: page, event: Help, channel: web}, influence: {web: 1.0}}
"""


def at(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> str:
    return f"2026-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def ev(name: str, when: str, channel: str, **properties: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"event": name, "at": when, "channel": channel}
    if properties:
        step["properties"] = properties
    return step


def help_page(when: str) -> dict[str, Any]:
    return {"type": "page", "event": "Help", "at": when, "channel": "web"}


PEOPLE = {
    "ola": [
        ev("Issue Reported", at(2), "branch"),
        ev("IVR Call", at(3, 9), "ivr"),
        ev("Call Handled", at(3, 9, 10), "phone"),
        ev("Technician Visit", at(6), "field_service"),
        ev("Case Resolved", at(6, 12), "field_service"),
        ev("Survey Answered", at(7), "survey", kind="ces", score=2),
        help_page(at(2, month=4)),
    ],
    "piotr": [
        ev("Call Started", at(10), "phone"),
        ev("Call Handled", at(10, 10, 20), "phone"),
        ev("Survey Answered", at(10, 12), "survey", kind="ces", score=6),
        help_page(at(11)),
    ],
}
MARCH = {"start": "2026-03-01", "end": "2026-04-01", "min_sample": 1}
OLA_EFFORT = 2 + 2 + 2 + math.log1p(98 / 24)  # repeats, hops, handoffs, 98 h to resolution


def write_history(workspace: Workspace) -> dict[str, str]:
    """Save the map, write the history, sync the lake; each person's profile id."""
    with workspace.session() as session:
        do_save_journey_map(session=session, source=MAP, actor="test", filename="telecom.yaml")
    return journeys_for(workspace, PEOPLE)

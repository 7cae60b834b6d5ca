"""Sending a survey to its segment: every customer in the segment now is invited once.

>>> with ws.session() as session:                                          # doctest: +SKIP
...     sent = do_send_to_segment(session=session, actor="user:ania",
...                               survey="csat-fibre", now=utcnow(), fatigue_days=30)
>>> sent.members, sent.counts()                                            # doctest: +SKIP
(120, {'sent': 97, 'suppressed': 23, 'rejected': 0})
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.errors import Conflict, InvalidInput, NotFound
from cxm.segments import get_segment, segment_members
from cxm.surveys.models import InviteOutcome
from cxm.surveys.queries import get_survey
from cxm.surveys.service import do_invite_batch, take_write_turn


@dataclass(frozen=True)
class SegmentSend:
    """What sending a survey to its segment did: one outcome per member."""

    survey: str
    segment: str
    members: int
    outcomes: list[InviteOutcome]

    def counts(self) -> dict[str, int]:
        return {
            status: sum(o.status == status for o in self.outcomes)
            for status in ("sent", "suppressed", "rejected")
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "survey": self.survey,
            "segment": self.segment,
            "members": self.members,
            **self.counts(),
            "outcomes": [o.as_dict() for o in self.outcomes],
        }


def do_send_to_segment(
    *, session: Session, actor: str, survey: str, now: datetime, fatigue_days: int
) -> SegmentSend:
    """Invite every member of the survey's segment (``trigger: {segment: name}``).

    The fatigue rule applies to each member, so sending again within the fatigue period
    suppresses those invited the first time. Raises NotFound for an unknown survey,
    InvalidInput for a survey that is not sent to a segment or is for employees, and Conflict
    when its segment no longer exists.
    """
    take_write_turn(session)  # before reading: on SQLite a reader cannot wait for the lock later
    definition = get_survey(session, survey).definition
    if definition.audience == "employee":
        raise InvalidInput(
            f"survey '{survey}' is for employees, and a segment is a set of customers; "
            f"invite departments instead (POST /api/surveys/{survey}/invitations)"
        )
    if definition.trigger.type != "segment" or definition.trigger.value is None:
        trigger = definition.trigger.to_dict()
        raise InvalidInput(
            f"survey '{survey}' is not sent to a segment (its trigger is {trigger}); save it "
            "with trigger {segment: <name>}, or invite customers by hand"
        )
    name = definition.trigger.value
    try:
        segment = get_segment(session, name)
    except NotFound:
        raise Conflict(
            f"survey '{survey}' is sent to the segment '{name}', which does not exist; "
            "create it (POST /api/segments or cxm segments create)"
        ) from None
    members = segment_members(session, segment.definition, now=now)
    outcomes = do_invite_batch(
        session=session,
        actor=actor,
        survey=survey,
        profile_ids=members,
        now=now,
        fatigue_days=fatigue_days,
    )
    sent = SegmentSend(survey=survey, segment=name, members=len(members), outcomes=outcomes)
    record_action(
        session,
        actor=actor,
        action="survey.sent_to_segment",
        subject=survey,
        details={"segment": name, "members": len(members), **sent.counts()},
    )
    return sent

"""What a problem costs the customer, and how that shows in what they answer afterwards.

Each incident keeps a tally of the effort the customer went through: contacts they had to
make, switches from one channel to another, handoffs (a call transferred, a technician sent),
being asked again for data they had already given, and days until it was resolved. The tally
is the ground truth a behavioural effort index should recover from the events; the survey
answers after the incident (CES 2.0, CSAT) and the relationship NPS are drawn from it.

>>> effort = Effort(topic="outage", start=0, until=10 * DAY)
>>> effort.step("phone", 0, DAY // 24, touchpoint="calls", data_requests=2)
>>> effort.step("field_service", DAY, DAY + 1, touchpoint="repair", contact=False, handoff=True)
>>> effort.contacts, effort.channel_switches, effort.handoffs, effort.data_reasks
(1, 1, 1, 1)
>>> round(effort.points, 2)
1.6
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from cxm.demo.recorder import DAY

# The planted model: how many CES points (1..7, 7 = easiest) each unit of effort costs.
WEIGHTS = {
    "extra_contacts": 0.7,
    "channel_switches": 0.5,
    "data_reasks": 0.6,
    "handoffs": 0.4,
    "days_to_resolve": 0.1,
}
MAX_DAYS = 14.0  # after two weeks waiting longer hardly changes how hard it felt
CES_EFFORTLESS = 6.2  # the mean CES of a problem solved in one contact, at once
CES_NOISE = 1.0
CSAT_EFFORTLESS = 4.6
CSAT_PER_POINT = 0.55
CSAT_NOISE = 0.8
NPS_PER_POINT = 0.3  # relationship NPS lost per effort point experienced before answering
NPS_MAX_EFFORT = 8.0


def effort_model() -> dict[str, Any]:
    """The planted model, for the ground truth: what the answers are drawn from."""
    return {
        "ces_mean": f"{CES_EFFORTLESS} - points",
        "ces_noise_sd": CES_NOISE,
        "csat_mean": f"{CSAT_EFFORTLESS} - {CSAT_PER_POINT} * points",
        "csat_noise_sd": CSAT_NOISE,
        "nps_mean": (
            f"8.6 - 1.1 * issues - 3 * broken_journey - {NPS_PER_POINT} * "
            f"min(points of incidents resolved before the answer, {NPS_MAX_EFFORT})"
        ),
        "points": (
            "sum of weight * component; extra_contacts = contacts - 1, days_to_resolve capped "
            f"at {MAX_DAYS}"
        ),
        "weights": dict(WEIGHTS),
    }


@dataclass
class Effort:
    """The effort one incident cost; steps at or after ``until`` (the window's end) never
    happened as far as the events go, so they do not count."""

    topic: str
    start: int  # epoch ms
    until: int
    end: int = 0
    contacts: int = 0
    channel_switches: int = 0
    handoffs: int = 0
    data_requests: int = 0
    last_channel: str | None = None
    touchpoint: str | None = None  # where the customer last dealt with it
    case: str | None = None
    broken_journey: bool = False

    def step(
        self,
        channel: str,
        at: int,
        end: int,
        *,
        touchpoint: str,
        contact: bool = True,
        handoff: bool = False,
        data_requests: int = 0,
    ) -> None:
        """One step of the incident from ``at`` to ``end``: a contact the customer made, or
        (``contact=False``) something done to them, such as a technician's visit."""
        if at >= self.until:
            return
        if self.last_channel is None:
            self.start = at  # the incident begins with its first step, wherever it was planned
        elif channel != self.last_channel:
            self.channel_switches += 1
        self.last_channel = channel
        self.contacts += contact
        self.handoffs += handoff
        self.data_requests += data_requests
        self.end = max(self.end, min(end, self.until))
        self.touchpoint = touchpoint

    def complaint(self, channel: str, at: int) -> None:
        """A contact after the incident was resolved, to complain about how it went: one more
        contact, but neither the time to resolve it nor where it was resolved changes."""
        if at >= self.until:
            return
        if self.last_channel is not None and channel != self.last_channel:
            self.channel_switches += 1
        self.last_channel = channel
        self.contacts += 1

    @property
    def data_reasks(self) -> int:
        """Times the customer was asked again for data they had already given."""
        return max(0, self.data_requests - 1)

    @property
    def days_to_resolve(self) -> float:
        return max(0, self.end - self.start) / DAY

    @property
    def points(self) -> float:
        """The planted effort in CES points (0 for one contact, no questions, solved at once)."""
        return (
            WEIGHTS["extra_contacts"] * max(0, self.contacts - 1)
            + WEIGHTS["channel_switches"] * self.channel_switches
            + WEIGHTS["data_reasks"] * self.data_reasks
            + WEIGHTS["handoffs"] * self.handoffs
            + WEIGHTS["days_to_resolve"] * min(self.days_to_resolve, MAX_DAYS)
        )

    def components(self) -> dict[str, Any]:
        return {
            "contacts": self.contacts,
            "channel_switches": self.channel_switches,
            "handoffs": self.handoffs,
            "data_reasks": self.data_reasks,
            "days_to_resolve": round(self.days_to_resolve, 3),
            "points": round(self.points, 3),
        }


def ces_score(rng: random.Random, effort: Effort) -> int:
    """CES 2.0 ("the company made it easy", 1..7) after the incident."""
    return _clipped(rng.gauss(CES_EFFORTLESS - effort.points, CES_NOISE), 1, 7)


def csat_score(rng: random.Random, effort: Effort) -> int:
    """CSAT (1..5) after the incident."""
    mean = CSAT_EFFORTLESS - CSAT_PER_POINT * effort.points
    return _clipped(rng.gauss(mean, CSAT_NOISE), 1, 5)


def nps_score(rng: random.Random, *, issues: int, broken_journey: bool, effort: float) -> int:
    """Relationship NPS (0..10): problems, the broken journey and the effort so far."""
    mean = (
        8.6
        - 1.1 * issues
        - (3.0 if broken_journey else 0.0)
        - NPS_PER_POINT * min(effort, NPS_MAX_EFFORT)
    )
    return _clipped(rng.gauss(mean, 1.6), 0, 10)


def _clipped(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def customer_effort(incidents: list[Effort]) -> dict[str, Any]:
    """A customer's planted effort over the year: the sums of their incidents' components."""
    total: dict[str, Any] = {
        "incidents": len(incidents),
        "contacts": 0,
        "channel_switches": 0,
        "handoffs": 0,
        "data_reasks": 0,
        "days_to_resolve": 0.0,
        "points": 0.0,
    }
    for effort in incidents:
        for key, value in effort.components().items():
            total[key] += value
    total["days_to_resolve"] = round(total["days_to_resolve"], 3)
    total["points"] = round(total["points"], 3)
    return total

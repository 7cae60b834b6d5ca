"""The journey analyses' query objects: validated once, the same for API, CLI and Python."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EventType = Literal["track", "page", "screen", "identify", "group", "alias"]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date | None = Field(None, description="First UTC day included.")
    end: date | None = Field(None, description="First UTC day excluded.")

    @model_validator(mode="after")
    def _period(self) -> _Query:
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self


class EventPattern(BaseModel):
    """A step given as an event pattern rather than a touchpoint of the map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str | list[str] = Field(description="Event name(s) (page/screen name for those).")
    type: EventType | list[EventType] = "track"
    channel: str | list[str] | None = None

    def label(self) -> str:
        names = self.event if isinstance(self.event, str) else " | ".join(self.event)
        return names if self.channel is None else f"{names} ({_text(self.channel)})"


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else ", ".join(value)


Step = Annotated[str | EventPattern, Field(union_mode="left_to_right")]
BREAKDOWN = re.compile(r"^(channel|trait:[A-Za-z0-9_.\-]{1,100})$")


class FunnelQuery(_Query):
    """Ordered steps: how many customers got how far within the conversion window.

    A customer reaches step k when they have events matching steps 1..k at strictly increasing
    times, with step k no later than ``window_days`` after step 1 (any attempt counts; the time
    to convert is that of their quickest qualifying attempt).
    """

    steps: list[Step] = Field(min_length=2, max_length=10)
    window_days: float = Field(7.0, gt=0, le=366)
    breakdown: str | None = Field(
        None,
        description="'channel' (the channel of the customer's first step-1 event) or "
        "'trait:<key>' (a customer trait such as trait:plan).",
    )

    @field_validator("breakdown")
    @classmethod
    def _breakdown(cls, value: str | None) -> str | None:
        if value is not None and not BREAKDOWN.match(value):
            raise ValueError(f"breakdown {value!r} is not 'channel' or 'trait:<key>'")
        return value


class PathQuery(_Query):
    """The commonest sequences of touchpoints after (``out``) or before (``in``) a touchpoint."""

    touchpoint: str
    direction: Literal["out", "in"] = "out"
    depth: int = Field(3, ge=1, le=5)
    top: int = Field(10, ge=1, le=200)
    collapse_repeats: bool = Field(
        True, description="Count repeated visits to the same touchpoint in a row as one."
    )


class ProgressionQuery(_Query):
    """How customers move through the stages: time in stage, stalls, regressions."""

    stall_days: float = Field(30.0, gt=0, le=3650)


class ScorecardQuery(_Query):
    """Per touchpoint: visits, unique customers, repeat rate, contact-after rate, health."""

    repeat_days: float = Field(7.0, gt=0, le=366, description="Horizon of both rates.")
    contact_stage: str = Field(
        "support", description="The stage whose touchpoints are contacts (failure demand)."
    )
    stage: str | None = Field(None, description="Only this stage's touchpoints.")


class DepartmentQuery(_Query):
    """Every touchpoint a department influences, with its scorecard weighted by influence."""

    department: str
    repeat_days: float = Field(7.0, gt=0, le=366)
    contact_stage: str = "support"

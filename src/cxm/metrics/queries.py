"""The metric catalogue's query object: validated once, the same for API, CLI and Python.

>>> CatalogueQuery(by=["touchpoint", "month"]).repeat_days
7
>>> CatalogueQuery(by=["segment:vip"]).attribute
('segment', 'vip')
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DIMENSION = re.compile(
    r"^(touchpoint|stage|department|channel|month|trait:[A-Za-z0-9_.\-]{1,100}"
    r"|segment:[a-z0-9][a-z0-9_-]{0,99})$"
)
DIMENSIONS_HELP = (
    "touchpoint, stage, department, channel, month, trait:KEY (a profile trait's value) or "
    "segment:NAME (in or out of a saved segment)"
)


class CatalogueQuery(BaseModel):
    """Which metrics, grouped how, over which period, with which definitions' parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics: tuple[str, ...] | None = Field(
        None, description="Catalogue ids to compute; default: every metric of the catalogue."
    )
    by: tuple[str, ...] = Field(
        (), max_length=3, description=f"Group by up to three of: {DIMENSIONS_HELP}."
    )
    start: date | None = Field(None, description="First UTC day included.")
    end: date | None = Field(None, description="First UTC day excluded.")
    repeat_days: int = Field(
        7,
        ge=1,
        le=90,
        description="A contact within this many days of the customer's previous contact is "
        "about the same matter (a repeat contact).",
    )
    churn_days: int = Field(
        30, ge=1, le=365, description="Churned: a cancellation within this many days."
    )
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence of the intervals.")
    min_sample: int = Field(30, ge=1, le=100_000, description="Fewer observations: no value.")

    @field_validator("by")
    @classmethod
    def _dimensions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not DIMENSION.match(item):
                raise ValueError(f"unknown dimension {item!r}; use {DIMENSIONS_HELP}")
        if len(set(value)) != len(value):
            raise ValueError(f"a dimension is repeated in {list(value)}")
        if sum(1 for d in value if d.startswith(("trait:", "segment:"))) > 1:
            raise ValueError("group by one trait or segment at a time")
        return value

    @model_validator(mode="after")
    def _period(self) -> CatalogueQuery:
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self

    @property
    def attribute(self) -> tuple[str, str] | None:
        """``("trait", KEY)`` or ``("segment", NAME)`` when the query groups by one."""
        for dimension in self.by:
            kind, _, name = dimension.partition(":")
            if kind in ("trait", "segment"):
                return kind, name
        return None

    @property
    def segment(self) -> str | None:
        """The segment a ``segment:NAME`` dimension names, if any."""
        attribute = self.attribute
        return attribute[1] if attribute and attribute[0] == "segment" else None

"""Guardrails of the identity graph: how many identifiers of a kind one profile may hold, and how
many people may share one identifier before it stops linking anyone.

Without limits, one noisy identifier (a shop's phone typed into every walk-in's record, a
``noreply@`` address, a library computer's cookie) would join thousands of customers into one
profile. With them:

- a merge that would give one profile more values of a kind than ``per_profile`` allows (two
  user ids, say) is not made; the identifier that would have joined them becomes *shared* by
  both profiles and the pair goes to the review queue;
- a value held by ``max_holders`` profiles that turns up with yet another person becomes
  *noisy*: it is kept on the profiles that hold it but links nobody from then on.

Example: ``IdentityPolicy.from_settings({"phone": {"per_profile": 3, "max_holders": 4}})``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cxm.errors import InvalidInput


@dataclass(frozen=True)
class KindLimit:
    """Limits for one identifier kind; ``per_profile`` None means no limit."""

    per_profile: int | None
    max_holders: int

    def __post_init__(self) -> None:
        if self.per_profile is not None and self.per_profile < 1:
            raise InvalidInput(f"per_profile must be at least 1 or null, not {self.per_profile}")
        if self.max_holders < 1:
            raise InvalidInput(f"max_holders must be at least 1, not {self.max_holders}")


# A user id names one account, so a profile has one and nobody shares it. E-mail and phone can
# belong to a household; a device or browser can be shared by a family; channel ids (social
# handles and the like) belong to one person but someone may have a few.
DEFAULT_LIMITS: dict[str, KindLimit] = {
    "user_id": KindLimit(per_profile=1, max_holders=1),
    "email": KindLimit(per_profile=10, max_holders=2),
    "phone": KindLimit(per_profile=5, max_holders=3),
    "anonymous_id": KindLimit(per_profile=None, max_holders=3),
}
OTHER_KINDS = KindLimit(per_profile=5, max_holders=1)


@dataclass(frozen=True)
class IdentityPolicy:
    """The limits per identifier kind; kinds not listed get ``other``."""

    limits: Mapping[str, KindLimit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    other: KindLimit = OTHER_KINDS

    def of(self, kind: str) -> KindLimit:
        return self.limits.get(kind, self.other)

    def broken_by_joining(
        self, held_a: Mapping[str, set[str]], held_b: Mapping[str, set[str]]
    ) -> str | None:
        """Why one profile may not hold both sides' identifiers (kind → values), or None."""
        for kind in sorted(set(held_a) & set(held_b)):
            limit = self.of(kind).per_profile
            together = held_a[kind] | held_b[kind]
            if limit is not None and len(together) > limit:
                return f"together they would hold {len(together)} values of {kind} (limit {limit})"
        return None

    @classmethod
    def from_settings(cls, overrides: Mapping[str, Any] | None) -> IdentityPolicy:
        """Defaults with ``overrides`` (kind → ``{"per_profile", "max_holders"}``) applied.

        The kind ``*`` sets the limits of kinds not named otherwise.
        """
        limits = dict(DEFAULT_LIMITS)
        other = OTHER_KINDS
        for kind, given in (overrides or {}).items():
            if not isinstance(given, Mapping):
                raise InvalidInput(
                    f"identity limit for {kind!r} must be an object with per_profile and "
                    f"max_holders, not {given!r}"
                )
            unknown = set(given) - {"per_profile", "max_holders"}
            if unknown:
                raise InvalidInput(
                    f"identity limit for {kind!r} has unknown keys {sorted(unknown)}; "
                    "use per_profile and max_holders"
                )
            base = other if kind == "*" else limits.get(kind, other)
            try:
                limit = KindLimit(
                    per_profile=given.get("per_profile", base.per_profile),
                    max_holders=int(given.get("max_holders", base.max_holders)),
                )
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"identity limit for {kind!r}: {exc}") from exc
            if kind == "*":
                other = limit
            else:
                limits[kind] = limit
        return cls(limits=limits, other=other)

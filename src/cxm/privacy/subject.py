"""Everything the store holds on one person, found from any of their references.

A person is the live profile a reference resolves to (a profile id, an e-mail, a phone or a
user id) together with every profile merged into it. What belongs to them: their events (the
log rows placed on those profiles), identifiers, traits, merges and review pairs, cases with
their activity and requests for data, survey invitations and the answers linked to them (an
anonymous answer keeps no link to anyone, by design), analysed texts and their vectors,
automation firings, jobs and in-app messages, and their churn and experience scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cxm.cases.tables import cases
from cxm.identity.tables import identifiers, noisy_identifiers, profiles
from cxm.profiles import resolve_profile_id
from cxm.profiles.tables import profile_events
from cxm.surveys.tables import survey_invitations, survey_responses
from cxm.text.tables import text_items


@dataclass
class Subject:
    """One person's rows across the store (ids only; the rows are read where needed)."""

    profile_id: str  # the live profile
    profile_ids: list[str]  # it and every profile merged into it
    identifiers: list[tuple[str, str]]  # (kind, value) held by those profiles
    shared: list[tuple[str, str]] = field(default_factory=list)  # also used by other people
    seqs: list[int] = field(default_factory=list)  # their events
    case_ids: list[int] = field(default_factory=list)
    invitation_ids: list[str] = field(default_factory=list)
    response_ids: list[int] = field(default_factory=list)
    text_ids: list[int] = field(default_factory=list)
    text_hashes: list[str] = field(default_factory=list)
    display_name: str | None = None

    @property
    def searchable(self) -> list[str]:
        """The values that name this person: identifiers (not shared ones) and profile ids."""
        values = {v for _, v in self.identifiers if len(v) >= 4} | set(self.profile_ids)
        return sorted(values)


def find_subject(session: Session, ref: str) -> Subject:
    """The person ``ref`` names (raises NotFound when nobody matches)."""
    live = resolve_profile_id(session, ref)
    family = {live}
    frontier = [live]
    while frontier:  # profiles merged into the live one, and into those, and so on
        found = session.execute(
            select(profiles.c.id).where(profiles.c.merged_into.in_(frontier))
        ).scalars()
        frontier = [p for p in found if p not in family]
        family.update(frontier)
    ids = sorted(family)
    held = [
        (str(k), str(v))
        for k, v in session.execute(
            select(identifiers.c.kind, identifiers.c.value)
            .where(identifiers.c.profile_id.in_(ids))
            .order_by(identifiers.c.id)
        )
    ]
    noisy = {
        (str(k), str(v))
        for k, v in session.execute(select(noisy_identifiers.c.kind, noisy_identifiers.c.value))
    }
    subject = Subject(
        profile_id=live,
        profile_ids=ids,
        identifiers=[i for i in held if i not in noisy],
        shared=[i for i in held if i in noisy],
        display_name=session.execute(
            select(profiles.c.display_name).where(profiles.c.id == live)
        ).scalar(),
    )
    subject.seqs = sorted(
        int(s)
        for s in session.execute(
            select(profile_events.c.seq).where(profile_events.c.profile_id.in_(ids))
        ).scalars()
    )
    subject.case_ids = sorted(
        int(c) for c in session.execute(select(cases.c.id).where(cases.c.profile_id.in_(ids)))
        .scalars()
    )  # fmt: skip
    subject.invitation_ids = sorted(
        str(i)
        for i in session.execute(
            select(survey_invitations.c.id).where(survey_invitations.c.profile_id.in_(ids))
        ).scalars()
    )
    subject.response_ids = sorted(
        int(r)
        for r in session.execute(
            select(survey_responses.c.id).where(
                or_(
                    survey_responses.c.profile_id.in_(ids),
                    survey_responses.c.invitation_id.in_(subject.invitation_ids),
                )
            )
        ).scalars()
    )
    rows = session.execute(
        select(text_items.c.id, text_items.c.text_hash).where(
            or_(
                (text_items.c.source == "event") & text_items.c.ref.in_(subject.seqs),
                (text_items.c.source == "survey") & text_items.c.ref.in_(subject.response_ids),
            )
        )
    ).all()
    subject.text_ids = sorted(int(r.id) for r in rows)
    subject.text_hashes = sorted({str(r.text_hash) for r in rows})
    return subject

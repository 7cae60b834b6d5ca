"""Reads of the customer memory: search, profile, timeline, the agent brief, the overview."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cxm.errors import Conflict, NotFound
from cxm.identity.normalize import normalize_email, normalize_phone
from cxm.identity.tables import identifiers, merges, noisy_identifiers, profiles
from cxm.ingest.tables import events, sources
from cxm.profiles.models import (
    ChannelUse,
    Identifier,
    KnownFact,
    Merge,
    Overview,
    Profile,
    ProfileCard,
    TimelineItem,
    Trait,
    TraitObservation,
    WhatWeKnow,
)
from cxm.profiles.projector import pending_events
from cxm.profiles.summary import fold
from cxm.profiles.tables import channel_activity, profile_events, trait_observations
from cxm.store.tables import cursors

REGION_KEY = "cxm.default_region"
TEXT_KEYS = ("text", "comment", "body", "message", "notes", "description")
# Events in which the organisation asked for or checked data: what was given is "known".
DATA_EVENTS = ("Data Requested", "Identity Verified", "Data Provided")
FACT_ORDER = ("name", "email", "phone", "address", "customer_number", "plan", "language")


def resolve_profile_id(session: Session, ref: str, *, region: str | None = None) -> str:
    """The live profile a reference points at: a profile id, an e-mail, a phone or any id.

    Phones without a country code are read in ``region``, by default the workspace's
    ``CXM_DEFAULT_REGION`` (sessions from ``Workspace.session()`` carry it).
    """
    region = region or session.info.get(REGION_KEY, "PL")
    ref = ref.strip()
    candidates: list[tuple[str, str]] = []
    email = normalize_email(ref)
    if email:
        candidates.append(("email", email))
    phone = normalize_phone(ref, region=region) if not ref.startswith("p_") else None
    if phone:
        candidates.append(("phone", phone))
    for kind, value in candidates:
        holders = list(
            session.execute(
                select(identifiers.c.profile_id)
                .where(identifiers.c.kind == kind, identifiers.c.value == value)
                .order_by(identifiers.c.first_seq)
            ).scalars()
        )
        if len(holders) > 1:
            raise Conflict(
                f"{kind} {value} is shared by {len(holders)} customers "
                f"({', '.join(holders[:5])}); open one of them by its profile id"
            )
        if holders:
            return holders[0]
    row = session.execute(
        select(profiles.c.id, profiles.c.merged_into).where(profiles.c.id == ref)
    ).first()
    if row is not None:
        return row.merged_into or row.id
    found = session.execute(
        select(identifiers.c.profile_id)
        .where(identifiers.c.value == ref)
        .order_by(identifiers.c.kind != "user_id")
        .limit(1)
    ).scalar()
    if found:
        return found
    raise NotFound(
        f"no customer matches {ref!r}; try a profile id (p_…), an e-mail, a phone number or a "
        "user id"
    )


def search_profiles(
    session: Session, query: str, *, limit: int = 50, among: Any = None
) -> list[ProfileCard]:
    """Customers whose name, e-mail, phone or user id contains every word of ``query``
    (``among``: a further condition on ``profiles``, e.g. the customers a department serves).

    An empty query lists the most recently active customers.
    """
    stmt = select(profiles).where(*_matching(query, among))
    rows = session.execute(
        stmt.order_by(profiles.c.last_seen.desc().nulls_last(), profiles.c.id).limit(limit)
    ).all()
    channels = _channels_of(session, [r.id for r in rows])
    return [_card(r._mapping, channels.get(r.id, [])) for r in rows]


def count_profiles(session: Session, query: str = "", *, among: Any = None) -> int:
    """How many customers :func:`search_profiles` would find without a limit."""
    stmt = select(func.count()).select_from(profiles).where(*_matching(query, among))
    return int(session.execute(stmt).scalar() or 0)


def _matching(query: str, among: Any = None) -> list[Any]:
    conditions: list[Any] = [profiles.c.merged_into.is_(None)]
    if among is not None:
        conditions.append(among)
    for term in fold(query).split():
        conditions.append(profiles.c.search_text.contains(term, autoescape=True))
    return conditions


def get_profile(session: Session, ref: str) -> Profile:
    profile_id = resolve_profile_id(session, ref)
    row = session.execute(select(profiles).where(profiles.c.id == profile_id)).one()
    source_names = _source_names(session)
    held = session.execute(
        select(identifiers)
        .where(identifiers.c.profile_id == profile_id)
        .order_by(identifiers.c.kind, identifiers.c.first_seq)
    ).all()
    others, noisy = _other_holders(session, profile_id, [(r.kind, r.value) for r in held])
    idents = [
        Identifier(
            kind=r.kind,
            value=r.value,
            source=source_names.get(r.source_id),
            first_seen=r.first_seen,
            shared_with=others.get((r.kind, r.value), []),
            noisy=(r.kind, r.value) in noisy,
        )
        for r in held
    ]
    return Profile(
        id=row.id,
        display_name=row.display_name,
        email=row.email,
        phone=row.phone,
        created_at=row.created_at,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        event_count=row.event_count,
        identifiers=idents,
        traits=_traits(session, profile_id, source_names),
        merges=_merges(session, profile_id),
    )


def get_timeline(
    session: Session,
    profile_id: str,
    *,
    before_seq: int | None = None,
    limit: int = 50,
    channels: list[str] | None = None,
) -> list[TimelineItem]:
    """The customer's interactions in every channel, newest first; page with ``before_seq``."""
    stmt = (
        select(
            events.c.seq,
            events.c.timestamp,
            events.c.received_at,
            events.c.channel,
            events.c.type,
            events.c.event,
            events.c.payload,
            sources.c.name.label("source"),
        )
        .join(profile_events, profile_events.c.seq == events.c.seq)
        .join(sources, sources.c.id == events.c.source_id)
        .where(profile_events.c.profile_id == profile_id)
    )
    if channels:
        stmt = stmt.where(profile_events.c.channel.in_(channels))
    if before_seq is not None:
        at = session.execute(
            select(profile_events.c.at).where(profile_events.c.seq == before_seq)
        ).scalar()
        if at is not None:
            stmt = stmt.where(
                or_(
                    profile_events.c.at < at,
                    and_(profile_events.c.at == at, profile_events.c.seq < before_seq),
                )
            )
    stmt = stmt.order_by(profile_events.c.at.desc(), profile_events.c.seq.desc()).limit(limit)
    return [_timeline_item(r) for r in session.execute(stmt)]


def what_we_know(session: Session, profile_id: str) -> WhatWeKnow:
    """The brief an agent reads first: who this is, what they told us, what is going on."""
    profile = get_profile(session, profile_id)
    facts = [
        KnownFact(
            field=t.key, value=_show(t.value), source=t.source, channel=t.channel, at=t.observed_at
        )
        for t in sorted(profile.traits, key=lambda t: _fact_rank(t.key))
    ]
    known = {t.key for t in profile.traits}
    facts.extend(f for f in _data_already_given(session, profile.id) if f.field not in known)
    channels = [
        ChannelUse(channel=ch, count=n, last_at=last)
        for ch, n, last in session.execute(
            select(profile_events.c.channel, func.count(), func.max(profile_events.c.at))
            .where(profile_events.c.profile_id == profile.id)
            .group_by(profile_events.c.channel)
            .order_by(func.count().desc())
        )
    ]
    recent = get_timeline(session, profile.id, limit=200)
    last_contact = recent[0] if recent else None
    issues = [item for item in recent if item.text][:5]
    return WhatWeKnow(
        headline=_headline(profile, channels, last_contact),
        facts=facts,
        recent_issues=issues,
        channels=channels,
        last_contact=last_contact,
    )


def get_overview(session: Session, *, weeks: int = 26, recent: int = 10) -> Overview:
    counts = {
        "profiles": select(func.count())
        .select_from(profiles)
        .where(profiles.c.merged_into.is_(None)),
        "events": select(func.count()).select_from(events),
        "sources": select(func.count()).select_from(sources),
    }
    totals = {name: int(session.execute(q).scalar() or 0) for name, q in counts.items()}
    # Both read the projector's per-day counts: events still pending are not in them yet.
    by_channel = [
        (ch, int(n))
        for ch, n in session.execute(
            select(channel_activity.c.channel, func.sum(channel_activity.c.events))
            .group_by(channel_activity.c.channel)
            .order_by(func.sum(channel_activity.c.events).desc(), channel_activity.c.channel)
        )
    ]
    newest = session.execute(select(func.max(channel_activity.c.day))).scalar()
    weekly: list[dict[str, Any]] = []
    if newest is not None:
        per_week: dict[tuple[str, str], int] = defaultdict(int)
        for day, channel, n in session.execute(
            select(
                channel_activity.c.day, channel_activity.c.channel, channel_activity.c.events
            ).where(channel_activity.c.day > newest - timedelta(weeks=weeks))
        ):
            monday = day - timedelta(days=day.weekday())
            per_week[(monday.isoformat(), channel)] += int(n)
        weekly = [
            {"week": week, "channel": ch, "events": n} for (week, ch), n in sorted(per_week.items())
        ]
    return Overview(
        profiles=totals["profiles"],
        events=totals["events"],
        sources=totals["sources"],
        pending_events=pending_events(session.connection()),
        by_channel=by_channel,
        weekly=weekly,
        recent=search_profiles(session, "", limit=recent),
    )


def _card(m: Any, channels: list[str]) -> ProfileCard:
    return ProfileCard(
        id=m["id"],
        display_name=m["display_name"],
        email=m["email"],
        phone=m["phone"],
        first_seen=m["first_seen"],
        last_seen=m["last_seen"],
        event_count=m["event_count"],
        channels=channels,
    )


def _channels_of(session: Session, ids: list[str]) -> dict[str, list[str]]:
    if not ids:
        return {}
    found: dict[str, list[str]] = defaultdict(list)
    for pid, channel in session.execute(
        select(profile_events.c.profile_id, profile_events.c.channel)
        .where(profile_events.c.profile_id.in_(ids))
        .group_by(profile_events.c.profile_id, profile_events.c.channel)
        .order_by(profile_events.c.profile_id, profile_events.c.channel)
    ):
        found[pid].append(channel)
    return found


def _source_names(session: Session) -> dict[int, str]:
    return {row.id: row.name for row in session.execute(select(sources.c.id, sources.c.name))}


def _traits(session: Session, profile_id: str, source_names: dict[int, str]) -> list[Trait]:
    history: dict[str, list[TraitObservation]] = defaultdict(list)
    for r in session.execute(
        select(trait_observations)
        .where(trait_observations.c.profile_id == profile_id)
        .order_by(trait_observations.c.observed_at.desc(), trait_observations.c.seq.desc())
    ):
        history[r.key].append(
            TraitObservation(
                value=orjson.loads(r.value),
                source=source_names.get(r.source_id),
                channel=r.channel,
                observed_at=r.observed_at,
                seq=r.seq,
            )
        )
    traits = []
    for key in sorted(history, key=_fact_rank):
        newest = history[key][0]
        traits.append(
            Trait(
                key=key,
                value=newest.value,
                source=newest.source,
                channel=newest.channel,
                observed_at=newest.observed_at,
                history=history[key],
            )
        )
    return traits


def _other_holders(
    session: Session, profile_id: str, held: list[tuple[str, str]]
) -> tuple[dict[tuple[str, str], list[str]], set[tuple[str, str]]]:
    """Other profiles holding each of ``held``, and which of ``held`` are noisy."""
    shared: dict[tuple[str, str], list[str]] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, value in held:
        by_kind.setdefault(kind, []).append(value)
    noisy: set[tuple[str, str]] = set()
    for kind, values in by_kind.items():
        for start in range(0, len(values), 500):
            part = values[start : start + 500]
            for value, other in session.execute(
                select(identifiers.c.value, identifiers.c.profile_id).where(
                    identifiers.c.kind == kind,
                    identifiers.c.value.in_(part),
                    identifiers.c.profile_id != profile_id,
                )
            ):
                shared.setdefault((kind, value), []).append(other)
            noisy.update(
                (kind, v)
                for v in session.execute(
                    select(noisy_identifiers.c.value).where(
                        noisy_identifiers.c.kind == kind, noisy_identifiers.c.value.in_(part)
                    )
                ).scalars()
            )
    return shared, noisy


def _merges(session: Session, profile_id: str) -> list[Merge]:
    absorbed = [
        profile_id,
        *session.execute(
            select(profiles.c.id).where(profiles.c.merged_into == profile_id)
        ).scalars(),
    ]
    return [
        Merge(
            at=r.at,
            rule=r.rule,
            reason=r.reason,
            winner_id=r.winner_id,
            loser_id=r.loser_id,
            seq=r.seq,
            actor=r.actor,
            id=r.id,
            score=r.score,
            evidence=orjson.loads(r.evidence) if r.evidence else [],
        )
        for r in session.execute(
            select(merges).where(merges.c.winner_id.in_(absorbed)).order_by(merges.c.id)
        )
    ]


def _timeline_item(r: Any) -> TimelineItem:
    payload = orjson.loads(r.payload)
    props = payload.get("traits") if r.type == "identify" else payload.get("properties")
    props = props if isinstance(props, dict) else {}
    text = next((props[k] for k in TEXT_KEYS if isinstance(props.get(k), str)), None)
    return TimelineItem(
        seq=r.seq,
        at=r.timestamp,
        received_at=r.received_at,
        channel=r.channel,
        source=r.source,
        type=r.type,
        event=r.event,
        text=text,
        properties=props,
    )


def _data_already_given(session: Session, profile_id: str) -> list[KnownFact]:
    """Fields a channel already asked for or verified: the next one must not ask again."""
    given: dict[str, KnownFact] = {}
    rows = session.execute(
        select(events.c.timestamp, events.c.channel, events.c.payload, sources.c.name)
        .join(profile_events, profile_events.c.seq == events.c.seq)
        .join(sources, sources.c.id == events.c.source_id)
        .where(profile_events.c.profile_id == profile_id, events.c.event.in_(DATA_EVENTS))
        .order_by(events.c.timestamp)
    )
    for at, channel, payload, source in rows:
        fields = (orjson.loads(payload).get("properties") or {}).get("fields")
        if isinstance(fields, list):
            for name in fields:
                if isinstance(name, str) and name not in given:
                    given[name] = KnownFact(
                        field=name,
                        value=None,
                        source=source,
                        channel=channel,
                        at=at,
                    )
    return list(given.values())


def _fact_rank(key: str) -> tuple[int, str]:
    return (FACT_ORDER.index(key) if key in FACT_ORDER else len(FACT_ORDER), key)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _headline(profile: Profile, channels: list[ChannelUse], last: TimelineItem | None) -> str:
    who = profile.display_name or profile.email or profile.phone or profile.id
    parts = [who]
    if profile.first_seen:
        parts.append(f"known since {profile.first_seen:%d %b %Y}")
    parts.append(f"{profile.event_count} interactions in {len(channels)} channels")
    if last is not None:
        what = last.event or last.type
        parts.append(f"last contact on {last.at:%d %b %Y %H:%M} UTC via {last.channel} ({what})")
    return "; ".join(parts)


def placed_events(session: Session, *, after: int, limit: int) -> tuple[list[Any], int]:
    """Events after seq ``after`` that the projector has placed on a profile, in seq order, at
    most ``limit``: each with seq, type, event, channel, timestamp, payload and the live
    ``profile_id``; and the seq a reader of them has now read up to (events the projector
    has not reached yet wait; events it placed on no profile, such as alias events, are
    passed over). Derived views that follow customers (cases, automation) read with this.
    """
    placed_upto = int(
        session.execute(select(cursors.c.position).where(cursors.c.name == "profiles")).scalar()
        or 0
    )
    rows = session.execute(
        select(
            events.c.seq,
            events.c.type,
            events.c.event,
            events.c.channel,
            events.c.timestamp,
            events.c.payload,
            func.coalesce(profiles.c.merged_into, profile_events.c.profile_id).label("profile_id"),
        )
        .join(profile_events, profile_events.c.seq == events.c.seq)
        .join(profiles, profiles.c.id == profile_events.c.profile_id)
        .where(events.c.seq > after, events.c.seq <= placed_upto)
        .order_by(events.c.seq)
        .limit(limit)
    ).all()
    read_upto = int(rows[-1].seq) if len(rows) == limit else max(after, placed_upto)
    return list(rows), read_upto

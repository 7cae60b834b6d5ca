"""The identity graph's guardrails, and merges and unmerges that put everything back."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from cxm.identity import do_merge_profiles, do_unmerge, list_pairs
from cxm.identity.tables import identifiers, identity_pairs, merges, noisy_identifiers, profiles
from cxm.ingest import do_ingest_events, get_source
from cxm.profiles import get_profile, rebuild_profiles
from cxm.profiles.tables import profile_events, trait_observations
from cxm.workspace import Workspace

_ids = itertools.count()


def feed(workspace: Workspace, batch: list[dict[str, Any]], source: str = "website") -> None:
    """Ingest ``batch`` (message ids m0, m1, … unless given) and bring profiles up to date."""
    with workspace.session() as session:
        src = get_source(session, source)
    start = next(_ids) * 10_000
    numbered = [(n, {"messageId": f"m{start + n}", **e}) for n, e in enumerate(batch)]
    do_ingest_events(workspace.engine, source=src, events=numbered)
    workspace.catch_up()


def holders(workspace: Workspace, kind: str, value: str) -> list[str]:
    with workspace.session() as session:
        return list(
            session.execute(
                select(identifiers.c.profile_id)
                .where(identifiers.c.kind == kind, identifiers.c.value == value)
                .order_by(identifiers.c.first_seq)
            ).scalars()
        )


def owner_of(workspace: Workspace, message_id: str) -> str:
    from cxm.ingest.tables import events

    with workspace.session() as session:
        return str(
            session.execute(
                select(profile_events.c.profile_id)
                .join(events, events.c.seq == profile_events.c.seq)
                .where(events.c.message_id == message_id)
            ).scalar_one()
        )


def test_a_family_phone_links_nobody(workspace: Workspace, write_keys: dict[str, str]) -> None:
    phone = "+48601000111"
    feed(
        workspace,
        [
            {"type": "identify", "userId": "jan", "traits": {"phone": phone, "name": "Jan"}},
            {
                "type": "identify",
                "userId": "anna",
                "traits": {"phone": "601 000 111", "name": "Anna"},
            },
            {
                "messageId": "ivr-1-menu",
                "type": "track",
                "event": "Call",
                "anonymousId": "ivr-1",
                "context": {"traits": {"phone": phone}},
            },
        ],
    )
    jan, anna = holders(workspace, "phone", phone)
    assert jan != anna
    with workspace.session() as session:
        assert get_profile(session, jan).display_name == "Jan"
        assert get_profile(session, anna).identifiers[0].kind in {"phone", "user_id"}
        shared = [i for i in get_profile(session, anna).identifiers if i.kind == "phone"]
        assert shared[0].shared_with == [jan]
        queue = list_pairs(session)
    assert len(queue) == 1
    assert {queue[0].a.id, queue[0].b.id} == {jan, anna}
    assert queue[0].origin == "rules" and "user_id" in queue[0].reason
    # A call carrying only the shared phone goes to its first holder, never merging them; as
    # that is a guess, the call's own id is given to nobody.
    assert owner_of(workspace, "ivr-1-menu") == jan
    assert holders(workspace, "anonymous_id", "ivr-1") == []
    # When the caller gives her name later in the same call, it goes to her own profile.
    feed(
        workspace,
        [
            {
                "messageId": "ivr-1-agent",
                "type": "track",
                "event": "Call Handled",
                "anonymousId": "ivr-1",
                "context": {"traits": {"phone": phone, "name": " anna "}},
            }
        ],
    )
    assert owner_of(workspace, "ivr-1-agent") == anna
    assert holders(workspace, "anonymous_id", "ivr-1") == [anna]
    # A caller nobody on the phone is known as: placed on its first holder as a guess, without
    # teaching that profile a name and birth date that may be someone else's.
    feed(
        workspace,
        [
            {
                "messageId": "guest-call",
                "type": "track",
                "event": "Call Handled",
                "anonymousId": "call-3",
                "context": {"traits": {"phone": phone, "name": "Zofia", "birthday": "1950-01-01"}},
            }
        ],
    )
    assert owner_of(workspace, "guest-call") == jan
    with workspace.session() as session:
        assert get_profile(session, jan).display_name == "Jan"
        assert "birthday" not in {t.key for t in get_profile(session, jan).traits}

    # Two more people on the same number: the third shares it, the fourth makes it noisy.
    feed(
        workspace,
        [
            {"type": "identify", "userId": "ola", "traits": {"phone": phone}},
            {"type": "identify", "userId": "piotr", "traits": {"phone": phone}},
        ],
    )
    assert len(holders(workspace, "phone", phone)) == 3
    with workspace.session() as session:
        noisy = session.execute(select(noisy_identifiers.c.value)).scalars().all()
        live = session.execute(
            select(profiles.c.id).where(profiles.c.merged_into.is_(None))
        ).scalars()
        assert noisy == [phone]
        assert len(set(live)) == 4  # jan, anna, ola and piotr


def test_one_identifier_claimed_by_ten_thousand_records(
    workspace: Workspace, write_keys: dict[str, str]
) -> None:
    batch = [
        {"type": "identify", "userId": f"u{n}", "traits": {"email": "noreply@shop.pl"}}
        for n in range(10_000)
    ]
    feed(workspace, batch)
    with workspace.session() as session:
        live = session.execute(select(profiles.c.id).where(profiles.c.merged_into.is_(None))).all()
        assert len(live) == 10_000
        assert session.execute(select(merges.c.id)).first() is None
        assert session.execute(select(noisy_identifiers.c.value)).scalars().all() == [
            "noreply@shop.pl"
        ]
        placed = session.execute(select(profile_events.c.seq)).all()
        assert len(placed) == 10_000  # nothing lost
        assert len(list_pairs(session, limit=500)) == 1  # asked once, not 10,000 times
    assert len(holders(workspace, "email", "noreply@shop.pl")) == 2


def test_alias_merges_two_user_ids(workspace: Workspace, write_keys: dict[str, str]) -> None:
    feed(
        workspace,
        [
            {"type": "identify", "userId": "old-account", "traits": {"email": "a@x.pl"}},
            {"type": "identify", "userId": "new-account"},
            {"type": "alias", "userId": "new-account", "previousId": "old-account"},
        ],
    )
    assert holders(workspace, "user_id", "old-account") == holders(
        workspace, "user_id", "new-account"
    )


def snapshot(workspace: Workspace, prefix: str) -> dict[str, Any]:
    """Everything derived about the profiles whose identifiers start with ``prefix``."""
    with workspace.session() as session:
        mine = set(
            session.execute(
                select(identifiers.c.profile_id).where(identifiers.c.value.like(f"{prefix}%"))
            ).scalars()
        )
        live = sorted(
            tuple(r)
            for r in session.execute(
                select(
                    profiles.c.id,
                    profiles.c.merged_into,
                    profiles.c.created_seq,
                    profiles.c.display_name,
                    profiles.c.email,
                    profiles.c.phone,
                    profiles.c.event_count,
                    profiles.c.first_seen,
                    profiles.c.last_seen,
                ).where(profiles.c.id.in_(mine) | profiles.c.merged_into.in_(mine))
            )
        )
        ids = sorted(
            tuple(r)
            for r in session.execute(
                select(
                    identifiers.c.kind,
                    identifiers.c.value,
                    identifiers.c.profile_id,
                    identifiers.c.first_seq,
                ).where(identifiers.c.profile_id.in_(mine))
            )
        )
        placed = sorted(
            tuple(r)
            for r in session.execute(
                select(profile_events.c.seq, profile_events.c.profile_id).where(
                    profile_events.c.profile_id.in_(mine)
                )
            )
        )
        traits = sorted(
            tuple(r)
            for r in session.execute(
                select(
                    trait_observations.c.profile_id,
                    trait_observations.c.key,
                    trait_observations.c.value,
                    trait_observations.c.seq,
                ).where(trait_observations.c.profile_id.in_(mine))
            )
        )
        joined = sorted(
            tuple(r)
            for r in session.execute(
                select(
                    merges.c.winner_id,
                    merges.c.loser_id,
                    merges.c.rule,
                    merges.c.reason,
                    merges.c.seq,
                ).where(merges.c.winner_id.in_(mine))
            )
        )
    return {
        "profiles": live,
        "identifiers": ids,
        "events": placed,
        "traits": traits,
        "merges": joined,
    }


person = st.fixed_dictionaries(
    {
        "user": st.booleans(),
        "email": st.booleans(),
        "phone": st.booleans(),
        "devices": st.integers(min_value=1, max_value=3),
    }
)
step = st.tuples(
    st.integers(min_value=0, max_value=3),  # who
    st.sets(st.sampled_from(["user", "email", "phone", "device"]), min_size=1),
    st.integers(min_value=0, max_value=2),  # which device
    st.booleans(),  # says a name
)


@hsettings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(person, min_size=2, max_size=4),
    steps=st.lists(step, min_size=2, max_size=25),
    family_phone=st.booleans(),
    pick=st.integers(min_value=0, max_value=100),
)
def test_merge_then_unmerge_restores_the_profiles_exactly(
    workspace: Workspace,
    write_keys: dict[str, str],
    people: list[dict[str, Any]],
    steps: list[tuple[int, set[str], int, bool]],
    family_phone: bool,
    pick: int,
) -> None:
    prefix = f"x{next(_ids)}-"
    batch = []
    for who, parts, device, named in steps:
        who %= len(people)
        p = people[who]
        phone_owner = 0 if family_phone and who == 1 else who
        event: dict[str, Any] = {"type": "identify", "traits": {}}
        if "user" in parts and p["user"]:
            event["userId"] = f"{prefix}u{who}"
        if "email" in parts and p["email"]:
            event["traits"]["email"] = f"{prefix}e{who}@x.pl"
        if "phone" in parts and p["phone"]:
            event["traits"]["phone"] = f"+4860{abs(hash(prefix)) % 10_000:04d}{phone_owner:03d}"
        if named:
            event["traits"]["name"] = f"{prefix}name{who}"
        event["anonymousId"] = f"{prefix}d{who}.{device % p['devices']}"
        batch.append(event)
    feed(workspace, batch)
    before = snapshot(workspace, prefix)
    live = sorted({row[0] for row in before["profiles"] if row[1] is None})
    if len(live) < 2:
        return
    a, b = live[pick % len(live)], live[(pick + 1) % len(live)]
    with workspace.session() as session:
        done = do_merge_profiles(session, actor="test", a=a, b=b, reason="looks alike")
    merged = snapshot(workspace, prefix)
    assert len({r[0] for r in merged["profiles"] if r[1] is None}) == len(live) - 1
    with workspace.session() as session:
        undone = do_unmerge(session, actor="test", merge_id=done.id, reason="two people")
    assert set(undone.profiles) == {a, b}
    assert snapshot(workspace, prefix) == before
    with workspace.session() as session:
        status = session.execute(
            select(identity_pairs.c.status).where(
                identity_pairs.c.profile_a == min(a, b), identity_pairs.c.profile_b == max(a, b)
            )
        ).scalar_one()
    assert status == "separate"


def test_unmerging_a_rules_merge_keeps_both_sides_apart_through_a_rebuild(
    workspace: Workspace, write_keys: dict[str, str]
) -> None:
    feed(
        workspace,
        [
            {"messageId": "m0", "type": "page", "anonymousId": "laptop"},
            {"messageId": "m1", "type": "identify", "userId": "ewa", "traits": {"email": "e@x.pl"}},
            {"messageId": "m2", "type": "identify", "userId": "ewa", "anonymousId": "laptop"},
            {"messageId": "m3", "type": "track", "event": "Later", "anonymousId": "laptop"},
        ],
    )
    (root,) = holders(workspace, "user_id", "ewa")
    assert holders(workspace, "anonymous_id", "laptop") == [root]
    with workspace.session() as session:
        (merge,) = get_profile(session, root).merges
        assert merge.rule == "anonymous_id+user_id"
        undone = do_unmerge(session, actor="test", merge_id=merge.id, reason="shared laptop")
    assert len(undone.profiles) == 2
    laptop = holders(workspace, "anonymous_id", "laptop")
    assert len(laptop) == 2  # the laptop is now shared by both sides, linking neither
    (ewa,) = holders(workspace, "user_id", "ewa")
    before = {m: owner_of(workspace, m) for m in ("m0", "m1", "m2", "m3")}
    assert before["m1"] == before["m2"] == ewa != before["m0"] == before["m3"]
    rebuild_profiles(workspace.engine, region="PL")
    assert {m: owner_of(workspace, m) for m in before} == before
    assert len(holders(workspace, "anonymous_id", "laptop")) == 2


def test_two_birth_dates_are_two_people(workspace: Workspace, write_keys: dict[str, str]) -> None:
    """A call on a family phone comes first; the account that later claims the phone is the
    caller's son, with another birth date: he gets his own profile, not his mother's call."""
    phone = "+48578079816"
    feed(
        workspace,
        [
            {
                "type": "track",
                "event": "Call Handled",
                "anonymousId": "call-1",
                "context": {
                    "traits": {"phone": phone, "name": "Jadwiga Wrobel", "birthday": "1961-06-08"}
                },
            },
            {
                "type": "identify",
                "userId": "mateusz",
                "traits": {"phone": phone, "name": "Mateusz Wróbel", "birthday": "1990-02-11"},
            },
        ],
    )
    call, son = (
        holders(workspace, "anonymous_id", "call-1")[0],
        holders(workspace, "user_id", "mateusz")[0],
    )
    assert call != son
    assert sorted(holders(workspace, "phone", phone)) == sorted([call, son])
    with workspace.session() as session:
        (pair,) = list_pairs(session)
        assert get_profile(session, son).display_name == "Mateusz Wróbel"
    assert "different birth dates" in pair.reason

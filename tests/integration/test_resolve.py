"""Probabilistic resolution through the workspace: full pass, incremental pass, decisions kept."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select

from cxm.identity import list_pairs
from cxm.identity.tables import identifiers, merges
from cxm.ingest import do_ingest_events, get_source
from cxm.workspace import Workspace

GIVEN = ["Łukasz", "Anna", "Piotr", "Zofia", "Marek", "Ewa", "Jan", "Olga", "Igor", "Julia"]
GIVEN += ["Tomasz", "Kamil", "Agata", "Beata", "Adam", "Maria", "Oskar", "Nina", "Wiktor", "Hanna"]
FAMILY = ["Wójcik", "Nowak", "Kowalski", "Zając", "Mazur", "Król", "Lis", "Dudek", "Sikora"]
FAMILY += ["Wróbel", "Górski", "Pawlak", "Walczak", "Baran", "Szewczyk", "Ostrowski", "Kubiak"]
CYRILLIC = {"Юлия Смирнова": "Yulia Smirnova", "Алексей Щукин": "Aleksey Shchukin"}


def person_events(n: int, rng: random.Random) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
    if n == 7:
        name = "Grzegorz Brzęczyszczykiewicz"  # a rare name: strong evidence on its own
    birthday = f"{rng.randint(1950, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    traits = {
        "name": name,
        "email": f"{rng.getrandbits(40):x}@mail.pl",
        "phone": f"+4860{rng.randrange(10**7):07d}",
        "birthday": birthday,
        "city": rng.choice(["Kraków", "Gdańsk", "Łódź", "Poznań"]),
    }
    return name, traits, [{"type": "identify", "userId": f"u{n}", "traits": traits}]


def call(call_id: str, phone: str, name: str, birthday: str) -> dict[str, Any]:
    """A handled call: the agent typed the caller's name and birthday beside the number."""
    return {
        "type": "track",
        "event": "Call Handled",
        "anonymousId": call_id,
        "context": {"traits": {"phone": phone, "name": name, "birthday": birthday}},
    }


def ingest(workspace: Workspace, batch: list[dict[str, Any]], offset: int) -> None:
    with workspace.session() as session:
        source = get_source(session, "call-centre")
    numbered = [(i, {"messageId": f"r{offset + i}", **e}) for i, e in enumerate(batch)]
    do_ingest_events(workspace.engine, source=source, events=numbered)
    workspace.catch_up()


def profile_of(workspace: Workspace, kind: str, value: str) -> str:
    with workspace.session() as session:
        return str(
            session.execute(
                select(identifiers.c.profile_id).where(
                    identifiers.c.kind == kind, identifiers.c.value == value
                )
            ).scalar_one()
        )


def test_resolve_links_second_phones_and_keeps_namesakes_apart(
    workspace: Workspace, write_keys: dict[str, str]
) -> None:
    rng = random.Random(3)
    batch: list[dict[str, Any]] = []
    people = {}
    for n in range(300):
        name, traits, events = person_events(n, rng)
        people[n] = traits
        batch += events
    # Two Cyrillic-named customers, known to the contract system in Latin script.
    for n, (native, latin) in enumerate(CYRILLIC.items(), start=300):
        traits = {
            "name": latin,
            "email": f"c{n}@mail.ru",
            "phone": f"+7900{n:07d}",
            "birthday": "1988-03-0" + str(n - 299),
        }
        people[n] = {**traits, "native": native}
        batch.append({"type": "identify", "userId": f"u{n}", "traits": traits})
    # Calls from a second phone: the agent types the name (diacritics lost) and the birthday.
    callers = [0, 1, 2, 3, 4, 300, 301]
    for k, n in enumerate(callers):
        traits = people[n]
        name = traits.get("native") or traits["name"].replace("ł", "l").replace("Ł", "L")
        batch.append(call(f"call-{k}", f"+4850{k:07d}", name, traits["birthday"]))
    # A namesake of customer 0 with another birthday and phone: a different person.
    batch.append(call("call-namesake", "+48519999999", people[0]["name"], "1931-01-01"))
    ingest(workspace, batch, 0)

    report = workspace.resolve(full=True)
    assert report.profiles == 310
    for k, n in enumerate(callers):
        assert profile_of(workspace, "phone", f"+4850{k:07d}") == profile_of(
            workspace, "user_id", f"u{n}"
        ), (n, people[n])
    assert profile_of(workspace, "phone", "+48519999999") != profile_of(workspace, "user_id", "u0")
    with workspace.session() as session:
        found = session.execute(select(merges).where(merges.c.rule == "probabilistic")).all()
    assert len(found) >= len(callers)
    assert all(m.score is not None and m.score >= 0.99 and m.evidence for m in found)

    # A new caller later: matched by the incremental pass, with the saved model, no refit.
    model = workspace.settings.workspace / "models" / "identity" / "matcher.json"
    fitted = model.stat().st_mtime_ns
    ingest(
        workspace,
        [call("call-late", "+48501111111", people[7]["name"], people[7]["birthday"])],
        1000,
    )
    late = workspace.resolve(full=False)
    assert late.incremental and late.merged == 1
    assert model.stat().st_mtime_ns == fitted
    assert profile_of(workspace, "phone", "+48501111111") == profile_of(workspace, "user_id", "u7")

    # Decisions are kept: a second full pass asks nothing new.
    again = workspace.resolve(full=True)
    assert again.merged == 0
    with workspace.session() as session:
        queued = len(list_pairs(session, limit=500))
    assert again.queued == 0 or queued >= again.queued


def test_resolve_survives_garbage_and_merges_none_of_it(
    workspace: Workspace, write_keys: dict[str, str]
) -> None:
    garbage: list[Any] = ["", " ", None, 42, ["a"], {"x": 1}, "\u200b", "2023-13-45", "abc"]
    batch = []
    for n, value in enumerate(garbage * 3):
        batch.append(
            {
                "type": "identify",
                "userId": f"g{n}",
                "traits": {
                    "name": value,
                    "firstName": value,
                    "birthday": value,
                    "phone": "not a phone" if n % 2 else "+48 000",
                    "email": "not-an-email",
                    "postalCode": value,
                },
            }
        )
    ingest(workspace, batch, 0)
    report = workspace.resolve(full=True)
    assert report.profiles == len(batch)  # every record kept, each its own profile
    assert report.merged == 0
    with workspace.session() as session:
        kinds = set(session.execute(select(identifiers.c.kind)).scalars())
    assert kinds == {"user_id"}  # malformed phones and e-mails identify nobody
    again = workspace.resolve(full=False)
    assert again.incremental and again.merged == 0


def test_the_worker_matches_new_profiles_only_once_a_model_exists(
    workspace: Workspace, write_keys: dict[str, str]
) -> None:
    from cxm.cli.serving import _match_new_profiles

    rng = random.Random(3)
    batch: list[dict[str, Any]] = []
    people = {}
    for n in range(300):
        _, traits, events = person_events(n, rng)
        people[n] = traits
        batch += events
    # A few customers who also called from another phone: the duplicates the model learns from.
    for k in range(5):
        batch.append(call(f"call-{k}", f"+4850{k:07d}", people[k]["name"], people[k]["birthday"]))
    ingest(workspace, batch, 0)
    model = workspace.settings.workspace / "models" / "identity" / "matcher.json"
    _match_new_profiles(workspace)  # no model yet: nothing happens, nothing fails
    assert not model.exists()

    workspace.resolve(full=True)
    ingest(
        workspace,
        [call("late-call", "+48502222222", people[7]["name"], people[7]["birthday"])],
        500,
    )
    _match_new_profiles(workspace)
    assert profile_of(workspace, "phone", "+48502222222") == profile_of(workspace, "user_id", "u7")

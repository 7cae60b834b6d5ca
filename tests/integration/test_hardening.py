"""Inputs and failures that once broke ingestion or the projector, on both backends."""

from __future__ import annotations

import gzip
import random
import threading
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import insert, select

from cxm.audit import list_actions
from cxm.config import Settings
from cxm.demo.build import reset_workspace
from cxm.identity.policy import IdentityPolicy, KindLimit
from cxm.identity.tables import identifiers, profiles
from cxm.ingest import ColumnMapping, do_import_file, get_source
from cxm.ingest.tables import events
from cxm.profiles import project_pending, rebuild_profiles
from cxm.store.metadata import utcnow
from cxm.workspace import Workspace
from helpers import basic


def stored_ids(ws: Workspace) -> set[str]:
    with ws.session() as session:
        return set(session.execute(select(events.c.message_id)).scalars())


@pytest.mark.anyio
async def test_values_a_store_cannot_hold_are_rejected_per_event(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    good = {"type": "track", "event": "Ok", "userId": "u1", "messageId": "good"}
    batch = {
        "batch": [
            good,
            {"type": "track", "event": "Nul", "userId": "u\x00x", "messageId": "nul"},
            {
                "type": "track",
                "event": "Far",
                "userId": "u",
                "messageId": "far",
                "timestamp": "9999-12-31T23:59:59-01:00",
            },
            {"type": "track", "event": "Ctx", "userId": "u", "messageId": "ctx", "context": "x"},
            {"type": "track", "event": "Blank", "userId": "   ", "messageId": "blank"},
            {
                "type": "track",
                "event": "Text",
                "userId": "u2",
                "messageId": "text",
                "properties": {"note": "a literal \\\\u0000 is fine"},
            },
        ],
        "context": {"locale": "pl-PL"},
        "sentAt": "0001-01-01T00:00:00+01:00",
    }
    response = await api.post("/v1/batch", json=batch, headers=basic(write_keys["website"]))
    assert response.status_code == 200, response.text
    rejected = {r["messageId"]: r["message"] for r in response.json()["rejected"]}
    assert set(rejected) == {"nul", "far", "ctx", "blank"}
    assert "NUL character" in rejected["nul"]
    assert "out of the range" in rejected["far"]
    assert "'context' must be an object" in rejected["ctx"]
    assert "userId or an anonymousId" in rejected["blank"]
    assert stored_ids(workspace) == {"good", "text"}
    workspace.catch_up()
    assert workspace.profile("u1").event_count == 1


@pytest.mark.anyio
async def test_incomplete_or_concatenated_gzip_is_refused(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    body = gzip.compress(orjson.dumps({"batch": [{"type": "page", "anonymousId": "a"}]}))
    for broken in (body[:-4], body + gzip.compress(b"{}")):
        response = await api.post(
            "/v1/batch",
            content=broken,
            headers={**basic(write_keys["website"]), "Content-Encoding": "gzip"},
        )
        assert response.status_code == 400 and "gzip" in response.json()["message"]
    assert stored_ids(workspace) == set()


def test_an_event_that_cannot_be_projected_is_set_aside_not_blocking(
    workspace: Workspace, write_keys: dict[str, str]
) -> None:
    with workspace.session() as session:
        source = get_source(session, "website")
    now = utcnow()
    rows = [
        {
            "message_id": "a",
            "type": "identify",
            "user_id": "u1",
            "payload": orjson.dumps(
                {"type": "identify", "userId": "u1", "traits": {"name": "Ala"}}
            ).decode(),
        },
        # A row damaged outside cxm: its payload is not JSON any more.
        {"message_id": "b", "type": "track", "user_id": "u1", "payload": "{broken"},
        {
            "message_id": "c",
            "type": "track",
            "user_id": "u1",
            "payload": orjson.dumps({"type": "track", "userId": "u1", "event": "Later"}).decode(),
        },
    ]
    with workspace.engine.begin() as conn:
        for row in rows:
            conn.execute(
                insert(events).values(
                    source_id=source.id,
                    event=None,
                    anonymous_id=None,
                    channel="web",
                    timestamp=now,
                    received_at=now,
                    **row,
                )
            )
    result = workspace.catch_up()
    assert result.events == 3 and result.position > 0
    assert workspace.profile("u1").event_count == 2
    with workspace.session() as session:
        skipped = list_actions(session, action="projection.skipped")
    assert len(skipped) == 1 and "JSONDecodeError" in skipped[0].details["error"]
    assert workspace.catch_up().events == 0


def test_projectors_starting_together_on_a_fresh_store_do_not_collide(
    workspace: Workspace, write_keys: dict[str, str]
) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def run() -> None:
        try:
            start.wait()
            project_pending(workspace.engine, region="PL")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


NO_LIMITS = IdentityPolicy(limits={}, other=KindLimit(per_profile=None, max_holders=1))


@pytest.mark.parametrize("chunk_events", [1, 3, 1000])
def test_profiles_are_the_connected_components_of_linked_identifiers(
    workspace: Workspace, write_keys: dict[str, str], chunk_events: int
) -> None:
    """Without guardrails, whatever the chunking, profiles are the union-find components."""
    rng = random.Random(chunk_events)
    people = [f"u{n}" for n in range(30)]
    batch: list[tuple[int, dict]] = []
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for n in range(150):
        ids = {"anonymousId": f"a{rng.randrange(60)}"}
        if rng.random() < 0.5:
            ids["userId"] = rng.choice(people)
        traits = {"email": f"e{rng.randrange(40)}@x.pl"} if rng.random() < 0.3 else {}
        event = {"type": "identify", "messageId": f"m{n}", "traits": traits, **ids}
        batch.append((n, event))
        nodes = [("anonymous_id", ids["anonymousId"])]
        if "userId" in ids:
            nodes.append(("user_id", ids["userId"]))
        if traits:
            nodes.append(("email", traits["email"]))
        root = find(nodes[0])
        for node in nodes[1:]:
            parent[find(node)] = root
            root = find(nodes[0])
    with workspace.session() as session:
        source = get_source(session, "website")
    from cxm.ingest import do_ingest_events

    do_ingest_events(workspace.engine, source=source, events=batch)
    project_pending(workspace.engine, region="PL", policy=NO_LIMITS, chunk_events=chunk_events)

    with workspace.session() as session:
        owner = {
            (k, v): p
            for k, v, p in session.execute(
                select(identifiers.c.kind, identifiers.c.value, identifiers.c.profile_id)
            )
        }
        live = set(
            session.execute(select(profiles.c.id).where(profiles.c.merged_into.is_(None))).scalars()
        )
    expected: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for node in parent:
        expected.setdefault(find(node), set()).add(node)
    formed: dict[str, set[tuple[str, str]]] = {}
    for node, profile_id in owner.items():
        formed.setdefault(profile_id, set()).add(node)
    assert sorted(map(sorted, formed.values())) == sorted(map(sorted, expected.values()))
    assert set(formed) == live

    with workspace.session() as session:
        merges_before = len(list_actions(session, action="profiles.merged", limit=1000))
    rebuild_profiles(workspace.engine, region="PL", policy=NO_LIMITS, chunk_events=7)
    with workspace.session() as session:
        rebuilt = {
            (k, v): p
            for k, v, p in session.execute(
                select(identifiers.c.kind, identifiers.c.value, identifiers.c.profile_id)
            )
        }
        assert len(list_actions(session, action="profiles.merged", limit=1000)) == merges_before
        assert len(list_actions(session, action="profiles.rebuilt")) == 1
    assert rebuilt == owner


def test_importer_edge_files(
    workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    with workspace.session() as session:
        source = get_source(session, "call-centre")
    mapping = ColumnMapping.from_pairs(["userId=Account", "text=Notes"], ["event=Call"])

    tsv = tmp_path / "calls.tsv"
    tsv.write_text("Account\tNotes\nCUST-1\tTab separated, with a comma\n", encoding="utf-8")
    report, _ = do_import_file(workspace.engine, source=source, path=tsv, mapping=mapping)
    assert report.stored == 1

    quoted = tmp_path / "quoted.csv"
    quoted.write_text(
        'Account,Notes\nCUST-2,"fine"\nCUST-3,"never closed\nCUST-4,x\n', encoding="utf-8"
    )
    report, _ = do_import_file(workspace.engine, source=source, path=quoted, mapping=mapping)
    assert report.stored == 1 and report.rejected
    assert "not valid CSV" in report.rejected[0]["message"]

    header = tmp_path / "latin2.csv"
    header.write_bytes("Konto,Notatka\xb3\nCUST-5,x\n".encode("latin-1"))
    from cxm.errors import InvalidInput

    with pytest.raises(InvalidInput, match="the header row is not valid utf-8; it looks like"):
        do_import_file(
            workspace.engine,
            source=source,
            path=header,
            mapping=ColumnMapping.from_pairs(["userId=Konto"]),
        )
    with pytest.raises(InvalidInput, match="cannot write the report"):
        do_import_file(
            workspace.engine, source=source, path=tsv, mapping=mapping, report_path=tmp_path
        )

    jsonl = tmp_path / "nulls.jsonl"
    jsonl.write_bytes(b'{"type": "track", "event": "E", "userId": "u9", "messageId": null}\n')
    first, _ = do_import_file(workspace.engine, source=source, path=jsonl, mapping=None)
    again, _ = do_import_file(workspace.engine, source=source, path=jsonl, mapping=None)
    assert (first.stored, again.stored, again.duplicates) == (1, 0, 1)


def test_lookups_read_phones_in_the_workspace_region(tmp_path: Path, database_url: str) -> None:
    settings = Settings(workspace=tmp_path / "de", database_url=database_url, default_region="de")
    with Workspace.open(settings=settings) as ws:
        ws.initialise()
        from cxm.ingest import do_create_source, do_ingest_events

        with ws.session() as session:
            source, _ = do_create_source(session, actor="test", name="hotline", channel="phone")
        do_ingest_events(
            ws.engine,
            source=source,
            events=[
                (0, {"type": "identify", "anonymousId": "c1", "traits": {"phone": "030 1234567"}})
            ],
        )
        ws.catch_up()
        assert ws.profile("030 1234567").phone == "+49301234567"


def test_fresh_demo_reset_keeps_files_that_are_not_cxms(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "demo").mkdir(parents=True)
    (root / "cxm.db").write_bytes(b"x")
    (root / "notes.txt").write_text("mine", encoding="utf-8")
    (root / "project").mkdir()
    reset_workspace(Settings(workspace=root))
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt", "project"]

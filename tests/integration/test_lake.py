"""The lake: incremental sync by sequence number, customers moved by merges, rebuilds, API, CLI."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cxm.analytics import DuckDBEngine
from cxm.cli.app import app as cli
from cxm.ingest import do_create_source, do_ingest_events
from cxm.journeys.analytics import FunnelQuery, run_funnel
from cxm.journeys.service import do_save_journey_map
from cxm.lake import Lake
from cxm.lake.layout import RETIRED_GRACE_S
from cxm.workspace import Workspace
from helpers import bearer, journeys_for

MAP = """
journey: Lake test
departments: {sales: {name: Sales, lead: Ola}}
stages: [{id: discover, name: Discover}, {id: buy, name: Buy}]
touchpoints:
  - {id: plan, name: Plan, stage: discover, match: {type: track, event: Plan Viewed},
     owner: sales, influence: {sales: 1}}
  - {id: order, name: Order, stage: buy, match: {type: track, event: Order Completed},
     owner: sales, influence: {sales: 1}}
"""


def ingest(ws: Workspace, events: list[dict[str, Any]]) -> None:
    with ws.session() as session:
        from cxm.ingest import get_source

        try:
            src = get_source(session, "lake-test")
        except LookupError:
            src, _ = do_create_source(session, actor="test", name="lake-test", channel="web")
    report = do_ingest_events(ws.engine, source=src, events=list(enumerate(events)))
    assert not report.rejected


def lake_rows(lake: Lake) -> list[tuple[Any, ...]]:
    table = lake.read_events()
    return sorted(zip(*(table[c].to_pylist() for c in table.column_names), strict=True))


def save_map(ws: Workspace) -> None:
    with ws.session() as session:
        do_save_journey_map(session=session, source=MAP, actor="test")


def test_sync_is_incremental_and_copies_only_placed_events(workspace: Workspace) -> None:
    journeys_for(workspace, {"ania": [{"event": "Plan Viewed", "at": "2026-03-01T10:00:00Z"}]})
    lake = workspace.lake
    assert lake.status().events == 1
    first_seq = lake.manifest().events_seq

    # Not yet placed on a profile (no catch_up): the lake waits for the projector.
    ingest(workspace, [{"type": "track", "userId": "ania", "event": "Order Completed",
                        "timestamp": "2026-03-02T10:00:00Z"}])  # fmt: skip
    report = workspace.sync_lake()
    assert report.events == 0 and lake.manifest().events_seq == first_seq
    workspace.catch_up()
    report = workspace.sync_lake()
    assert report.events == 1 and report.events_seq > first_seq
    generation = lake.manifest().generation
    assert workspace.sync_lake().events == 0  # nothing new
    # An idle sync leaves the generation alone, so cached answers stay valid.
    assert workspace.sync_lake().events == 0 and lake.manifest().generation == generation
    rows = lake.read_events().to_pylist()
    assert [r["event"] for r in rows] == ["Plan Viewed", "Order Completed"]
    assert {r["customer_id"] for r in rows} == {workspace.profile("ania").id}
    assert rows[0]["t"] == 1_772_359_200_000_000  # 2026-03-01T10:00:00Z in µs


def test_a_merge_moves_the_customers_events_and_a_rebuild_gives_the_same_lake(
    workspace: Workspace,
) -> None:
    save_map(workspace)
    # Ola uses the app (signed in); a visitor browses plans anonymously; the lake is synced;
    # later the visitor signs in as Ola on the web: two profiles become one.
    ingest(workspace, [
        {"type": "track", "userId": "ola", "event": "App Opened",
         "timestamp": "2026-03-01T09:00:00Z"},
        {"type": "track", "anonymousId": "browser-1", "event": "Plan Viewed",
         "timestamp": "2026-03-01T10:00:00Z"},
    ])  # fmt: skip
    workspace.catch_up()
    workspace.sync_lake()
    assert len({r["customer_id"] for r in workspace.lake.read_events().to_pylist()}) == 2
    engine = DuckDBEngine(workspace.lake)
    query = FunnelQuery(steps=["plan", "order"], window_days=7)
    assert run_funnel(engine, workspace.journey_map(), query)["customers"].tolist() == [1, 0]

    ingest(workspace, [
        {"type": "identify", "anonymousId": "browser-1", "userId": "ola",
         "timestamp": "2026-03-01T10:05:00Z"},
        {"type": "track", "userId": "ola", "event": "Order Completed",
         "timestamp": "2026-03-02T09:00:00Z"},
    ])  # fmt: skip
    workspace.catch_up()
    report = workspace.sync_lake()
    assert report.moved_customers >= 2 and report.rewritten_buckets >= 1
    ola = workspace.profile("ola").id
    assert {r["customer_id"] for r in workspace.lake.read_events().to_pylist()} == {ola}
    # one person who viewed a plan and ordered, not a visitor and a buyer
    funnel = run_funnel(engine, workspace.journey_map(), query)
    assert funnel["customers"].tolist() == [1, 1]

    incremental = lake_rows(workspace.lake)
    rebuilt = Lake(workspace.path / "lake-rebuilt")
    rebuilt.rebuild(workspace.engine)
    assert lake_rows(rebuilt) == incremental
    again = run_funnel(DuckDBEngine(rebuilt), workspace.journey_map(), query)
    assert again.equals(funnel)


def test_an_unmerge_splits_the_customer_in_the_lake(workspace: Workspace) -> None:
    from cxm.identity.service import do_merge_profiles, do_unmerge

    journeys_for(
        workspace,
        {
            "jan": [{"event": "Plan Viewed", "at": "2026-03-01T10:00:00Z"}],
            "ewa": [{"event": "Order Completed", "at": "2026-03-02T10:00:00Z"}],
        },
    )
    jan, ewa = workspace.profile("jan").id, workspace.profile("ewa").id
    with workspace.session() as session:
        merged = do_merge_profiles(session, a=jan, b=ewa, actor="test", reason="same person?")
    workspace.sync_lake()
    assert len({r["customer_id"] for r in workspace.lake.read_events().to_pylist()}) == 1
    with workspace.session() as session:
        do_unmerge(session, merge_id=merged.id, actor="test", reason="two people")
    workspace.sync_lake()
    owners = {r["event"]: r["customer_id"] for r in workspace.lake.read_events().to_pylist()}
    assert owners == {"Plan Viewed": jan, "Order Completed": ewa}


def test_a_store_rebuild_rebuilds_the_lake_and_compaction_keeps_every_row(
    workspace: Workspace,
) -> None:
    people = {
        f"p{i}": [{"event": "Plan Viewed", "at": f"2026-03-0{1 + i % 9}T1{i % 10}:00:00Z"}]
        for i in range(40)
    }
    journeys_for(workspace, people)
    for i in range(3):  # three more syncs: more files per bucket
        journeys_for(
            workspace,
            {f"p{i}": [{"event": "Order Completed", "at": "2026-03-09T12:00:00Z"}]},
            source=f"more-{i}",
        )
    before = lake_rows(workspace.lake)
    files_before = workspace.lake.status().files
    assert workspace.lake.compact() >= 1
    assert workspace.lake.status().files < files_before
    assert lake_rows(workspace.lake) == before

    from cxm.profiles.projector import rebuild_profiles

    rebuild_profiles(workspace.engine, region=workspace.settings.default_region)
    report = workspace.sync_lake()
    assert report.rebuilt and report.events == len(before)
    assert lake_rows(workspace.lake) == before


def test_superseded_files_are_deleted_after_a_grace_period(workspace: Workspace) -> None:
    journeys_for(workspace, {"a": [{"event": "Plan Viewed", "at": "2026-03-01T10:00:00Z"}]})
    journeys_for(workspace, {"a": [{"event": "Plan Viewed", "at": "2026-03-02T10:00:00Z"}]},
                 source="second")  # fmt: skip
    lake = workspace.lake
    old = lake.event_paths()
    lake.compact()
    assert all(p.exists() for p in old)  # a query planned before may still read them
    manifest = lake.manifest()
    lake.files.delete_retired(manifest, now=time.time() + RETIRED_GRACE_S + 1)
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in lake.event_paths())


def test_the_lake_keeps_no_personal_traits(workspace: Workspace) -> None:
    journeys_for(
        workspace,
        {"ola": [{"type": "identify", "at": "2026-03-01T10:00:00Z",
                  "traits": {"email": "ola@x.pl", "name": "Ola Nowak", "plan": "Fibre 600",
                             "phone": "+48601234567", "vip": True}}]},
    )  # fmt: skip
    path = workspace.lake.table_path("traits")
    assert path is not None
    traits = {(r["key"], r["value"]) for r in pq.read_table(path).to_pylist()}
    assert traits == {("plan", "Fibre 600"), ("vip", "true")}


@pytest.mark.anyio
async def test_journey_analytics_over_the_api(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    body = {"steps": ["plan", "order"], "window_days": 7}
    missing = await api.post("/api/journeys/funnel", json=body, headers=bearer(admin_token))
    assert missing.status_code == 404 and "journey map" in missing.json()["message"]
    save_map(workspace)
    journeys_for(
        workspace,
        {"ania": [{"event": "Plan Viewed", "at": "2026-03-01T10:00:00Z"},
                  {"event": "Order Completed", "at": "2026-03-01T12:00:00Z"}],
         "bart": [{"event": "Plan Viewed", "at": "2026-03-01T10:00:00Z"}]},
    )  # fmt: skip
    assert (await api.post("/api/journeys/funnel", json=body)).status_code == 401
    answer = await api.post("/api/journeys/funnel", json=body, headers=bearer(admin_token))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["lake_seq"] == workspace.lake.manifest().events_seq
    assert [r["customers"] for r in got["rows"]] == [2, 1]
    assert got["rows"][1]["median_seconds_to_convert"] == 7200.0
    assert got["rows"][0]["median_seconds_to_convert"] is None

    bad = await api.post(
        "/api/journeys/funnel", json={"steps": ["plan"], "window_days": -1},
        headers=bearer(admin_token),
    )  # fmt: skip
    assert bad.status_code == 400
    problems = {tuple(e["loc"][-1:]) for e in bad.json()["errors"]}
    assert ("steps",) in problems and ("window_days",) in problems
    unknown = await api.post(
        "/api/journeys/paths", json={"touchpoint": "nope"}, headers=bearer(admin_token)
    )
    assert unknown.status_code == 400 and "no touchpoint 'nope'" in unknown.json()["message"]

    for path, payload in [
        ("/api/journeys/paths", {"touchpoint": "plan"}),
        ("/api/journeys/stages", {}),
        ("/api/journeys/scorecard", {}),
        ("/api/journeys/department", {"department": "sales"}),
    ]:
        response = await api.post(path, json=payload, headers=bearer(admin_token))
        assert response.status_code == 200, (path, response.text)
        assert response.json()["rows"], path
    paths = (await api.post("/api/journeys/paths", json={"touchpoint": "plan"},
                            headers=bearer(admin_token))).json()  # fmt: skip
    assert paths["rows"][0] == {
        "path": ["plan", "(end)"],
        "visits": 1,
        "customers": 1,
        "share": 0.5,
    } or paths["rows"][0]["path"] == ["plan", "order", "(end)"]
    assert paths["sankey"]["links"]

    status = (await api.get("/api/lake", headers=bearer(admin_token))).json()
    assert status["events"] == 3
    synced = await api.post("/api/lake/sync", headers=bearer(admin_token))
    assert synced.status_code == 200 and synced.json()["events"] == 0


def test_journey_analytics_from_the_command_line(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CXM_WORKSPACE", str(workspace.path))
    monkeypatch.setenv("CXM_DATABASE_URL", workspace.settings.resolved_database_url)
    save_map(workspace)
    ingest(workspace, [
        {"type": "track", "userId": "u1", "event": "Plan Viewed",
         "timestamp": "2026-03-01T10:00:00Z"},
        {"type": "track", "userId": "u1", "event": "Order Completed",
         "timestamp": "2026-03-03T10:00:00Z"},
    ])  # fmt: skip
    runner = CliRunner()
    csv = runner.invoke(cli, ["journeys", "funnel", "plan", "order", "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    lines = csv.output.strip().splitlines()
    assert lines[0].startswith("step,label,customers")
    assert lines[2].startswith("2,order,1,1.0,1.0,0,172800.0")
    table = runner.invoke(cli, ["journeys", "scorecard"])
    assert table.exit_code == 0 and "Plan" in table.output
    status = runner.invoke(cli, ["lake", "status"])
    assert status.exit_code == 0 and "2 events" in status.output
    bad = runner.invoke(cli, ["journeys", "paths", "plan", "--start", "March"])
    assert "is not a day" in str(bad.exception)


def test_every_analysis_answers_on_an_empty_lake(workspace: Workspace) -> None:
    save_map(workspace)
    journeys = workspace.journeys
    assert journeys.funnel(["plan", "order"])["customers"].tolist() == [0, 0]
    assert journeys.paths("plan").empty and journeys.sankey("plan")["links"] == []
    stages = journeys.progression()
    assert stages["customers"].tolist() == [0, 0] and journeys.transitions().empty
    assert journeys.scorecard()["visits"].tolist() == [0, 0]
    assert journeys.department("sales")["visits"].tolist() == [0, 0]


def test_answers_are_cached_until_the_lake_changes(workspace: Workspace) -> None:
    save_map(workspace)
    journeys_for(workspace, {"a": [{"event": "Plan Viewed", "at": "2026-03-01T10:00:00Z"}]})
    engine = DuckDBEngine(workspace.lake)
    query = FunnelQuery(steps=["plan", "order"])
    first = run_funnel(engine, workspace.journey_map(), query)
    assert len(engine.cache._answers) == 1
    first.loc[0, "customers"] = 99  # a caller changing its copy changes nothing cached
    assert run_funnel(engine, workspace.journey_map(), query)["customers"].tolist() == [1, 0]
    assert len(engine.cache._answers) == 1  # answered from the cache
    journeys_for(
        workspace, {"a": [{"event": "Order Completed", "at": "2026-03-02T10:00:00Z"}]}, source="x"
    )
    assert run_funnel(engine, workspace.journey_map(), query)["customers"].tolist() == [1, 1]

"""The journey map through the API: versions, problems with line numbers, influence edits, CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from cxm.audit.tables import audit_log
from cxm.auth import do_create_token
from cxm.cli.app import app as cli
from cxm.journeys import JourneyMapInvalid, default_journey_map, telecom_yaml
from cxm.journeys.tables import journey_maps
from cxm.workspace import Workspace
from helpers import bearer

pytestmark = pytest.mark.anyio

YAML = {"Content-Type": "application/yaml"}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def stored_versions(workspace: Workspace) -> int:
    with workspace.session() as session:
        return int(session.execute(select(func.count()).select_from(journey_maps)).scalar_one())


async def put_map(api: httpx.AsyncClient, token: str, text: str, query: str = "") -> httpx.Response:
    return await api.put(
        f"/api/journey{query}", content=text.encode(), headers={**bearer(token), **YAML}
    )


async def test_maps_are_saved_as_versions(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    missing = await ok(await api.get("/api/journey", headers=bearer(admin_token)), 404)
    assert missing["code"] == "not_found" and "PUT /api/journey" in missing["message"]

    text = telecom_yaml()
    first = await ok(await put_map(api, admin_token, text))
    assert first["version"] == 1 and first["name"] == "Vistula Telecom customer journey"
    assert first["actor"].startswith("token:admin")

    second = await ok(await put_map(api, admin_token, text, "?note=second%20look"))
    assert second["version"] == 2 and second["note"] == "second look"

    current = await ok(await api.get("/api/journey", headers=bearer(admin_token)))
    assert current["version"] == 2
    assert [s["id"] for s in current["map"]["stages"]] == [
        s.id for s in default_journey_map().stages
    ]
    assert current["map"]["stages"][7]["rank"] == 7
    assert current["map"] == default_journey_map().to_dict()

    source = await api.get("/api/journey/yaml", headers=bearer(admin_token))
    assert source.status_code == 200 and source.headers["content-type"].startswith("text/yaml")
    assert source.text == text and source.headers["x-journey-map-version"] == "2"

    listed = await ok(await api.get("/api/journey/versions", headers=bearer(admin_token)))
    assert [(v["version"], v["note"]) for v in listed["versions"]] == [
        (2, "second look"),
        (1, None),
    ]
    one = await ok(await api.get("/api/journey/versions/1", headers=bearer(admin_token)))
    assert one["version"] == 1 and one["source"] == text
    gone = await ok(await api.get("/api/journey/versions/9", headers=bearer(admin_token)), 404)
    assert "versions are 1 to 2" in gone["message"]

    with workspace.session() as session:
        saved = session.execute(
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == "journey_map.saved")
        ).scalar_one()
    assert saved == 2


async def test_an_invalid_map_is_refused_with_every_line_and_nothing_is_stored(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    await ok(await put_map(api, admin_token, telecom_yaml()))
    bad = (
        telecom_yaml()
        .replace("influence: {marketing: 0.8, it: 0.7, sales: 0.3}", "influence: {it: 1.5}")
        .replace("    stage: support\n", "    stage: helpdesk\n", 1)
    )
    body = await ok(await put_map(api, admin_token, bad, "?filename=telecom.yaml"), 422)
    assert body["ok"] is False and body["code"] == "invalid_journey_map"
    lines = {e["loc"][1] for e in body["errors"]}
    assert len(body["errors"]) == 3 and all(line.startswith("line ") for line in lines)
    messages = [e["message"] for e in body["errors"]]
    assert any(
        m.startswith("telecom.yaml:") and "weight 1.5 for department 'it'" in m for m in messages
    )
    assert any("so influence must give 'marketing' a weight above 0" in m for m in messages)
    assert any("in stage 'helpdesk', which is not a stage" in m for m in messages)
    line = bad.splitlines().index("    stage: helpdesk") + 1
    assert any(m.startswith(f"telecom.yaml:{line}: ") for m in messages)

    syntax = await ok(await put_map(api, admin_token, "journey: [x\n"), 422)
    assert syntax["errors"][0]["message"].startswith("journey.yaml:2: YAML syntax error")

    assert stored_versions(workspace) == 1


async def test_validate_checks_without_saving(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    headers = {**bearer(admin_token), **YAML}
    good = await ok(
        await api.post("/api/journey/validate", content=telecom_yaml().encode(), headers=headers)
    )
    assert good == {
        "ok": True,
        "valid": True,
        "name": "Vistula Telecom customer journey",
        "stages": 8,
        "touchpoints": len(default_journey_map().touchpoints),
    }
    bad = await ok(
        await api.post("/api/journey/validate", content=b"journey: x\n", headers=headers), 422
    )
    assert {e["message"] for e in bad["errors"]} >= {
        "journey.yaml:1: the journey map lacks the required field 'stages'"
    }
    wrong_type = await ok(
        await api.post(
            "/api/journey/validate",
            content=b"journey: x",
            headers={**bearer(admin_token), "Content-Type": "text/plain"},
        ),
        400,
    )
    assert "application/yaml" in wrong_type["message"]
    assert stored_versions(workspace) == 0


async def test_a_json_body_is_stored_as_yaml(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    document = default_journey_map().to_document()
    saved = await ok(await api.put("/api/journey", json=document, headers=bearer(admin_token)))
    assert saved["version"] == 1 and saved["map"] == default_journey_map().to_dict()
    source = (await api.get("/api/journey/yaml", headers=bearer(admin_token))).text
    assert yaml.safe_load(source) == document

    document["touchpoints"][0]["influence"]["it"] = 2
    bad = await ok(await api.put("/api/journey", json=document, headers=bearer(admin_token)), 422)
    [error] = bad["errors"]
    assert error["loc"] == ["request body", "touchpoints", 0, "influence", "it"]
    assert stored_versions(workspace) == 1


async def test_an_influence_edit_is_a_new_version(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    await ok(await put_map(api, admin_token, telecom_yaml()))
    url = "/api/journey/touchpoints/calls/influence/legal"
    edited = await ok(await api.put(url, json={"weight": 0.7}, headers=bearer(admin_token)))
    assert edited["version"] == 2
    assert edited["note"] == "influence of 'legal' on 'calls' set to 0.7"
    [calls] = [t for t in edited["map"]["touchpoints"] if t["id"] == "calls"]
    assert calls["influence"]["legal"] == 0.7
    source = (await api.get("/api/journey/yaml", headers=bearer(admin_token))).text
    assert source.startswith("# The customer journey of Vistula Telecom")  # comments kept

    removed = await ok(
        await api.put(
            url, json={"weight": None, "note": "not involved"}, headers=bearer(admin_token)
        )
    )
    assert removed["version"] == 3 and removed["note"] == "not involved"

    owner = "/api/journey/touchpoints/calls/influence/call-centre"
    refused = await ok(
        await api.put(owner, json={"weight": None}, headers=bearer(admin_token)), 422
    )
    assert "owned by 'call-centre'" in refused["errors"][0]["message"]
    outside = await ok(await api.put(url, json={"weight": 1.5}, headers=bearer(admin_token)), 400)
    assert outside["code"] == "invalid_input"
    unknown = "/api/journey/touchpoints/nowhere/influence/legal"
    missing = await ok(
        await api.put(unknown, json={"weight": 0.5}, headers=bearer(admin_token)), 404
    )
    assert "no touchpoint 'nowhere'" in missing["message"]
    assert stored_versions(workspace) == 3


async def test_the_journey_map_needs_a_token_and_write_to_change(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    assert (await api.get("/api/journey")).status_code == 401
    assert (await api.get("/api/journey/versions")).status_code == 401
    anonymous = await api.put("/api/journey", content=telecom_yaml().encode(), headers=YAML)
    assert anonymous.status_code == 401
    with workspace.session() as session:
        _, reader = do_create_token(session, actor="test", name="reader", scopes=("read",))
    refused = await ok(await put_map(api, reader, telecom_yaml()), 403)
    assert refused["code"] == "forbidden"
    edit = "/api/journey/touchpoints/calls/influence/legal"
    assert (await api.put(edit, json={"weight": 0.5}, headers=bearer(reader))).status_code == 403
    assert stored_versions(workspace) == 0


async def test_the_journey_map_from_the_command_line(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXM_WORKSPACE", str(workspace.path))
    monkeypatch.setenv("CXM_DATABASE_URL", workspace.settings.resolved_database_url)
    runner = CliRunner()
    good = tmp_path / "telecom.yaml"
    good.write_text(telecom_yaml(), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(telecom_yaml().replace("stage: use\n", "stage: usage\n", 1), encoding="utf-8")

    checked = runner.invoke(cli, ["journey", "validate", str(good)])
    assert checked.exit_code == 0 and "valid" in checked.output
    refused = runner.invoke(cli, ["journey", "validate", str(bad)])
    assert refused.exit_code == 2
    assert "bad.yaml:" in refused.output and "stage 'usage'" in refused.output

    loaded = runner.invoke(cli, ["journey", "load", str(good), "--note", "from the CLI"])
    assert loaded.exit_code == 0, loaded.output
    assert "version 1" in loaded.output
    # `main()` turns the error into its message and exit status 2; the runner shows the error.
    not_loaded = runner.invoke(cli, ["journey", "load", str(bad)])
    assert isinstance(not_loaded.exception, JourneyMapInvalid)

    versions = runner.invoke(cli, ["journey", "versions"])
    assert versions.exit_code == 0 and "from the CLI" in versions.output
    shown = runner.invoke(cli, ["journey", "show", "--yaml", "--version", "1"])
    assert shown.exit_code == 0 and shown.output == telecom_yaml()
    table = runner.invoke(cli, ["journey", "show"])
    assert table.exit_code == 0 and "Win-back after churn" in table.output
    assert stored_versions(workspace) == 1

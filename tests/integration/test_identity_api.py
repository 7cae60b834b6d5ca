"""The identity graph through the API: the review queue, merge, unmerge, and the CLI over them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cxm.auth import do_create_token
from cxm.cli.app import app as cli
from cxm.workspace import Workspace
from helpers import basic, bearer

pytestmark = pytest.mark.anyio

PHONE = "+48601234567"


def identify(user_id: str, message_id: str, **traits: Any) -> dict[str, Any]:
    return {"type": "identify", "userId": user_id, "messageId": message_id, "traits": traits}


def track(user_id: str, message_id: str, event: str = "Plan Viewed") -> dict[str, Any]:
    return {"type": "track", "userId": user_id, "messageId": message_id, "event": event}


async def send(api: httpx.AsyncClient, key: str, batch: list[dict[str, Any]]) -> None:
    response = await api.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert response.status_code == 200 and response.json()["accepted"] == len(batch)


async def family_phone(api: httpx.AsyncClient, workspace: Workspace, key: str) -> None:
    """Two account holders who gave the same phone: a guardrail keeps them apart for review."""
    await send(
        api,
        key,
        [
            identify("anna-1", "m1", name="Anna Nowak", phone=PHONE),
            identify("jan-2", "m2", name="Jan Nowak", phone=PHONE),
            track("jan-2", "m3"),
        ],
    )
    workspace.catch_up()


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def profile_id(api: httpx.AsyncClient, token: str, ref: str) -> str:
    body = await ok(await api.get(f"/api/profiles/{ref}", headers=bearer(token)))
    return str(body["profile"]["id"])


async def queue(api: httpx.AsyncClient, token: str, status: str = "review") -> dict[str, Any]:
    return await ok(await api.get(f"/api/identity/review?status={status}", headers=bearer(token)))


async def test_accepting_a_pair_merges_the_two_and_it_is_not_asked_again(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    await family_phone(api, workspace, write_keys["website"])
    anna = await profile_id(api, admin_token, "anna-1")
    jan = await profile_id(api, admin_token, "jan-2")
    assert anna != jan

    waiting = await queue(api, admin_token)
    assert waiting["total"] == 1
    [item] = waiting["items"]
    assert {item["a"]["id"], item["b"]["id"]} == {anna, jan}
    assert item["origin"] == "rules" and item["status"] == "review"
    phone = [e for e in item["evidence"] if e["field"] == "phone"]
    assert phone and phone[0]["left"] == phone[0]["right"] == PHONE
    one = await ok(await api.get(f"/api/identity/review/{item['id']}", headers=bearer(admin_token)))
    assert one["item"]["id"] == item["id"] and one["item"]["reason"] == item["reason"]

    decided = await ok(
        await api.post(
            f"/api/identity/review/{item['id']}",
            json={"decision": "merge", "note": "same household account"},
            headers=bearer(admin_token),
        )
    )
    assert decided["status"] == "merged" and decided["merged_into"] in {anna, jan}
    assert decided["item"]["already_one"] is True
    assert await profile_id(api, admin_token, "anna-1") == await profile_id(
        api, admin_token, "jan-2"
    )
    merged = await ok(await api.get(f"/api/profiles/{PHONE}", headers=bearer(admin_token)))
    assert merged["profile"]["event_count"] == 3
    assert (await queue(api, admin_token))["total"] == 0
    assert (await queue(api, admin_token, "merged"))["total"] == 1

    # The same conflict again: the decision stands, nobody is asked twice.
    await send(api, write_keys["website"], [identify("jan-2", "m4", phone=PHONE)])
    workspace.catch_up()
    assert (await queue(api, admin_token))["total"] == 0

    again = await api.post(
        f"/api/identity/review/{item['id']}",
        json={"decision": "separate"},
        headers=bearer(admin_token),
    )
    assert again.status_code == 409 and again.json()["code"] == "conflict"


async def test_rejecting_a_pair_keeps_them_apart_for_good(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    await family_phone(api, workspace, write_keys["website"])
    [item] = (await queue(api, admin_token))["items"]
    decided = await ok(
        await api.post(
            f"/api/identity/review/{item['id']}",
            json={"decision": "separate", "note": "mother and son"},
            headers=bearer(admin_token),
        )
    )
    assert decided == {
        "ok": True,
        "id": item["id"],
        "status": "separate",
        "merged_into": None,
        "item": decided["item"],
    }
    assert decided["item"]["note"] == "mother and son"
    assert decided["item"]["decided_by"].startswith("token:")

    await send(
        api,
        write_keys["call-centre"],
        [identify("anna-1", "m10", phone=PHONE), identify("jan-2", "m11", phone=PHONE)],
    )
    workspace.catch_up()
    assert (await queue(api, admin_token))["total"] == 0
    separate = await queue(api, admin_token, "separate")
    assert [i["id"] for i in separate["items"]] == [item["id"]]
    assert await profile_id(api, admin_token, "anna-1") != await profile_id(
        api, admin_token, "jan-2"
    )

    # A person cannot merge them by hand either until that decision is undone.
    refused = await api.post(
        "/api/profiles/anna-1/merge",
        json={"other": "jan-2", "reason": "looks alike"},
        headers=bearer(admin_token),
    )
    assert refused.status_code == 409

    # Taking the answer back puts the pair in the queue again; then it can be merged.
    no_note = await api.post(
        f"/api/identity/review/{item['id']}/reopen", json={"note": " "}, headers=bearer(admin_token)
    )
    assert no_note.status_code == 400
    reopened = await ok(
        await api.post(
            f"/api/identity/review/{item['id']}/reopen",
            json={"note": "asked again: same person after all"},
            headers=bearer(admin_token),
        )
    )
    assert reopened["status"] == "review"
    assert (await queue(api, admin_token))["total"] == 1
    twice = await api.post(
        f"/api/identity/review/{item['id']}/reopen", json={"note": "x"}, headers=bearer(admin_token)
    )
    assert twice.status_code == 409


async def test_merge_then_unmerge_restores_both_profiles(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    await send(
        api,
        write_keys["website"],
        [
            identify("ola-7", "m1", name="Ola Kowalska", email="ola@example.pl"),
            track("ola-7", "m2"),
            identify("kasia-8", "m3", name="Kasia Kowalska", email="kasia@example.pl"),
            track("kasia-8", "m4"),
            track("kasia-8", "m5", "Bill Paid"),
        ],
    )
    workspace.catch_up()

    async def snapshot(ref: str) -> tuple[str, int, set[tuple[str, str]]]:
        body = await ok(await api.get(f"/api/profiles/{ref}", headers=bearer(admin_token)))
        p = body["profile"]
        return p["id"], p["event_count"], {(i["kind"], i["value"]) for i in p["identifiers"]}

    ola, kasia = await snapshot("ola-7"), await snapshot("kasia-8")
    done = await ok(
        await api.post(
            "/api/profiles/ola@example.pl/merge",
            json={"other": "kasia-8", "reason": "same customer, new e-mail"},
            headers=bearer(admin_token),
        )
    )
    assert {done["winner"], done["loser"]} == {ola[0], kasia[0]}
    one = await snapshot("kasia@example.pl")
    assert one[0] == done["winner"] and one[1] == 5 and one[2] == ola[2] | kasia[2]

    ident = await ok(
        await api.get(f"/api/profiles/{done['winner']}/identity", headers=bearer(admin_token))
    )
    [edge] = [m for m in ident["merges"] if m["id"] == done["merge_id"]]
    assert edge["rule"] == "manual" and edge["reason"] == "same customer, new e-mail"
    assert edge["actor"].startswith("token:admin")
    assert [p["status"] for p in ident["decided"]] == ["merged"]

    undone = await ok(
        await api.post(
            f"/api/merges/{done['merge_id']}/unmerge",
            json={"reason": "two sisters"},
            headers=bearer(admin_token),
        )
    )
    assert undone["merge_id"] == done["merge_id"]
    assert len(undone["profiles"]) == 2 and undone["events_replayed"] == 5
    assert await snapshot("ola-7") == ola
    assert await snapshot("kasia-8") == kasia

    again = await api.post(
        f"/api/merges/{done['merge_id']}/unmerge",
        json={"reason": "twice"},
        headers=bearer(admin_token),
    )
    assert again.status_code == 404


async def test_bad_requests_answer_in_the_envelope(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    await family_phone(api, workspace, write_keys["website"])
    [item] = (await queue(api, admin_token))["items"]
    auth = bearer(admin_token)

    missing = await api.get("/api/identity/review/9999", headers=auth)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    missing = await api.post("/api/identity/review/9999", json={"decision": "merge"}, headers=auth)
    assert missing.status_code == 404

    bad = await api.post(
        f"/api/identity/review/{item['id']}", json={"decision": "maybe"}, headers=auth
    )
    assert bad.status_code == 400
    body = bad.json()
    assert body["ok"] is False and body["code"] == "invalid_input"
    assert body["errors"][0]["loc"] == ["body", "decision"]

    bad_status = await api.get("/api/identity/review?status=open", headers=auth)
    assert bad_status.status_code == 400
    assert bad_status.json()["errors"][0]["loc"] == ["query", "status"]

    empty = await api.post(
        "/api/profiles/anna-1/merge", json={"other": "jan-2", "reason": "  "}, headers=auth
    )
    assert empty.status_code == 400 and "reason" in empty.json()["message"]
    nobody = await api.post(
        "/api/profiles/anna-1/merge", json={"other": "nobody-9", "reason": "x"}, headers=auth
    )
    assert nobody.status_code == 404
    unknown = await api.post("/api/merges/424242/unmerge", json={"reason": "x"}, headers=auth)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    no_reason = await api.post("/api/merges/424242/unmerge", json={}, headers=auth)
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"][0]["loc"] == ["body", "reason"]

    # Reading is for read tokens; deciding needs write.
    with workspace.session() as session:
        _, reader = do_create_token(session, actor="test", name="reader", scopes=("read",))
    assert (await api.get("/api/identity/review", headers=bearer(reader))).status_code == 200
    refused = await api.post(
        f"/api/identity/review/{item['id']}", json={"decision": "merge"}, headers=bearer(reader)
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert (await queue(api, admin_token))["total"] == 1


async def test_a_shared_phone_names_its_holders(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    await family_phone(api, workspace, write_keys["website"])
    anna = await profile_id(api, admin_token, "anna-1")
    jan = await profile_id(api, admin_token, "jan-2")

    shared = await api.get(f"/api/profiles/{PHONE}", headers=bearer(admin_token))
    assert shared.status_code == 409
    assert anna in shared.json()["message"] and jan in shared.json()["message"]

    ident = await ok(await api.get("/api/profiles/anna-1/identity", headers=bearer(admin_token)))
    assert ident["profile_id"] == anna
    phone = next(i for i in ident["identifiers"] if i["kind"] == "phone")
    assert phone["value"] == PHONE and phone["shared_with"] == [jan] and phone["noisy"] is False
    assert [p["status"] for p in ident["pending"]] == ["review"]
    assert ident["merges"] == [] and ident["decided"] == []


async def test_review_from_the_command_line(
    api: httpx.AsyncClient,
    workspace: Workspace,
    admin_token: str,
    write_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await family_phone(api, workspace, write_keys["website"])
    [item] = (await queue(api, admin_token))["items"]
    monkeypatch.setenv("CXM_WORKSPACE", str(workspace.path))
    monkeypatch.setenv("CXM_DATABASE_URL", workspace.settings.resolved_database_url)
    runner = CliRunner()

    listed = runner.invoke(cli, ["review", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Anna Nowak" in listed.output and "Jan Nowak" in listed.output
    assert str(item["id"]) in listed.output

    shown = runner.invoke(cli, ["identity", "anna-1"])
    assert shown.exit_code == 0, shown.output
    assert "shared" in shown.output and "Jan Nowak" in shown.output

    accepted = runner.invoke(cli, ["review", "accept", str(item["id"]), "--note", "one family"])
    assert accepted.exit_code == 0, accepted.output
    assert "merged" in accepted.output
    assert await profile_id(api, admin_token, "anna-1") == await profile_id(
        api, admin_token, "jan-2"
    )
    decided = await ok(
        await api.get(f"/api/identity/review/{item['id']}", headers=bearer(admin_token))
    )
    assert decided["item"]["decided_by"].startswith("cli:")

    twice = runner.invoke(cli, ["review", "reject", str(item["id"])])
    assert twice.exit_code != 0

    chain = runner.invoke(cli, ["identity", "jan-2"])
    assert chain.exit_code == 0, chain.output
    assert "review" in chain.output and "one family" in chain.output
    merge_id = next(
        m["id"]
        for m in (
            await ok(await api.get("/api/profiles/jan-2/identity", headers=bearer(admin_token)))
        )["merges"]
    )
    undone = runner.invoke(cli, ["unmerge", str(merge_id), "--reason", "two people after all"])
    assert undone.exit_code == 0, undone.output
    assert await profile_id(api, admin_token, "anna-1") != await profile_id(
        api, admin_token, "jan-2"
    )

    merged = runner.invoke(cli, ["merge", "anna-1", "jan-2", "--reason", "really one"])
    assert merged.exit_code != 0  # kept apart by the unmerge: undo that decision first

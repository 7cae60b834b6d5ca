"""One person across channels: identity stitching, the timeline and the agent brief."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from cxm.identity.tables import profiles
from cxm.profiles import rebuild_profiles
from cxm.workspace import Workspace
from helpers import basic, bearer

pytestmark = pytest.mark.anyio


def journeys_for(people: dict[str, list[dict[str, object]]]) -> dict[str, list[dict[str, object]]]:
    """Events per source, from per-person journeys written as data (person key → events)."""
    by_source: dict[str, list[dict[str, object]]] = {}
    n = 0
    for person, steps in people.items():
        for step in steps:
            n += 1
            event = {k: v for k, v in step.items() if k != "source"}
            event.setdefault("messageId", f"{person}-{n}")
            by_source.setdefault(str(step["source"]), []).append(event)
    return by_source


MARTA = [
    {
        "source": "website",
        "type": "page",
        "anonymousId": "browser-1",
        "name": "Fibre offers",
        "timestamp": "2026-05-01T08:00:00Z",
    },
    {
        "source": "website",
        "type": "identify",
        "anonymousId": "browser-1",
        "userId": "CUST-1",
        "traits": {
            "email": " Marta.Wojcik@Example.PL ",
            "name": "Marta Wójcik",
            "address": "ul. Długa 5, Gdańsk",
        },
        "timestamp": "2026-05-01T08:05:00Z",
    },
    {
        "source": "branches",
        "type": "track",
        "userId": "CUST-1",
        "event": "Issue Reported",
        "properties": {"text": "Internet przerywa co wieczór od tygodnia."},
        "context": {"traits": {"phone": "+48 601 234 567"}},
        "timestamp": "2026-06-02T10:00:00Z",
    },
    {
        "source": "ivr",
        "type": "track",
        "anonymousId": "call-77",
        "event": "Data Requested",
        "properties": {"fields": ["customer_number", "address"]},
        "context": {"traits": {"phone": "601-234-567"}},
        "timestamp": "2026-06-03T09:00:00Z",
    },
    {
        "source": "call-centre",
        "type": "track",
        "anonymousId": "call-77",
        "event": "Call Handled",
        "properties": {"text": "Klientka zgłasza ponownie awarię, przekazano do serwisu."},
        "context": {"traits": {"phone": "0048601234567"}},
        "timestamp": "2026-06-03T09:10:00Z",
    },
    {
        "source": "email-support",
        "type": "track",
        "anonymousId": "email:marta.wojcik@example.pl",
        "event": "Email Received",
        "properties": {"text": "Kiedy przyjedzie technik?"},
        "context": {"traits": {"email": "marta.wojcik@example.pl"}},
        "timestamp": "2026-04-20T07:00:00Z",
    },
]
IVAN = [
    {
        "source": "call-centre",
        "type": "track",
        "anonymousId": "call-90",
        "event": "Call Handled",
        "properties": {"text": "Вопрос о роуминге"},
        "context": {"traits": {"phone": "8 912 345-67-89"}},
        "timestamp": "2026-06-05T12:00:00Z",
    },
    {
        "source": "website",
        "type": "identify",
        "userId": "CUST-2",
        "traits": {"name": "Иван Петров", "phone": "+7 912 345 67 89"},
        "timestamp": "2026-06-06T12:00:00Z",
    },
]


async def send_all(api: httpx.AsyncClient, keys: dict[str, str], people: dict) -> None:
    """Send each event in time order, as the channels would."""
    timed = sorted(
        (
            (event["timestamp"], source, event)
            for source, batch in journeys_for(people).items()
            for event in batch
        ),
        key=lambda item: str(item[0]),
    )
    for _, source, event in timed:
        response = await api.post("/v1/batch", json={"batch": [event]}, headers=basic(keys[source]))
        assert response.status_code == 200 and not response.json()["rejected"], response.text


async def test_one_profile_and_timeline_across_channels(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str], admin_token: str
) -> None:
    await send_all(api, write_keys, {"marta": MARTA, "ivan": IVAN})
    workspace.catch_up()

    response = await api.get("/api/profiles/marta.wojcik@example.pl", headers=bearer(admin_token))
    assert response.status_code == 200
    profile = response.json()["profile"]
    assert profile["display_name"] == "Marta Wójcik"
    assert profile["event_count"] == 6
    kinds = {(i["kind"], i["value"]) for i in profile["identifiers"]}
    assert {
        ("user_id", "CUST-1"),
        ("email", "marta.wojcik@example.pl"),
        ("phone", "+48601234567"),
        ("anonymous_id", "call-77"),
    } <= kinds
    # The e-mail channel knew her first; the website login joined both with a recorded reason.
    (merge,) = profile["merges"]
    assert merge["rule"] == "anonymous_id+email" or merge["rule"] == "email+anonymous_id"
    assert "marta.wojcik@example.pl" in merge["reason"] and "browser-1" in merge["reason"]
    address = next(t for t in profile["traits"] if t["key"] == "address")
    assert address["source"] == "website" and address["channel"] == "web"

    # The same person is found by every identifier, however it is written.
    for ref in ("CUST-1", "601 234 567", "+48601234567", "MARTA.WOJCIK@example.pl", "call-77"):
        found = await api.get(f"/api/profiles/{ref}", headers=bearer(admin_token))
        assert found.json()["profile"]["id"] == profile["id"], ref

    timeline = (
        await api.get(f"/api/profiles/{profile['id']}/timeline", headers=bearer(admin_token))
    ).json()
    channels = [item["channel"] for item in timeline["items"]]
    assert channels == ["phone", "ivr", "branch", "web", "web", "email"]
    assert timeline["items"][0]["text"].startswith("Klientka zgłasza ponownie")

    page = (
        await api.get(
            f"/api/profiles/{profile['id']}/timeline?limit=2&channel=web",
            headers=bearer(admin_token),
        )
    ).json()
    assert [i["channel"] for i in page["items"]] == ["web", "web"]
    older = (
        await api.get(
            f"/api/profiles/{profile['id']}/timeline?limit=2&before={timeline['items'][1]['seq']}",
            headers=bearer(admin_token),
        )
    ).json()
    assert [i["channel"] for i in older["items"]] == ["branch", "web"]

    ivan = (await api.get("/api/profiles/+79123456789", headers=bearer(admin_token))).json()
    assert ivan["profile"]["display_name"] == "Иван Петров"
    assert ivan["profile"]["event_count"] == 2


async def test_brief_says_what_the_customer_already_gave(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str], admin_token: str
) -> None:
    await send_all(api, write_keys, {"marta": MARTA})
    workspace.catch_up()
    response = await api.get("/api/profiles/CUST-1/summary", headers=bearer(admin_token))
    summary = response.json()["summary"]
    facts = {f["field"]: f for f in summary["facts"]}
    assert facts["address"]["value"] == "ul. Długa 5, Gdańsk"
    assert facts["customer_number"]["channel"] == "ivr"
    assert facts["customer_number"]["value"] is None  # asked by the IVR: given, value unknown
    assert [c["channel"] for c in summary["channels"]][0] == "web"
    assert summary["recent_issues"][0]["text"].startswith("Klientka zgłasza ponownie")
    assert summary["last_contact"]["channel"] == "phone"
    assert "Marta Wójcik" in summary["headline"] and "4 channels" not in summary["headline"]
    assert "5 channels" in summary["headline"]


async def test_search_ignores_case_and_diacritics(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str], admin_token: str
) -> None:
    await send_all(api, write_keys, {"marta": MARTA, "ivan": IVAN})
    workspace.catch_up()
    for query in ("wojcik", "Wójcik marta", "601234567", "cust-1"):
        found = (
            await api.get("/api/profiles", params={"q": query}, headers=bearer(admin_token))
        ).json()["profiles"]
        assert [p["display_name"] for p in found] == ["Marta Wójcik"], query
    none = (await api.get("/api/profiles", params={"q": "%"}, headers=bearer(admin_token))).json()
    assert none["profiles"] == []


async def test_api_requires_token_and_speaks_one_envelope(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    anonymous = await api.get("/api/profiles")
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "ok": False,
        "code": "unauthenticated",
        "message": anonymous.json()["message"],
        "errors": [],
    }
    bad = await api.get("/api/profiles", headers=bearer("cxm_not-a-token"))
    assert bad.status_code == 401 and "unknown or revoked" in bad.json()["message"]
    missing = await api.get("/api/profiles/nobody@example.com", headers=bearer(admin_token))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    invalid = await api.get("/api/profiles?limit=0", headers=bearer(admin_token))
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["loc"] == ["query", "limit"]
    nothing = await api.get("/api/nothing-here", headers=bearer(admin_token))
    assert nothing.status_code == 404 and nothing.json()["ok"] is False


async def test_rebuilding_from_the_log_gives_the_same_profiles(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    await send_all(api, write_keys, {"marta": MARTA, "ivan": IVAN})
    workspace.catch_up()

    def snapshot() -> set[tuple[object, ...]]:
        with workspace.session() as session:
            return {
                tuple(r)
                for r in session.execute(
                    select(
                        profiles.c.id,
                        profiles.c.merged_into,
                        profiles.c.event_count,
                        profiles.c.display_name,
                        profiles.c.email,
                        profiles.c.phone,
                    )
                )
            }

    before = snapshot()
    result = rebuild_profiles(workspace.engine, region="PL")
    assert result.events == 8
    assert snapshot() == before


async def test_sources_api_creates_source_with_write_key_once(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    created = await api.post(
        "/api/sources",
        json={"name": "field-app", "channel": "field_service"},
        headers=bearer(admin_token),
    )
    assert created.status_code == 201
    key = created.json()["write_key"]
    listed = (await api.get("/api/sources", headers=bearer(admin_token))).json()["sources"]
    assert [s["name"] for s in listed] == ["field-app"] and "write_key" not in listed[0]
    sent = await api.post(
        "/v1/track", json={"userId": "t1", "event": "Technician Visit"}, headers=basic(key)
    )
    assert sent.status_code == 200
    clash = await api.post(
        "/api/sources", json={"name": "field-app", "channel": "web"}, headers=bearer(admin_token)
    )
    assert clash.status_code == 409 and clash.json()["code"] == "conflict"
    bad = await api.post(
        "/api/sources", json={"name": "Bad Name", "channel": "pigeon"}, headers=bearer(admin_token)
    )
    assert bad.status_code == 400 and "source name" in bad.json()["message"]


async def test_overview_counts_placed_events_per_channel_and_week(
    api: httpx.AsyncClient, workspace: Workspace, write_keys: dict[str, str], admin_token: str
) -> None:
    await send_all(api, write_keys, {"marta": MARTA, "ivan": IVAN})
    before = (await api.get("/api/overview", headers=bearer(admin_token))).json()["overview"]
    assert before["pending_events"] == 8 and before["by_channel"] == []
    workspace.catch_up()
    overview = (await api.get("/api/overview", headers=bearer(admin_token))).json()["overview"]
    assert overview["pending_events"] == 0 and overview["events"] == 8
    assert dict(overview["by_channel"]) == {"web": 3, "phone": 2, "ivr": 1, "branch": 1, "email": 1}
    weeks = {(w["week"], w["channel"]): w["events"] for w in overview["weekly"]}
    assert weeks[("2026-06-01", "phone")] == 2  # the calls of 3 and 5 June, week of 1 June
    assert sum(weeks.values()) == 8

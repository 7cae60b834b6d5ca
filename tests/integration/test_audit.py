"""Every change leaves an audit entry, and domain events are announced only after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import httpx
import pytest

from cxm.audit import list_actions, record_action
from cxm.auth import do_create_token
from cxm.domain_events import DomainEvent, publish, subscribe
from cxm.identity.models import ProfilesMerged
from cxm.ingest.sources import SourceCreated
from cxm.workspace import Workspace
from helpers import basic, bearer


@dataclass(frozen=True)
class Pinged(DomainEvent):
    name: ClassVar[str] = "pinged"
    n: int


def test_domain_events_are_delivered_after_commit_and_never_after_rollback(
    workspace: Workspace,
) -> None:
    seen: list[DomainEvent] = []
    unsubscribe = subscribe(Pinged, seen.append)
    try:
        with workspace.session() as session:
            publish(session, Pinged(n=1))
            assert seen == []  # not before the commit
        assert seen == [Pinged(n=1)]
        with pytest.raises(RuntimeError), workspace.session() as session:
            publish(session, Pinged(n=2))
            record_action(session, actor="test", action="ping", subject="2")
            raise RuntimeError("the change fails")
        assert seen == [Pinged(n=1)]
        with workspace.session() as session:
            assert [e.subject for e in list_actions(session, action="ping")] == []
    finally:
        unsubscribe()


@pytest.mark.anyio
async def test_api_changes_and_merges_are_audited(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str
) -> None:
    created: list[DomainEvent] = []
    merged: list[DomainEvent] = []
    stop = [subscribe(SourceCreated, created.append), subscribe(ProfilesMerged, merged.append)]
    try:
        response = await api.post(
            "/api/sources", json={"name": "shop", "channel": "branch"}, headers=bearer(admin_token)
        )
        key = response.json()["write_key"]
        batch = [
            {"type": "track", "event": "Visit", "anonymousId": "a1", "messageId": "1"},
            {"type": "track", "event": "Visit", "userId": "u1", "messageId": "2"},
            {"type": "identify", "userId": "u1", "anonymousId": "a1", "messageId": "3"},
        ]
        await api.post("/v1/batch", json={"batch": batch}, headers=basic(key))
        workspace.catch_up()
    finally:
        for unsubscribe in stop:
            unsubscribe()

    assert created == [SourceCreated(source="shop", channel="branch")]
    assert len(merged) == 1 and isinstance(merged[0], ProfilesMerged)
    log = (await api.get("/api/audit", headers=bearer(admin_token))).json()["entries"]
    actions = [(e["action"], e["actor"], e["subject"]) for e in log]
    assert actions[0][0] == "profiles.merged" and actions[0][1] == "system:deterministic-rules"
    assert ("source.created", "token:admin#1", "shop") in actions
    assert ("token.created", "system:init", "admin") in actions
    source_entry = next(e for e in log if e["action"] == "source.created")
    assert source_entry["details"]["channel"] == "branch"
    assert len(source_entry["details"]["write_key_prefix"]) == 10  # never the key itself
    only = (await api.get("/api/audit?action=token.", headers=bearer(admin_token))).json()
    assert {e["action"] for e in only["entries"]} == {"token.created"}
    # The read scope is not enough for the audit log.
    with workspace.session() as session:
        _, reader = do_create_token(session, actor="test", name="reader", scopes=("read",))
    refused = await api.get("/api/audit", headers=bearer(reader))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"

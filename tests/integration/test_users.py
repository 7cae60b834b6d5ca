"""People sign in to the dashboard with a user name and a password, on both stores: the
password is kept as an Argon2id hash, a wrong one or a disabled user is refused (and logged),
an analyst opens the dashboard, an agent lands on the cases inbox and is refused the
overview, and the audit log names the person."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from cxm.audit import list_actions
from cxm.auth.tables import users
from cxm.auth.users import authenticate_user, do_create_user, do_disable_user
from cxm.errors import Conflict, InvalidInput
from cxm.workspace import Workspace

pytestmark = pytest.mark.anyio
PASSWORD = "correct horse battery"


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert found is not None
    return found.group(1)


async def _login(api: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = await api.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return await api.post("/login", data={"csrf_token": found.group(1), **fields})


async def test_a_user_signs_in_with_a_password(
    api: httpx.AsyncClient, workspace: Workspace
) -> None:
    with workspace.session() as s:
        do_create_user(s, actor="test", username="Anna.Nowak", password=PASSWORD,
                       role="analyst", name="Anna Nowak")  # fmt: skip
        do_create_user(s, actor="test", username="olek", password=PASSWORD, role="agent")
        stored = s.execute(select(users.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") for h in stored)
    assert not any(PASSWORD in h for h in stored)

    wrong = await _login(api, username="anna.nowak", password="not the password")
    assert wrong.status_code == 401 and "wrong" in wrong.text
    agent = await _login(api, username="olek", password=PASSWORD)
    assert agent.status_code == 303 and agent.headers["location"] == "/cases"
    assert (await api.get("/overview")).status_code == 403  # an agent's pages: cases, customers
    await api.post("/logout", headers={"X-CSRF-Token": _csrf((await api.get("/cases")).text)})
    ok = await _login(api, username="ANNA.NOWAK", password=PASSWORD, next="/cases")
    assert ok.status_code == 303 and ok.headers["location"] == "/cases"
    assert (await api.get("/overview")).status_code == 200
    with workspace.session() as s:
        failed = list_actions(s, action="user.login_failed")
        created = list_actions(s, action="user.created")
    assert [e.subject for e in failed] == ["user:anna.nowak"]
    assert {e.subject for e in created} == {"user:anna.nowak", "user:olek"}

    # Disabled: the open session ends at the next page, and no new one starts.
    with workspace.session() as s:
        do_disable_user(s, actor="test", username="anna.nowak")
    assert (await api.get("/overview")).status_code == 303
    again = await _login(api, username="anna.nowak", password=PASSWORD)
    assert again.status_code == 401


def test_bad_users_are_refused(workspace: Workspace) -> None:
    with workspace.session() as s:
        with pytest.raises(InvalidInput, match="at least 12 characters"):
            do_create_user(s, actor="t", username="ala", password="short", role="agent")
        with pytest.raises(InvalidInput, match="unknown role"):
            do_create_user(s, actor="t", username="ala", password=PASSWORD, role="boss")
        with pytest.raises(InvalidInput, match="user name"):
            do_create_user(s, actor="t", username="Ala Kot!", password=PASSWORD, role="agent")
        do_create_user(s, actor="t", username="ala", password=PASSWORD, role="viewer")
        with pytest.raises(Conflict):
            do_create_user(s, actor="t", username="ALA", password=PASSWORD, role="viewer")
        assert authenticate_user(s, "nobody", PASSWORD) is None
        user = authenticate_user(s, "ala", PASSWORD)
        assert user is not None and user.principal().actor == f"user:ala#{user.id}"
        assert user.principal().scopes == ("aggregates",)

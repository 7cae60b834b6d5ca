"""Surveys through the API: definitions, invitations, the public answering endpoints, and what
is stored (responses, the Survey Answered event on the timeline, fatigue refusals)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cxm.audit import list_actions
from cxm.journeys import telecom_yaml
from cxm.store.metadata import utcnow
from cxm.surveys import do_invite, do_mark_reminded, due_reminders
from cxm.surveys.tables import survey_invitations, survey_responses
from cxm.workspace import Workspace
from helpers import basic, bearer, worker_committing

pytestmark = pytest.mark.anyio

YAML = {"Content-Type": "application/yaml"}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def nps(survey_id: str = "nps-after-repair", **changes: Any) -> dict[str, Any]:
    return {
        "id": survey_id,
        "kind": "nps",
        "languages": ["pl", "en"],
        "questions": [
            {"id": "reason", "type": "text", "text": {"pl": "Dlaczego?", "en": "Why?"}},
            {
                "id": "channel",
                "type": "choice",
                "text": {"pl": "Którędy?", "en": "Which way?"},
                "options": [
                    {"id": "web", "label": {"pl": "Strona", "en": "Website"}},
                    {"id": "phone", "label": {"pl": "Telefon", "en": "Phone"}},
                ],
            },
        ],
        "trigger": {"after_touchpoint": "repair"},
        "expires_days": 14,
        "reminder_days": 3,
    } | changes


@pytest.fixture
async def setup(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> dict[str, str]:
    """A journey map and three customers; returns their profile ids by first name."""
    await ok(
        await api.put(
            "/api/journey", content=telecom_yaml().encode(), headers={**bearer(admin_token), **YAML}
        )
    )
    people = {
        "ania": {"userId": "u-ania", "traits": {"email": "ania@example.pl"}},
        "bartek": {"anonymousId": "a-bartek", "traits": {"email": "bartek@example.pl"}},
        "celina": {"userId": "u-celina"},
    }
    for person in people.values():
        event = {"type": "identify", "timestamp": "2026-06-01T10:00:00Z", **person}
        response = await api.post(
            "/v1/batch", json={"batch": [event]}, headers=basic(write_keys["website"])
        )
        assert response.status_code == 200 and not response.json()["rejected"], response.text
    workspace.catch_up()
    return {
        "ania": workspace.profile("u-ania").id,
        "bartek": workspace.profile("bartek@example.pl").id,
        "celina": workspace.profile("u-celina").id,
    }


async def save(api: httpx.AsyncClient, token: str, data: dict[str, Any]) -> dict[str, Any]:
    return await ok(await api.post("/api/surveys", json=data, headers=bearer(token)))


async def invite(
    api: httpx.AsyncClient, token: str, survey: str, **body: Any
) -> list[dict[str, Any]]:
    answer = await ok(
        await api.post(f"/api/surveys/{survey}/invitations", json=body, headers=bearer(token))
    )
    outcomes: list[dict[str, Any]] = answer["outcomes"]
    return outcomes


def count(workspace: Workspace, table: Any) -> int:
    with workspace.session() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def responses(workspace: Workspace) -> list[dict[str, Any]]:
    with workspace.session() as session:
        rows = session.execute(select(survey_responses).order_by(survey_responses.c.id))
        return [dict(r._mapping) for r in rows]


async def test_definitions_are_checked_and_versioned(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    assert (await api.post("/api/surveys", json=nps())).status_code == 401

    missing = nps(languages=["pl", "en", "ru"])
    bad = await ok(await api.post("/api/surveys", json=missing, headers=bearer(admin_token)), 400)
    assert bad["code"] == "invalid_survey"
    assert {
        "loc": ["questions", 0, "text", "ru"],
        "message": ("questions.0.text.ru: question 'reason' has no translation into 'ru'; add one"),
    } in bad["errors"]
    assert "question 'reason' has no translation into 'ru'" in bad["message"]

    wrong = await ok(
        await api.post(
            "/api/surveys",
            json=nps(trigger={"after_touchpoint": "teleport"}, kind="loyalty"),
            headers=bearer(admin_token),
        ),
        400,
    )
    assert {tuple(e["loc"]) for e in wrong["errors"]} == {
        ("kind",),
        ("trigger", "after_touchpoint"),
    }

    first = await save(api, admin_token, nps())
    assert first["version"] == 1 and first["survey"]["trigger"] == {"after_touchpoint": "repair"}
    second = await save(api, admin_token, nps(expires_days=30))
    assert second["version"] == 2
    text = "id: ces-support\nkind: ces\nlanguages: [en, ru]\n"
    ces = await ok(
        await api.post(
            "/api/surveys", content=text.encode(), headers={**bearer(admin_token), **YAML}
        )
    )
    assert ces["survey"]["question"]["en"] == "The company made it easy for me to handle my issue."

    listed = await ok(await api.get("/api/surveys", headers=bearer(admin_token)))
    assert [(s["survey"]["id"], s["version"]) for s in listed["surveys"]] == [
        ("ces-support", 1),
        ("nps-after-repair", 2),
    ]
    one = await ok(
        await api.get("/api/surveys/nps-after-repair?version=1", headers=bearer(admin_token))
    )
    assert one["survey"]["expires_days"] == 14 and one["invitations"]["delivered"] == 0
    gone = await ok(await api.get("/api/surveys/nope", headers=bearer(admin_token)), 404)
    assert "no survey 'nope'" in gone["message"]
    with workspace.session() as session:
        assert [a.subject for a in list_actions(session, action="survey.saved")] == [
            "ces-support",
            "nps-after-repair",
            "nps-after-repair",
        ]


async def test_invite_open_answer_round_trip(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    await save(api, admin_token, nps())
    (outcome,) = await invite(
        api, admin_token, "nps-after-repair", profiles=["u-ania"], case_ref="C-17", language="pl"
    )
    assert outcome["status"] == "sent" and outcome["profile_id"] == setup["ania"]
    token = outcome["token"]
    assert setup["ania"] not in token and "ania" not in token

    opened = await ok(await api.get(f"/api/public/surveys/{token}"))
    assert opened["language"] == "pl" and opened["status"] == "sent"
    assert [q["id"] for q in opened["questions"]] == ["score", "reason", "channel"]
    assert opened["questions"][0] | {"text": ""} == {
        "id": "score",
        "type": "scale",
        "text": "",
        "required": True,
        "min": 0,
        "max": 10,
    }
    assert opened["questions"][2]["options"][0] == {"id": "web", "label": "Strona"}

    answers = {"score": 9, "reason": "Szybka naprawa", "channel": "phone"}
    done = await ok(await api.post(f"/api/public/surveys/{token}", json={"answers": answers}), 201)
    assert done["score"] == 9

    (stored,) = responses(workspace)
    assert stored["profile_id"] == setup["ania"] and stored["touchpoint"] == "repair"
    assert stored["case_ref"] == "C-17" and stored["language"] == "pl"
    assert stored["score"] == 9 and stored["comment"] == "Szybka naprawa"

    again = await ok(
        await api.post(f"/api/public/surveys/{token}", json={"answers": {"score": 0}}), 409
    )
    assert again["code"] == "conflict" and "already answered" in again["message"]
    assert [r["score"] for r in responses(workspace)] == [9]
    reopened = await ok(await api.get(f"/api/public/surveys/{token}"))
    assert reopened["status"] == "answered"

    workspace.catch_up()
    timeline = workspace.timeline("u-ania")
    answered = [t for t in timeline if t.event == "Survey Answered"]
    assert (
        len(answered) == 1 and answered[0].channel == "survey" and answered[0].source == "surveys"
    )
    assert answered[0].properties["survey"] == "nps-after-repair"
    assert answered[0].properties["score"] == 9 and answered[0].properties["kind"] == "nps"
    assert answered[0].properties["comment"] == "Szybka naprawa"

    # E-mail-only customers get the event on their profile too.
    (other,) = await invite(api, admin_token, "nps-after-repair", profiles=["bartek@example.pl"])
    await ok(
        await api.post(f"/api/public/surveys/{other['token']}", json={"answers": {"score": 3}}), 201
    )
    workspace.catch_up()
    assert workspace.profile("bartek@example.pl").id == setup["bartek"]
    assert any(t.event == "Survey Answered" for t in workspace.timeline("bartek@example.pl"))

    listed = await ok(
        await api.get("/api/surveys/nps-after-repair/responses", headers=bearer(admin_token))
    )
    assert [(r["profile_id"], r["score"]) for r in listed["responses"]] == [
        (setup["ania"], 9.0),
        (setup["bartek"], 3.0),
    ]
    counts = await ok(await api.get("/api/surveys/nps-after-repair", headers=bearer(admin_token)))
    assert counts["invitations"]["answered"] == 2 and counts["invitations"]["response_rate"] == 1.0


async def test_forged_and_expired_tokens_are_refused(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    await save(api, admin_token, nps())
    (outcome,) = await invite(api, admin_token, "nps-after-repair", profiles=[setup["ania"]])
    token = outcome["token"]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for forged in (flipped, "x" * 300, "inv_nothing.signed", token.split(".")[0]):
        for response in (
            await api.get(f"/api/public/surveys/{forged}"),
            await api.post(f"/api/public/surveys/{forged}", json={"answers": {"score": 5}}),
        ):
            body = await ok(response, 404 if len(forged) <= 200 else 400)
            assert body["ok"] is False
            if response.status_code == 404:
                assert body["code"] == "invitation_invalid" and "not valid" in body["message"]

    past = utcnow() - timedelta(days=20)
    with workspace.session() as session:
        old = do_invite(
            session=session,
            actor="test",
            survey="nps-after-repair",
            profile_id=setup["celina"],
            touchpoint=None,
            case_ref=None,
            language="en",
            now=past,
        )
    assert old.token is not None and old.expires_at == past + timedelta(days=14)
    for response in (
        await api.get(f"/api/public/surveys/{old.token}"),
        await api.post(f"/api/public/surveys/{old.token}", json={"answers": {"score": 5}}),
    ):
        body = await ok(response, 410)
        assert body["code"] == "invitation_expired" and "closed on" in body["message"]
    assert count(workspace, survey_responses) == 0
    counts = await ok(await api.get("/api/surveys/nps-after-repair", headers=bearer(admin_token)))
    assert counts["invitations"]["expired"] == 1 and counts["invitations"]["sent"] == 1


async def test_wrong_answers_name_the_question_and_store_nothing(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    await save(api, admin_token, nps())
    (outcome,) = await invite(api, admin_token, "nps-after-repair", profiles=["u-ania"])
    url = f"/api/public/surveys/{outcome['token']}"
    for answers, where in [
        ({"score": 11}, "score"),
        ({"score": -1}, "score"),
        ({"reason": "no score"}, "score"),
        ({"score": 5, "channel": "fax"}, "channel"),
        ({"score": 5, "colour": "red"}, "colour"),
    ]:
        body = await ok(await api.post(url, json={"answers": answers}), 400)
        assert body["code"] == "invalid_input" and where in body["message"]
        assert body["errors"][0]["loc"] == ["answers", where]
    out_of_range = await ok(await api.post(url, json={"answers": {"score": 11}}), 400)
    assert "question 'score': 11 is outside 0–10" in out_of_range["message"]
    for junk in ([1, 2], {"answers": [1]}, {"answers": "9"}, "not json"):
        kwargs: dict[str, Any] = (
            {"content": junk.encode()} if isinstance(junk, str) else {"json": junk}
        )
        assert (await api.post(url, **kwargs)).status_code == 400
    assert count(workspace, survey_responses) == 0
    await ok(await api.post(url, json={"answers": {"score": 10}}), 201)
    assert [r["score"] for r in responses(workspace)] == [10]


async def test_fatigue_rule_spans_all_surveys(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    await save(api, admin_token, nps())
    await save(api, admin_token, {"id": "csat-calls", "kind": "csat", "languages": ["en"]})
    (first,) = await invite(api, admin_token, "nps-after-repair", profiles=["u-ania"])
    assert first["status"] == "sent"

    second = await invite(
        api, admin_token, "csat-calls", profiles=["u-ania", "u-celina", "nobody@example.pl"]
    )
    assert [o["status"] for o in second] == ["suppressed", "sent", "rejected"]
    refused = second[0]
    assert refused["token"] is None and refused["profile_id"] == setup["ania"]
    assert "fatigue" in refused["reason"] and "'nps-after-repair'" in refused["reason"]
    assert "once per 30 days" in refused["reason"]
    assert "no customer matches 'nobody@example.pl'" in second[2]["reason"]

    # The first invitation is untouched and still answerable.
    await ok(
        await api.post(f"/api/public/surveys/{first['token']}", json={"answers": {"score": 8}}),
        201,
    )
    counts = await ok(await api.get("/api/surveys/csat-calls", headers=bearer(admin_token)))
    assert counts["invitations"] | {"response_rate": None} == {
        "sent": 1,
        "answered": 0,
        "expired": 0,
        "suppressed": 1,
        "delivered": 1,
        "response_rate": None,
    }
    with workspace.session() as session:
        later = do_invite(
            session=session,
            actor="test",
            survey="csat-calls",
            profile_id=setup["ania"],
            touchpoint=None,
            case_ref=None,
            language=None,
            now=utcnow() + timedelta(days=31),
            fatigue_days=30,
        )
    assert later.status == "sent" and later.token is not None


async def test_anonymous_survey_keeps_no_link_to_the_person(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    await save(api, admin_token, nps("anon-nps", anonymous=True))
    (outcome,) = await invite(api, admin_token, "anon-nps", profiles=["u-ania"], case_ref="C-9")
    opened = await ok(await api.get(f"/api/public/surveys/{outcome['token']}"))
    assert opened["anonymous"] is True
    await ok(
        await api.post(f"/api/public/surveys/{outcome['token']}", json={"answers": {"score": 2}}),
        201,
    )
    (stored,) = responses(workspace)
    assert stored["profile_id"] is None and stored["invitation_id"] is None
    assert stored["touchpoint"] == "repair" and stored["score"] == 2
    listed = await ok(await api.get("/api/surveys/anon-nps/responses", headers=bearer(admin_token)))
    assert listed["responses"][0]["profile_id"] is None
    workspace.catch_up()
    assert not any(t.event == "Survey Answered" for t in workspace.timeline("u-ania"))
    again = await api.post(
        f"/api/public/surveys/{outcome['token']}", json={"answers": {"score": 2}}
    )
    assert again.status_code == 409


async def test_employee_survey_answers_belong_to_a_department(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    await save(
        api,
        admin_token,
        {
            "id": "enps",
            "kind": "nps",
            "audience": "employee",
            "languages": ["pl"],
            "anonymous": True,
        },
    )
    outcomes = await invite(
        api, admin_token, "enps", departments=["field-service", "hr", "nowhere"]
    )
    assert [o["status"] for o in outcomes] == ["sent", "sent", "rejected"]
    assert "no department 'nowhere'" in outcomes[2]["reason"]
    (customer,) = await invite(api, admin_token, "enps", profiles=["u-ania"])
    assert customer["status"] == "rejected" and "for employees" in customer["reason"]

    await ok(
        await api.post(
            f"/api/public/surveys/{outcomes[0]['token']}", json={"answers": {"score": 7}}
        ),
        201,
    )
    (stored,) = responses(workspace)
    assert stored["department"] == "field-service" and stored["profile_id"] is None
    with workspace.session() as session:
        rows = session.execute(
            select(survey_invitations.c.department, survey_invitations.c.profile_id).where(
                survey_invitations.c.survey_id == "enps"
            )
        ).all()
    assert sorted(rows) == [("field-service", None), ("hr", None)]


async def test_reminders_are_due_once(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    await save(api, admin_token, nps())
    outcomes = await invite(api, admin_token, "nps-after-repair", profiles=["u-ania", "u-celina"])
    await ok(
        await api.post(
            f"/api/public/surveys/{outcomes[1]['token']}", json={"answers": {"score": 5}}
        ),
        201,
    )
    now = utcnow()
    with workspace.session() as session:
        assert due_reminders(session, now=now + timedelta(days=2)) == []
        (due,) = due_reminders(session, now=now + timedelta(days=4))
        assert due.id == outcomes[0]["invitation_id"] and due.profile_id == setup["ania"]
        assert due_reminders(session, now=now + timedelta(days=15)) == []  # expired by then
        do_mark_reminded(
            session=session, actor="test", invitation_id=due.id, now=now + timedelta(days=4)
        )
        assert due_reminders(session, now=now + timedelta(days=5)) == []


async def test_bad_requests_never_fail_the_server(
    api: httpx.AsyncClient, admin_token: str, setup: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    for body in (b"", b"[]", b"{", b'"text"', b"\xff\xfe", b'{"id": 5}'):
        response = await api.post(
            "/api/surveys", content=body, headers={**auth, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, (body, response.text)
    response = await api.post(
        "/api/surveys", content=b"a: [", headers={**auth, "Content-Type": "text/yaml"}
    )
    assert response.status_code == 400
    await save(api, admin_token, nps())
    for body in (
        {},
        {"profiles": "u-ania"},
        {"profiles": [1]},
        {"profiles": ["u-ania"], "language": "de"},
    ):
        response = await api.post(
            "/api/surveys/nps-after-repair/invitations", json=body, headers=auth
        )
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            assert response.json()["outcomes"][0]["status"] == "rejected"
    missing = await api.post(
        "/api/surveys/nope/invitations", json={"profiles": ["u-ania"]}, headers=auth
    )
    assert missing.status_code == 404


async def test_two_invitations_at_the_same_moment_take_turns(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    """A second invitation racing the first waits for it, then sees it and is suppressed."""
    import threading
    import time

    await save(api, admin_token, nps())
    await save(api, admin_token, {"id": "csat-calls", "kind": "csat", "languages": ["en"]})

    def invite_now(survey: str) -> Any:
        return dict(
            session=None, actor="test", survey=survey, profile_id=setup["ania"], touchpoint=None,
            case_ref=None, language=None, now=utcnow(), fatigue_days=30,
        )  # fmt: skip

    outcomes: dict[str, Any] = {}
    with workspace.session() as first:
        outcomes["first"] = do_invite(**{**invite_now("nps-after-repair"), "session": first})

        def second() -> None:
            with workspace.session() as other:
                outcomes["second"] = do_invite(**{**invite_now("csat-calls"), "session": other})

        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive()  # waiting for the first invitation's transaction
    racer.join(timeout=30)
    assert outcomes["first"].status == "sent"
    assert outcomes["second"].status == "suppressed"
    assert "'nps-after-repair'" in outcomes["second"].reason


async def test_saving_surveys_while_the_worker_commits(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: dict[str, str]
) -> None:
    """Saving a survey reads its versions and then writes. On SQLite a transaction that read
    before another connection committed cannot take the write lock later ("database is
    locked" at once, whatever the busy timeout): the handler begins with the write lock, so a
    worker committing all the while only makes it wait its turn."""
    with worker_committing(workspace) as worker:
        codes = []
        for i in range(15):
            saved = await api.post("/api/surveys", json=nps(f"busy-{i}"),
                                   headers=bearer(admin_token))  # fmt: skip
            codes.append((saved.status_code, saved.text[:120]))
    assert worker.commits > 15  # the worker really was committing in between
    assert [c for c, _ in codes] == [200] * 15, codes

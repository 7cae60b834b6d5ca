"""The public survey page in-process: the form in the invitation's language, the no-script
form post and what it stores, a wrong answer shown again with its message, and the refusals
(forged 404, expired 410, answered twice 409), plus the embeddable variant's headers."""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest

from cxm.audit import record_action
from cxm.store.metadata import utcnow
from cxm.surveys import do_invite
from cxm.web.i18n import catalogue
from cxm.web.survey_page import RUSSIAN, page_translator
from cxm.workspace import Workspace
from helpers import basic, bearer

pytestmark = pytest.mark.anyio

SURVEY: dict[str, Any] = {
    "id": "nps-after-visit",
    "name": "Telco Polska",
    "kind": "nps",
    "languages": ["en", "pl", "ru"],
    "questions": [
        {
            "id": "reason",
            "type": "text",
            "text": {"en": "What is the main reason?", "pl": "Dlaczego?", "ru": "Почему?"},
        },
        {
            "id": "channel",
            "type": "choice",
            "required": True,
            "text": {"en": "How did you contact us?", "pl": "Którędy?", "ru": "Как?"},
            "options": [
                {"id": "web", "label": {"en": "Website", "pl": "Strona", "ru": "Сайт"}},
                {"id": "phone", "label": {"en": "Phone", "pl": "Telefon", "ru": "Телефон"}},
            ],
        },
        {
            "id": "topics",
            "type": "choice",
            "multiple": True,
            "text": {"en": "Topics", "pl": "Tematy", "ru": "Темы"},
            "options": [
                {"id": "price", "label": {"en": "Price", "pl": "Cena", "ru": "Цена"}},
                {"id": "speed", "label": {"en": "Speed", "pl": "Szybkość", "ru": "Скорость"}},
            ],
        },
    ],
    "expires_days": 14,
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def people(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> list[str]:
    """The survey saved and four customers who can be invited (by user id)."""
    saved = await api.post("/api/surveys", json=SURVEY, headers=bearer(admin_token))
    assert saved.status_code == 200, saved.text
    users = ["u-ania", "u-bartek", "u-celina", "u-darek"]
    batch = [{"type": "identify", "userId": u, "timestamp": "2026-06-01T10:00:00Z"} for u in users]
    sent = await api.post("/v1/batch", json={"batch": batch}, headers=basic(write_keys["website"]))
    assert sent.status_code == 200 and not sent.json()["rejected"], sent.text
    workspace.catch_up()
    return users


async def invite(api: httpx.AsyncClient, token: str, user: str, language: str) -> str:
    response = await api.post(
        f"/api/surveys/{SURVEY['id']}/invitations",
        json={"profiles": [user], "language": language},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    (outcome,) = response.json()["outcomes"]
    assert outcome["status"] == "sent", outcome
    link: str = outcome["token"]
    return link


async def stored(api: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    response = await api.get(f"/api/surveys/{SURVEY['id']}/responses", headers=bearer(token))
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["responses"]
    return rows


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_the_form_answers_once_without_script(
    api: httpx.AsyncClient, admin_token: str, people: list[str]
) -> None:
    link = await invite(api, admin_token, "u-ania", "en")
    page = await api.get(f"/s/{link}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    body = page.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    assert '<html lang="en">' in body and "/static/survey.css" in body
    assert "<script" not in body and "nav-link" not in body and "sidebar" not in body
    assert f'method="post" action="/s/{link}"' in body
    shown = text_of(body)
    assert "Telco Polska" in shown
    assert "How likely are you to recommend us to a friend or colleague?" in shown
    assert "Not at all likely" in shown and "Extremely likely" in shown
    assert "How did you contact us?" in shown and "Website" in shown and ">Send<" in body
    assert len(re.findall(r'<input type="radio" name="score" value="(\d+)"', body)) == 11
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers

    answer = "score=9&reason=Fast+repair&channel=phone&topics=price&topics=speed&extra=x"
    done = await api.post(f"/s/{link}", content=answer, headers=FORM)
    assert done.status_code == 200, done.text
    assert 'data-view="thanks"' in done.text and "Thank you!" in done.text
    (row,) = await stored(api, admin_token)
    assert row["score"] == 9 and row["comment"] == "Fast repair" and row["language"] == "en"
    assert row["answers"] == {
        "score": 9,
        "reason": "Fast repair",
        "channel": "phone",
        "topics": ["price", "speed"],
    }

    again = await api.post(f"/s/{link}", content="score=0&channel=web", headers=FORM)
    assert again.status_code == 409 and 'data-view="answered"' in again.text
    assert "We already have your answer, thank you" in text_of(again.text)
    reopened = await api.get(f"/s/{link}")
    assert reopened.status_code == 409 and 'data-view="answered"' in reopened.text
    (kept,) = await stored(api, admin_token)
    assert kept["score"] == 9


async def test_a_wrong_answer_shows_the_form_again_with_the_values_kept(
    api: httpx.AsyncClient, admin_token: str, people: list[str]
) -> None:
    link = await invite(api, admin_token, "u-bartek", "pl")
    page = await api.get(f"/s/{link}")
    assert '<html lang="pl">' in page.text
    shown = text_of(page.text)
    assert "Jak bardzo prawdopodobne jest, że polecisz nas" in shown
    assert "Wyślij" in shown and "Zupełnie nieprawdopodobne" in shown and "Strona" in shown

    bad = await api.post(
        f"/s/{link}", content="score=11&reason=Za+drogo&topics=price", headers=FORM
    )
    assert bad.status_code == 400
    assert "Sprawdź odpowiedzi zaznaczone poniżej." in bad.text
    assert 'id="score-error">Wybierz liczbę od 0 do 10.<' in bad.text
    assert 'id="channel-error">Odpowiedz na to pytanie.<' in bad.text
    assert "reason-error" not in bad.text and "topics-error" not in bad.text
    assert ">Za drogo</textarea>" in bad.text
    assert re.search(r'name="topics" value="price" checked', bad.text)
    assert not re.search(r'name="topics" value="speed" checked', bad.text)
    assert await stored(api, admin_token) == []

    missing = await api.post(f"/s/{link}", content="channel=web&reason=", headers=FORM)
    assert missing.status_code == 400
    assert 'id="score-error">Odpowiedz na to pytanie.<' in missing.text
    assert re.search(r'name="channel" value="web" checked', missing.text)
    assert await stored(api, admin_token) == []

    fixed = await api.post(f"/s/{link}", content="score=3&channel=web", headers=FORM)
    assert fixed.status_code == 200 and "Dziękujemy!" in fixed.text
    (row,) = await stored(api, admin_token)
    assert row["score"] == 3 and row["language"] == "pl"


async def test_russian_invitation_and_page_texts(
    api: httpx.AsyncClient, admin_token: str, people: list[str]
) -> None:
    link = await invite(api, admin_token, "u-celina", "ru")
    page = await api.get(f"/s/{link}")
    shown = text_of(page.text)
    assert '<html lang="ru">' in page.text and "Отправить" in shown
    assert "Насколько вероятно, что вы порекомендуете нас" in shown and "Сайт" in shown
    done = await api.post(f"/s/{link}", content="score=10&channel=web", headers=FORM)
    assert done.status_code == 200 and "Спасибо!" in done.text


def test_every_page_text_has_russian() -> None:
    keys = {k for k in catalogue("en") if k.startswith("survey_page.")}
    assert set(RUSSIAN) == keys
    assert page_translator("de")("survey_page.send") == "Send"
    assert page_translator("ru")("survey_page.error.scale", min=1, max=5).endswith("от 1 до 5.")


async def test_forged_and_expired_links(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, people: list[str]
) -> None:
    link = await invite(api, admin_token, "u-ania", "en")
    flipped = link[:-1] + ("A" if link[-1] != "A" else "B")
    for forged in (flipped, "x" * 300, "inv_nothing.signed", link.split(".")[0]):
        for response in (
            await api.get(f"/s/{forged}"),
            await api.post(f"/s/{forged}", content="score=5&channel=web", headers=FORM),
        ):
            assert response.status_code == 404, forged
            assert 'data-view="invalid"' in response.text
            assert "This link is not valid" in response.text
    polish = await api.get(f"/s/{flipped}", headers={"Accept-Language": "pl-PL,pl;q=0.9"})
    assert "Ten link jest nieprawidłowy" in polish.text

    past = utcnow() - timedelta(days=20)
    with workspace.session() as session:
        old = do_invite(
            session=session,
            actor="test",
            survey=SURVEY["id"],
            profile_id=workspace.profile("u-darek").id,
            touchpoint=None,
            case_ref=None,
            language="en",
            now=past,
        )
    assert old.token is not None
    for response in (
        await api.get(f"/s/{old.token}"),
        await api.post(f"/s/{old.token}", content="score=5&channel=web", headers=FORM),
    ):
        assert response.status_code == 410
        assert 'data-view="closed"' in response.text
        assert "This survey has closed" in response.text
    assert await stored(api, admin_token) == []


async def test_embeddable_variant(
    api: httpx.AsyncClient, admin_token: str, people: list[str]
) -> None:
    link = await invite(api, admin_token, "u-ania", "en")
    page = await api.get(f"/s/{link}?embed=1")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors *" in policy and "'none'" not in policy
    assert "default-src 'self'" in policy and "form-action 'self'" in policy
    assert "x-frame-options" not in page.headers
    assert page.headers["x-content-type-options"] == "nosniff"
    assert 'class="sv-body sv-embed"' in page.text and "sv-header" not in page.text
    assert f'action="/s/{link}?embed=1"' in page.text

    done = await api.post(f"/s/{link}?embed=1", content="score=8&channel=web", headers=FORM)
    assert done.status_code == 200 and "Thank you!" in done.text
    assert "frame-ancestors *" in done.headers["content-security-policy"]
    assert "x-frame-options" not in done.headers

    # The dashboard keeps its own headers: it may not be framed.
    login = await api.get("/login")
    assert login.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]


async def test_answers_are_kept_while_another_process_writes(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, people: list[str]
) -> None:
    """The worker commits between a form's read and its write: the answer waits, never fails."""
    links = [await invite(api, admin_token, user, "en") for user in people]
    stop = threading.Event()

    def keep_writing() -> None:  # what the worker does all day: short write transactions
        while not stop.is_set():
            with workspace.session() as session:
                record_action(session, actor="load", action="test.load", subject="x")

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for link in links:
            page = await api.get(f"/s/{link}")
            assert page.status_code == 200, page.text
            done = await api.post(f"/s/{link}", content="score=8&channel=web", headers=FORM)
            assert done.status_code == 200, done.text
    finally:
        stop.set()
        writer.join()
    assert sorted(row["score"] for row in await stored(api, admin_token)) == [8] * len(people)

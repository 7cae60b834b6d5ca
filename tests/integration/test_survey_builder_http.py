"""The survey builder over HTTP, on SQLite and PostgreSQL: a survey created from the form and a
new version of it, the YAML editor, and bad input answered with a page that says what is wrong
and stores nothing: a definition with problems (every one listed with its loc and shown next to
its field, the input kept), an id already taken, a missing or forged CSRF token.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from cxm.journeys import default_journey_map, telecom_yaml
from cxm.surveys import DEFAULT_HEADLINES
from helpers import bearer, sign_in

pytestmark = pytest.mark.anyio

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def load_map(api: httpx.AsyncClient, token: str) -> None:
    response = await api.put(
        "/api/journey",
        content=telecom_yaml().encode(),
        headers={**bearer(token), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text


def problems_of(page: str) -> dict[str, str]:
    """The builder's list of problems: message by loc."""
    found = re.findall(r'<li data-loc="([^"]*)">.*?<span class="sb-problem">(.*?)</span>', page)
    return {loc: html.unescape(message) for loc, message in found}


async def stored_surveys(api: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    response = await api.get("/api/surveys", headers=bearer(token))
    assert response.status_code == 200, response.text
    surveys: list[dict[str, Any]] = response.json()["surveys"]
    return surveys


def builder_form(csrf: str, **overrides: Any) -> list[tuple[str, str]]:
    """A filled-in builder form: an NPS survey in English and Polish with a choice question."""
    fields: dict[str, Any] = {
        "csrf_token": csrf,
        "action": "save",
        "id": "nps-repair",
        "name": "Repair follow-up",
        "kind": "nps",
        "audience": "customer",
        "languages": ["en", "pl"],
        "headline-en": "",
        "headline-pl": "",
        "headline-ru": "",
        "q-0-id": "reason",
        "q-0-type": "text",
        "q-0-text-en": "Why that score?",
        "q-0-text-pl": "Dlaczego taka ocena?",
        "q-0-text-ru": "",
        "q-1-id": "channel",
        "q-1-type": "choice",
        "q-1-required": "1",
        "q-1-text-en": "How did you reach us?",
        "q-1-text-pl": "Którędy?",
        "q-1-opt-0-id": "web",
        "q-1-opt-0-en": "Website",
        "q-1-opt-0-pl": "Strona",
        "q-1-opt-1-id": "shop",
        "q-1-opt-1-en": "Shop",
        "q-1-opt-1-pl": "Salon",
        "q-1-opt-2-id": "",
        "q-1-opt-2-en": "",
        "q-2-id": "",
        "q-2-type": "text",
        "q-2-text-en": "",
        "trigger": "manual",
        "trigger_touchpoint": "",
        "trigger_segment": "",
        "expires_days": "14",
        "reminder_days": "3",
    }
    fields.update(overrides)
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, str(item)))
    return pairs


async def test_the_builder_saves_a_survey_then_a_new_version(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    await load_map(api, admin_token)
    touchpoint = default_journey_map().touchpoints[0]
    await sign_in(api, admin_token)
    form = await api.get("/surveys/new")
    assert form.status_code == 200
    assert 'name="kind" value="nps" checked' in form.text
    assert f'<option value="{touchpoint.id}">{html.escape(touchpoint.name)}</option>' in form.text

    fields = builder_form(
        csrf_of(form.text), trigger="after_touchpoint", trigger_touchpoint=touchpoint.id
    )
    saved = await api.post("/surveys/new", content=_encode(fields), headers=FORM)
    assert saved.status_code == 303, text_of(saved.text)
    assert saved.headers["location"] == "/surveys/nps-repair?saved=1"

    (survey,) = await stored_surveys(api, admin_token)
    assert survey["version"] == 1 and survey["actor"].startswith("token:admin")
    definition = survey["survey"]
    assert definition["name"] == "Repair follow-up" and definition["languages"] == ["en", "pl"]
    assert definition["question"] == {
        "en": DEFAULT_HEADLINES["nps"]["en"],
        "pl": DEFAULT_HEADLINES["nps"]["pl"],
    }
    assert [q["id"] for q in definition["questions"]] == ["reason", "channel"]
    assert definition["questions"][1]["required"] is True
    assert definition["questions"][1]["options"] == [
        {"id": "web", "label": {"en": "Website", "pl": "Strona"}},
        {"id": "shop", "label": {"en": "Shop", "pl": "Salon"}},
    ]
    assert definition["trigger"] == {"after_touchpoint": touchpoint.id}
    assert definition["reminder_days"] == 3 and definition["anonymous"] is False

    results = await api.get(saved.headers["location"])
    assert results.status_code == 200 and "Version 1 saved." in results.text
    assert "Repair follow-up" in results.text

    again = await api.get("/surveys/nps-repair/edit")
    assert again.status_code == 200
    assert 'name="id" value="nps-repair"' in again.text and "readonly" in again.text
    assert 'name="q-1-opt-1-pl" value="Salon"' in again.text
    assert f'<option value="{touchpoint.id}" selected>' in again.text
    fields = builder_form(csrf_of(again.text), kind="csat", anonymous="1", reminder_days="")
    version = await api.post("/surveys/nps-repair/edit", content=_encode(fields), headers=FORM)
    assert version.status_code == 303
    assert version.headers["location"] == "/surveys/nps-repair?saved=2"
    (survey,) = await stored_surveys(api, admin_token)
    assert survey["version"] == 2 and survey["survey"]["kind"] == "csat"
    assert survey["survey"]["anonymous"] is True and survey["survey"]["reminder_days"] is None

    # A new survey may not take an existing id: the builder says so and saves nothing.
    taken = await api.post("/surveys/new", content=_encode(fields), headers=FORM)
    assert taken.status_code == 409
    assert "A survey “nps-repair” exists already" in text_of(taken.text)
    assert (await stored_surveys(api, admin_token))[0]["version"] == 2


async def test_an_invalid_definition_lists_every_problem_and_keeps_the_input(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    await sign_in(api, admin_token)
    form = await api.get("/surveys/new")
    fields = builder_form(
        csrf_of(form.text),
        languages=["en", "pl", "ru"],
        **{"q-1-opt-1-id": "Shop!", "reminder_days": "20", "name": "Kept <name>"},
    )
    page = await api.post("/surveys/new", content=_encode(fields), headers=FORM)
    assert page.status_code == 400
    shown = text_of(page.text)
    assert "The survey was not saved: 5 problems." in shown
    # The summary: each problem with its loc, the missing Russian translation naming the question.
    problems = problems_of(page.text)
    assert problems == {
        "questions.0.text.ru": "question 'reason' has no translation into 'ru'; add one",
        "questions.1.text.ru": "question 'channel' has no translation into 'ru'; add one",
        "questions.1.options.0.label.ru": (
            "option 'web' of question 'channel' has no translation into 'ru'; add one"
        ),
        "questions.1.options.1.id": "question 'channel': 'Shop!' is not an option id",
        "reminder_days": (
            "a reminder after 20 days comes after the invitation expires (14 days); make it shorter"
        ),
    }
    assert '<a href="#f-q-0-text-ru"><code>questions.0.text.ru</code></a>' in page.text
    # … and next to its field, which is marked invalid.
    assert re.search(
        r'name="q-0-text-ru" value="" lang="ru" maxlength="2000"\s+placeholder=""'
        r' aria-invalid="true" aria-describedby="err-q-0-text-ru">',
        page.text,
    )
    assert "data-error-for=\"q-0-text-ru\"><span>question 'reason' has no translation" in (
        html.unescape(page.text)
    )
    assert 'data-error-for="reminder_days"' in page.text
    # Everything typed is still there.
    for kept in (
        'name="name" value="Kept &lt;name&gt;"',
        'name="q-0-text-pl" value="Dlaczego taka ocena?"',
        'name="q-1-opt-1-id" value="Shop!"',
        'name="reminder_days" value="20"',
        'name="languages" value="ru" checked',
        'name="q-1-required" value="1" checked',
    ):
        assert kept in page.text, kept
    assert await stored_surveys(api, admin_token) == []

    # A custom survey without questions, and a touchpoint trigger with no journey map saved.
    custom = builder_form(
        csrf_of(page.text),
        kind="custom",
        trigger="after_touchpoint",
        trigger_touchpoint="repair",
        **{"q-0-id": "", "q-0-text-en": "", "q-0-text-pl": "", "q-1-id": ""},
        **{f"q-1-{k}": "" for k in ("text-en", "text-pl", "opt-0-id", "opt-0-en", "opt-0-pl")},
        **{f"q-1-{k}": "" for k in ("opt-1-id", "opt-1-en", "opt-1-pl")},
    )
    page = await api.post("/surveys/new", content=_encode(custom), headers=FORM)
    assert page.status_code == 400
    problems = problems_of(page.text)
    assert problems["questions"] == "a custom survey needs at least one question"
    assert problems["trigger.after_touchpoint"].startswith("no journey map is saved")
    assert await stored_surveys(api, admin_token) == []


async def test_adding_a_question_row_saves_nothing(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    await sign_in(api, admin_token)
    form = await api.get("/surveys/new")
    assert 'name="q-0-id"' in form.text and 'name="q-1-id"' not in form.text
    fields = builder_form(csrf_of(form.text), action="more")
    page = await api.post("/surveys/new", content=_encode(fields), headers=FORM)
    assert page.status_code == 200
    # The two filled questions, then two fresh rows; the blank row posted is gone.
    assert 'name="q-1-opt-1-en" value="Shop"' in page.text
    assert 'name="q-3-id" value=""' in page.text and 'name="q-4-id"' not in page.text
    assert await stored_surveys(api, admin_token) == []


async def test_the_yaml_editor(api: httpx.AsyncClient, admin_token: str) -> None:
    await sign_in(api, admin_token)
    form = await api.get("/surveys/new")
    csrf = csrf_of(form.text)
    broken = "id: ces-shop\nkind: [ces"
    page = await api.post(
        "/surveys/new", data={"csrf_token": csrf, "format": "yaml", "definition": broken}
    )
    assert page.status_code == 400
    assert "This is not valid YAML" in text_of(page.text)
    assert '<details class="card sb-yaml" id="yaml" open>' in page.text
    assert ">id: ces-shop\nkind: [ces</textarea>" in page.text

    good = "id: ces-shop\nkind: ces\nlanguages: [en, de]\nquestion:\n  en: Was it easy?\n"
    page = await api.post(
        "/surveys/new", data={"csrf_token": csrf, "format": "yaml", "definition": good}
    )
    assert page.status_code == 400
    assert problems_of(page.text) == {
        "question.de": "the headline question 'score' has no translation into 'de'; add one"
    }
    good += "  de: War es einfach?\n"
    page = await api.post(
        "/surveys/new", data={"csrf_token": csrf, "format": "yaml", "definition": good}
    )
    assert page.status_code == 303, text_of(page.text)
    # A survey in a language the form does not write is edited as YAML.
    edit = await api.get("/surveys/ces-shop/edit")
    assert "This survey is also in de" in text_of(edit.text)
    assert 'id="yaml" open>' in edit.text and "War es einfach?" in edit.text


async def test_missing_csrf_is_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    await sign_in(api, admin_token)
    form = await api.get("/surveys/new")
    for token in ("", "forged"):
        fields = builder_form(token)
        page = await api.post("/surveys/new", content=_encode(fields), headers=FORM)
        assert page.status_code == 403
        assert "The form expired. Reload the page and try again." in text_of(page.text)
    assert await stored_surveys(api, admin_token) == []

    saved = await api.post(
        "/surveys/new", content=_encode(builder_form(csrf_of(form.text))), headers=FORM
    )
    assert saved.status_code == 303


def _encode(fields: list[tuple[str, str]]) -> bytes:
    return urlencode(fields).encode()

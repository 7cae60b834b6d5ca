"""The Surveys pages over HTTP: the list, the builder (form and YAML), a survey's results and
the invitation form, on SQLite and PostgreSQL.

Bad input is answered with a page that says what is wrong and stores nothing: a definition with
problems (every one listed with its loc, next to its field, the input kept), a missing CSRF
token, an id already taken, an unknown survey (the 404 page).
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from cxm.journeys import default_journey_map, telecom_yaml
from cxm.metrics.surveys import survey_metric
from cxm.surveys import DEFAULT_HEADLINES, do_answer, do_invite
from cxm.web.survey_views import format_value
from cxm.workspace import Workspace
from helpers import basic, bearer

pytestmark = pytest.mark.anyio

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JANUARY = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


async def sign_in(api: httpx.AsyncClient, token: str) -> None:
    page = await api.get("/login")
    response = await api.post("/login", data={"token": token, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def problems_of(page: str) -> dict[str, str]:
    """The builder's list of problems: message by loc."""
    found = re.findall(r'<li data-loc="([^"]*)">.*?<span class="sb-problem">(.*?)</span>', page)
    return {loc: html.unescape(message) for loc, message in found}


def chart_of(page: str, css_class: str) -> dict[str, Any]:
    found = re.search(rf'class="chart {css_class}" data-chart=\'([^\']*)\'', page)
    assert found, f"no {css_class} chart"
    option: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return option


async def load_map(api: httpx.AsyncClient, token: str) -> None:
    response = await api.put(
        "/api/journey",
        content=telecom_yaml().encode(),
        headers={**bearer(token), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text


async def stored_surveys(api: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    response = await api.get("/api/surveys", headers=bearer(token))
    assert response.status_code == 200, response.text
    surveys: list[dict[str, Any]] = response.json()["surveys"]
    return surveys


async def customers(api: httpx.AsyncClient, workspace: Workspace, key: str, *users: str) -> None:
    batch = [
        {"type": "identify", "userId": u, "timestamp": "2026-06-01T10:00:00Z", "traits": {}}
        for u in users
    ]
    sent = await api.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert sent.status_code == 200 and not sent.json()["rejected"], sent.text
    workspace.catch_up()


def answer_many(
    workspace: Workspace,
    survey: str,
    answers: list[tuple[datetime, int]],
    *,
    touchpoint: str | None = None,
    department: str | None = None,
    language: str = "en",
) -> None:
    """Invitations without a customer (or to a department), each answered an hour later."""
    with workspace.session() as session:
        for at, score in answers:
            outcome = do_invite(
                session=session, actor="test", survey=survey, profile_id=None,
                touchpoint=touchpoint, case_ref=None, language=language, now=at,
                department=department, fatigue_days=0,
            )  # fmt: skip
            assert outcome.token is not None
            do_answer(
                session=session,
                token=outcome.token,
                answers={"score": score},
                now=at + timedelta(hours=1),
            )


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


async def test_the_pages_need_a_session(api: httpx.AsyncClient, workspace: Workspace) -> None:
    workspace.initialise()
    for path in ("/surveys", "/surveys/new", "/surveys/x"):
        response = await api.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"
    posted = await api.post("/surveys/new", data={"id": "x"})
    assert posted.status_code == 303


async def test_empty_list_and_the_sidebar(api: httpx.AsyncClient, admin_token: str) -> None:
    await sign_in(api, admin_token)
    page = await api.get("/surveys")
    assert page.status_code == 200
    assert "No surveys yet." in page.text and 'href="/surveys/new"' in page.text
    assert re.search(r'class="nav-link is-active" href="/surveys" aria-current="page"', page.text)
    polish = await api.get("/surveys", headers={"Accept-Language": "pl"})
    assert "Nie ma jeszcze ankiet." in polish.text


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
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    await sign_in(api, admin_token)
    form = await api.get("/surveys/new")
    for token in ("", "forged"):
        fields = builder_form(token)
        page = await api.post("/surveys/new", content=_encode(fields), headers=FORM)
        assert page.status_code == 403
        assert "The form expired. Reload the page and try again." in text_of(page.text)
        assert 'name="q-1-opt-1-pl" value="Salon"' in page.text  # the input is kept
    assert await stored_surveys(api, admin_token) == []

    saved = await api.post(
        "/surveys/new", content=_encode(builder_form(csrf_of(form.text))), headers=FORM
    )
    assert saved.status_code == 303
    await customers(api, workspace, write_keys["website"], "u-ania")
    refused = await api.post("/surveys/nps-repair/invitations", data={"refs": "u-ania"})
    assert refused.status_code == 403
    assert "The form expired" in text_of(refused.text)
    counts = await api.get("/api/surveys/nps-repair", headers=bearer(admin_token))
    assert counts.json()["invitations"]["sent"] == 0


async def test_an_unknown_survey_is_a_404_page(api: httpx.AsyncClient, admin_token: str) -> None:
    await sign_in(api, admin_token)
    csrf = csrf_of((await api.get("/surveys")).text)
    for response in (
        await api.get("/surveys/no-such-survey"),
        await api.get("/surveys/no-such-survey/edit"),
        await api.post("/surveys/no-such-survey/invitations", data={"csrf_token": csrf}),
        await api.post("/surveys/no-such-survey/edit", data={"csrf_token": csrf}),
    ):
        assert response.status_code == 404
        assert "There is no survey “no-such-survey”." in text_of(response.text)
        assert 'class="error-card card"' in response.text


async def test_results_show_intervals_gaps_and_the_funnel(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace
) -> None:
    await load_map(api, admin_token)
    first, second = default_journey_map().touchpoints[:2]
    survey = {"id": "nps-main", "name": "Main NPS", "kind": "nps", "languages": ["en", "pl"]}
    saved = await api.post("/api/surveys", json=survey, headers=bearer(admin_token))
    assert saved.status_code == 200, saved.text
    scores = [10] * 14 + [8] * 8 + [3] * 10  # 32 answers in January
    answer_many(workspace, "nps-main", [(JANUARY, s) for s in scores], touchpoint=first.id)
    answer_many(workspace, "nps-main", [(MARCH, 9)] * 3, touchpoint=second.id, language="pl")

    await sign_in(api, admin_token)
    page = await api.get("/surveys/nps-main")
    assert page.status_code == 200
    with workspace.session() as session:
        (overall,) = survey_metric(session, metric="nps", survey="nps-main")
    assert overall.n == 35 and overall.reportable
    assert overall.estimate is not None and overall.low is not None and overall.high is not None
    value = format_value("nps", overall.estimate, "en")
    low, high = (format_value("nps", x, "en") for x in (overall.low, overall.high))
    score = re.search(r'data-kpi="score">(.*?)</div>\s*</div>', page.text, re.S)
    assert score, "no score KPI"
    assert value in text_of(score.group(1)) and f"95% CI {low} to {high}" in text_of(score.group(1))

    # The trend: January has a value, February (no answers) and March (3) are gaps.
    trend = chart_of(page.text, "sv-trend-chart")
    months = trend["xAxis"]["data"]
    assert months[:3] == ["2026-01", "2026-02", "2026-03"]
    low, band, whiskers, line = trend["series"]
    estimate = line["data"]
    assert estimate[0] is not None and estimate[1] is None and estimate[2] is None
    assert low["data"][1] is None and band["data"][2] is None and whiskers["data"][1] == "-"
    assert (
        overall.low is not None and low["data"][0] < estimate[0] < low["data"][0] + band["data"][0]
    )
    rows = dict(re.findall(r'<tr data-month="([\d-]+)">(.*?)</tr>', page.text, re.S))
    assert "insufficient data: no responses" in text_of(rows["2026-02"])
    assert "insufficient data: 3 responses" in text_of(rows["2026-03"])
    assert "95% CI" in text_of(rows["2026-01"])

    # Breakdowns with names from the journey map; the small touchpoint has no value.
    by_tp = re.search(r'data-breakdown="touchpoint"(.*?)</section>', page.text, re.S)
    assert by_tp
    assert first.name in text_of(by_tp.group(1)) and second.name in text_of(by_tp.group(1))
    assert "insufficient data: 3 responses" in text_of(by_tp.group(1))
    by_lang = re.search(r'data-breakdown="language"(.*?)</section>', page.text, re.S)
    assert by_lang and "Polish" in by_lang.group(1)

    # The distribution: one bar per score 0–10, NPS classes coloured.
    dist = chart_of(page.text, "sv-dist-chart")
    assert [d["value"] for d in dist["series"][0]["data"]] == [0, 0, 0, 10, 0, 0, 0, 0, 8, 3, 14]
    assert re.search(r'<tr data-score="10"><td>10</td><td class="num">14</td></tr>', page.text)

    funnel = dict(re.findall(r'data-step="(\w+)">.*?data-count="(\d+)"', page.text, re.S))
    assert funnel == {
        "wanted": "35",
        "suppressed": "0",
        "delivered": "35",
        "answered": "35",
        "expired": "0",
        "waiting": "0",
    }

    listing = await api.get("/surveys")
    row = re.search(r'<tr data-survey="nps-main">(.*?)</tr>', listing.text, re.S)
    assert row and value in text_of(row.group(1)) and "100.0%" in text_of(row.group(1))


async def test_inviting_shows_each_outcome_and_the_answer_counts(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    await customers(api, workspace, write_keys["website"], "u-ania", "u-bartek")
    survey: dict[str, Any] = {"id": "nps-x", "name": "X", "kind": "nps", "languages": ["en", "pl"]}
    survey["questions"] = [{"id": "reason", "type": "text", "text": {"en": "Why?", "pl": "Czemu?"}}]
    assert (await api.post("/api/surveys", json=survey, headers=bearer(admin_token))).is_success
    await sign_in(api, admin_token)
    page = await api.get("/surveys/nps-x")
    assert "No comments yet." in page.text
    csrf = csrf_of(page.text)

    refs = "u-ania\n\nu-bartek, u-ania\nnobody@example.com"
    posted = await api.post(
        "/surveys/nps-x/invitations",
        data={"csrf_token": csrf, "refs": refs, "language": "pl", "case_ref": "C-7"},
    )
    assert posted.status_code == 200
    outcomes = re.findall(r'data-outcome="(\w+)" data-ref="([^"]+)"', posted.text)
    assert outcomes == [
        ("sent", "u-ania"),
        ("sent", "u-bartek"),
        ("rejected", "nobody@example.com"),
    ]
    assert "Sent: 2 · suppressed: 0 · rejected: 1" in text_of(posted.text)
    rejected = re.search(r'data-ref="nobody@example.com">(.*?)</tr>', posted.text, re.S)
    assert rejected and "nobody@example.com" in text_of(rejected.group(1))
    links = re.findall(r'href="(/s/[^"]+)" id="link-\d+" data-invite-link', posted.text)
    assert len(links) == 2
    assert f"http://cxm.test{links[0]}" in posted.text

    # The fatigue rule: invited again at once, each customer is suppressed with the reason.
    again = await api.post(
        "/surveys/nps-x/invitations", data={"csrf_token": csrf, "refs": "u-ania"}
    )
    assert re.search(r'data-outcome="suppressed" data-ref="u-ania"', again.text)
    assert "no customer is invited more than once per 30 days" in text_of(again.text)
    assert re.search(r'data-step="suppressed">.*?data-count="1"', again.text, re.S)
    empty = await api.post("/surveys/nps-x/invitations", data={"csrf_token": csrf, "refs": " "})
    assert empty.status_code == 400 and "Name at least one customer" in text_of(empty.text)

    answered = await api.post(links[0], content="score=9&reason=Szybko+i+sprawnie", headers=FORM)
    assert answered.status_code == 200
    results = await api.get("/surveys/nps-x")
    assert re.search(r'data-answered="1"', results.text)
    assert "insufficient data: 1 response" in text_of(results.text)
    verbatims = re.search(r'id="verbatims"(.*?)</section>', results.text, re.S)
    assert verbatims and "Szybko i sprawnie" in verbatims.group(1)
    assert workspace.profile("u-ania").id in verbatims.group(1)
    assert re.search(r'data-step="answered">.*?data-count="1"', results.text, re.S)


async def test_an_employee_survey_withholds_small_departments(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace
) -> None:
    await load_map(api, admin_token)
    big, small = (d.id for d in default_journey_map().departments[:2])
    survey = {"id": "enps-q1", "kind": "nps", "audience": "employee", "languages": ["pl"]}
    assert (await api.post("/api/surveys", json=survey, headers=bearer(admin_token))).is_success
    answer_many(workspace, "enps-q1", [(JANUARY, 9)] * 30, department=big, language="pl")
    answer_many(workspace, "enps-q1", [(JANUARY, 2)] * 4, department=small, language="pl")

    await sign_in(api, admin_token)
    page = await api.get("/surveys/enps-q1", headers={"Accept-Language": "pl"})
    assert page.status_code == 200
    by_dept = re.search(r'data-breakdown="department"(.*?)</section>', page.text, re.S)
    assert by_dept
    rows = dict(re.findall(r'<tr data-group="([^"]+)">(.*?)</tr>', by_dept.group(1), re.S))
    assert "95% PU" in text_of(rows[big])
    assert "data-withheld" in rows[small] and text_of(rows[small]).strip().endswith("ukryte")
    assert not re.search(r"\d", text_of(rows[small]).replace(small, "")), "a number leaked"
    assert "Komentarzy pracowników nie pokazujemy" in text_of(page.text)
    assert "eNPS" in text_of(page.text)

    # A department gets as many links as it asks for; a line that cannot be read stores nothing.
    csrf = csrf_of(page.text)
    posted = await api.post(
        "/surveys/enps-q1/invitations",
        data={"csrf_token": csrf, "refs": f"{small}: 3\nno-such-dept"},
    )
    assert posted.status_code == 200
    outcomes = re.findall(r'data-outcome="(\w+)" data-ref="([^"]+)"', posted.text)
    assert outcomes == [("sent", small)] * 3 + [("rejected", "no-such-dept")]
    assert "Departments, one per line" in text_of(posted.text)
    assert 'name="touchpoint"' not in posted.text
    bad = await api.post(
        "/surveys/enps-q1/invitations", data={"csrf_token": csrf, "refs": f"{big}: lots"}
    )
    assert bad.status_code == 400
    assert f"“{big}: lots”: write a department and how many links it needs" in text_of(bad.text)
    counts = await api.get("/api/surveys/enps-q1", headers=bearer(admin_token))
    assert counts.json()["invitations"]["sent"] == 3


def _encode(fields: list[tuple[str, str]]) -> bytes:
    return urlencode(fields).encode()

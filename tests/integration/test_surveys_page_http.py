"""The Surveys pages over HTTP, on SQLite and PostgreSQL: the list, a survey's results (intervals,
monthly gaps, breakdowns, withheld departments, the distribution, the funnel, comments), the
invitation form with one outcome per customer, and an unknown survey's 404 page.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cxm.journeys import default_journey_map, telecom_yaml
from cxm.metrics.catalogue import format_value
from cxm.metrics.surveys import survey_metric
from cxm.surveys import do_answer, do_invite
from cxm.workspace import Workspace
from helpers import basic, bearer, sign_in

pytestmark = pytest.mark.anyio

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JANUARY = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


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


def chart_of(page: str, css_class: str) -> dict[str, Any]:
    found = re.search(rf'class="chart {css_class}" data-chart=\'([^\']*)\'', page)
    assert found, f"no {css_class} chart"
    option: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return option


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
    for forged in ("", "forged"):
        refused = await api.post(
            "/surveys/nps-x/invitations", data={"csrf_token": forged, "refs": "u-bartek"}
        )
        assert refused.status_code == 403 and "The form expired" in text_of(refused.text)

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

"""Survey metrics through the API: NPS, CSAT, response rate and eNPS per group with their
intervals, the minimum sample, and period-over-period changes with Benjamini-Hochberg."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from cxm.journeys import telecom_yaml
from cxm.metrics import compare_nps, t_quantile
from cxm.surveys.tables import survey_responses
from cxm.workspace import Workspace
from helpers import basic, bearer

pytestmark = pytest.mark.anyio

YAML = {"Content-Type": "application/yaml"}
Z95 = 1.959963984540054
PROMOTER, PASSIVE, DETRACTOR = 10, 7, 2


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def setup(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, write_keys: dict[str, str]
) -> None:
    """The telecom journey map (its departments) and 85 customers u-0 … u-84."""
    await ok(
        await api.put(
            "/api/journey", content=telecom_yaml().encode(), headers={**bearer(admin_token), **YAML}
        )
    )
    batch = [
        {"type": "identify", "timestamp": "2026-06-01T10:00:00Z", "userId": f"u-{i}"}
        for i in range(85)
    ]
    response = await api.post(
        "/v1/batch", json={"batch": batch}, headers=basic(write_keys["website"])
    )
    assert response.status_code == 200 and not response.json()["rejected"], response.text
    workspace.catch_up()


async def save(api: httpx.AsyncClient, token: str, data: dict[str, Any]) -> None:
    await ok(await api.post("/api/surveys", json=data, headers=bearer(token)))


async def invite(
    api: httpx.AsyncClient, token: str, survey: str, **body: Any
) -> list[dict[str, Any]]:
    answer = await ok(
        await api.post(f"/api/surveys/{survey}/invitations", json=body, headers=bearer(token))
    )
    outcomes: list[dict[str, Any]] = answer["outcomes"]
    assert all(o["status"] == "sent" for o in outcomes), outcomes
    return outcomes


async def answer(api: httpx.AsyncClient, outcomes: list[dict[str, Any]], scores: list[int]) -> None:
    for outcome, score in zip(outcomes, scores, strict=False):
        url = f"/api/public/surveys/{outcome['token']}"
        await ok(await api.post(url, json={"answers": {"score": score}}), 201)


async def rows(
    api: httpx.AsyncClient, token: str, path: str, status: int = 200
) -> list[dict[str, Any]]:
    body = await ok(await api.get(path, headers=bearer(token)), status)
    found: list[dict[str, Any]] = body["rows"]
    return found


def shift(workspace: Workspace, *, after_id: int, to: datetime) -> int:
    """Place the answers stored after ``after_id`` at ``to``; returns the last id."""
    with workspace.session() as session:
        session.execute(
            update(survey_responses).where(survey_responses.c.id > after_id).values(answered_at=to)
        )
        last = session.execute(select(func.max(survey_responses.c.id))).scalar_one()
        session.commit()
    return int(last or 0)


def users(first: int, count: int) -> list[str]:
    return [f"u-{i}" for i in range(first, first + count)]


async def test_nps_by_touchpoint_matches_the_variance_formula(
    api: httpx.AsyncClient, admin_token: str, setup: None
) -> None:
    await save(api, admin_token, {"id": "nps-install", "kind": "nps", "languages": ["en"]})
    sent = await invite(
        api, admin_token, "nps-install", profiles=users(0, 40), touchpoint="installation"
    )
    await answer(api, sent, [PROMOTER] * 20 + [PASSIVE] * 12 + [DETRACTOR] * 8)
    few = await invite(
        api, admin_token, "nps-install", profiles=users(40, 5), touchpoint="web-checkout"
    )
    await answer(api, few, [PROMOTER] * 5)

    install, checkout = await rows(api, admin_token, "/api/metrics/nps?by=touchpoint")
    # 20 promoters, 12 passives, 8 detractors: NPS 100·(0.5 − 0.2) = 30,
    # variance 100²·(0.5 + 0.2 − 0.3²) = 6100, SE = sqrt(6100 / 40).
    half = Z95 * math.sqrt(6100 / 40)
    assert install["group"] == "installation" and install["n"] == 40 and install["reportable"]
    assert install["estimate"] == pytest.approx(30.0)
    assert install["low"] == pytest.approx(30 - half) and install["high"] == pytest.approx(
        30 + half
    )
    assert checkout == {
        "group": "web-checkout",
        "n": 5,
        "estimate": None,
        "low": None,
        "high": None,
        "reportable": False,
        "reason": "insufficient data: 5 responses, at least 30 needed",
    }
    (overall,) = await rows(api, admin_token, "/api/metrics/nps")
    assert overall["group"] is None and overall["n"] == 45
    assert overall["estimate"] == pytest.approx(100 * (25 - 8) / 45)


async def test_csat_mean_and_response_rate(
    api: httpx.AsyncClient, admin_token: str, setup: None
) -> None:
    await save(api, admin_token, {"id": "csat-calls", "kind": "csat", "languages": ["en"]})
    sent = await invite(api, admin_token, "csat-calls", profiles=users(45, 40))
    scores = [5] * 10 + [4] * 15 + [3] * 7 + [2] * 3
    await answer(api, sent, scores)  # 35 of the 40 answer

    (csat,) = await rows(api, admin_token, "/api/metrics/csat?survey=csat-calls")
    mean, s = statistics.mean(scores), statistics.stdev(scores)
    half = t_quantile(0.95, 34) * s / math.sqrt(35)
    assert csat["n"] == 35 and csat["estimate"] == pytest.approx(137 / 35)
    assert csat["low"] == pytest.approx(mean - half) and csat["high"] == pytest.approx(mean + half)
    (top,) = await rows(api, admin_token, "/api/metrics/csat_top_box")
    assert top["estimate"] == pytest.approx(25 / 35)

    (rate,) = await rows(api, admin_token, "/api/metrics/response_rate?by=survey")
    p, n = 35 / 40, 40
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    spread = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    assert rate["group"] == "csat-calls" and rate["n"] == 40
    assert rate["estimate"] == pytest.approx(0.875)
    assert rate["low"] == pytest.approx(centre - spread)
    assert rate["high"] == pytest.approx(centre + spread)

    catalogue = await ok(await api.get("/api/metrics", headers=bearer(admin_token)))
    ids = [m["id"] for m in catalogue["metrics"]]
    assert len(ids) == len(set(ids)) and {"nps", "enps", "csat", "response_rate"} <= set(ids)


async def test_enps_by_department_and_changes_that_survive_bh(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, setup: None
) -> None:
    enps = {"id": "enps", "kind": "nps", "audience": "employee", "languages": ["en"]}
    await save(api, admin_token, enps | {"anonymous": True})
    even = [PROMOTER] * 10 + [PASSIVE] * 10 + [DETRACTOR] * 10
    departments = ["hr", "it", "billing", "legal"]
    for department in departments:
        await answer(
            api, await invite(api, admin_token, "enps", departments=[department] * 30), even
        )
    last = shift(workspace, after_id=0, to=datetime(2026, 1, 15, 12, tzinfo=UTC))
    after = {
        "hr": [PROMOTER] * 30,  # a real change: 0 → 100
        # nominally significant on its own (p ≈ 0.03), but not after BH over four departments
        "it": [PROMOTER] * 18 + [PASSIVE] * 7 + [DETRACTOR] * 5,
        "billing": even,
        "legal": even,
        "sales": [PROMOTER] * 10,  # below the minimum group size
    }
    for department, scores in after.items():
        sent = await invite(api, admin_token, "enps", departments=[department] * len(scores))
        await answer(api, sent, scores)
    shift(workspace, after_id=last, to=datetime(2026, 2, 15, 12, tzinfo=UTC))

    feb = await rows(
        api, admin_token, "/api/metrics/enps?by=department&start=2026-02-01&end=2026-03-01"
    )
    by_department = {r["group"]: r for r in feb}
    assert by_department["hr"]["estimate"] == 100.0 and by_department["hr"]["reportable"]
    assert by_department["sales"]["n"] == 10 and by_department["sales"]["estimate"] is None
    assert "at least 30 needed" in by_department["sales"]["reason"]
    # Customers' NPS never reads employees' answers.
    assert all(r["n"] == 0 for r in await rows(api, admin_token, "/api/metrics/nps"))

    changes = await rows(
        api,
        admin_token,
        "/api/metrics/enps/change?by=department"
        "&a_start=2026-01-01&a_end=2026-02-01&b_start=2026-02-01&b_end=2026-03-01",
    )
    by_department = {r["group"]: r for r in changes}
    assert {k for k, r in by_department.items() if r["significant"]} == {"hr"}
    assert by_department["hr"]["difference"] == pytest.approx(100.0)
    it = by_department["it"]
    expected = compare_nps((10, 10, 10), (18, 7, 5))
    assert it["p_value"] == pytest.approx(expected.p_value) and it["p_value"] < 0.05
    assert it["adjusted_p"] == pytest.approx(expected.p_value * 4 / 2) and it["adjusted_p"] > 0.05
    assert by_department["billing"]["p_value"] == pytest.approx(1.0)
    sales = by_department["sales"]
    assert sales["difference"] is None and not sales["significant"]
    assert sales["reason"].startswith("period_a: insufficient data: no responses")


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/metrics/loyalty", "metric"),
        ("/api/metrics/nps?by=weekday", "by"),
        ("/api/metrics/nps?start=2026-02-01&end=2026-01-01", "start"),
        ("/api/metrics/nps?start=yesterday", "start"),
        ("/api/metrics/nps/change?a_end=2026-02-01&b_start=2026-02-01&b_end=2026-03-01", "a_start"),
        (
            "/api/metrics/nps/change?a_start=2026-02-01&a_end=2026-02-01"
            "&b_start=2026-02-01&b_end=2026-03-01",
            "a_start",
        ),
    ],
)
async def test_bad_parameters_are_named(
    api: httpx.AsyncClient, admin_token: str, path: str, parameter: str
) -> None:
    assert (await api.get(path)).status_code == 401
    body = await ok(await api.get(path, headers=bearer(admin_token)), 400)
    assert body["ok"] is False and body["message"].startswith(f"{parameter}")

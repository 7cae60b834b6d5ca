"""The lake metrics through the real REST API: the catalogue by dimension (JSON and CSV),
movers, the effort index and retention, against the small history of ``metrics_history``
whose answers are worked out by hand, and bad parameters answered 400 with the field named.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace
from helpers import bearer, journeys_for
from metrics_history import MAP, MARCH, OLA_EFFORT, write_history


@pytest.fixture
def history(workspace: Workspace) -> dict[str, str]:
    return write_history(workspace)


def cells(rows: list[dict[str, Any]], *keys: str) -> dict[Any, tuple[int, float | None]]:
    return {
        (r["metric"], *[r[k] for k in keys]) if keys else r["metric"]: (r["n"], r["estimate"])
        for r in rows
    }


@pytest.mark.anyio
async def test_catalogue_by_post_and_get_matches_the_hand_computed_answers(
    api: httpx.AsyncClient, admin_token: str, history: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    posted = await api.post("/api/metrics/catalogue", json=MARCH, headers=auth)
    assert posted.status_code == 200, posted.text
    body = posted.json()
    assert body["ok"] and body["lake_seq"] > 0
    assert body["query"]["repeat_days"] == 7 and body["query"]["by"] == []
    got = cells(body["rows"])
    assert got["repeat_contact_rate"] == (4, pytest.approx(2 / 4))  # 4 contacts, 2 repeats
    assert got["first_contact_resolution"] == (2, pytest.approx(1 / 2))  # piotr's
    assert got["channel_hopping"] == (2, pytest.approx(1 / 2))  # ola's
    assert got["handoffs_per_case"] == (2, pytest.approx(2 / 2))
    assert got["time_to_resolution"] == (2, pytest.approx((98 + 0) / 2))
    assert got["effort_index"] == (2, pytest.approx(OLA_EFFORT / 2))
    assert got["ces"] == (2, pytest.approx((2 + 6) / 2))
    assert got["ces_agree"] == (2, pytest.approx(1 / 2))
    assert got["self_service_share"] == (5, pytest.approx(1 / 5))  # piotr's help page
    row = next(r for r in body["rows"] if r["metric"] == "repeat_contact_rate")
    assert row["low"] < 0.5 < row["high"] and row["reportable"] and row["reason"] is None

    # The same query as GET parameters gives the same rows.
    fetched = await api.get("/api/metrics/catalogue", params=MARCH, headers=auth)
    assert fetched.status_code == 200 and fetched.json()["rows"] == body["rows"]

    # By touchpoint: a contact is its first event's touchpoint (the phone contact began in the
    # menu), a matter its first contact's, a CES answer its matter's.
    params = {**MARCH, "by": "touchpoint", "metrics": "repeat_contact_rate,ces_agree"}
    by_tp = await api.get("/api/metrics/catalogue", params=params, headers=auth)
    assert by_tp.status_code == 200, by_tp.text
    tp = cells(by_tp.json()["rows"], "touchpoint")
    assert tp["repeat_contact_rate", "branch-issue"] == (1, 0.0)
    assert tp["repeat_contact_rate", "ivr"] == (1, 1.0)
    assert tp["repeat_contact_rate", "visit"] == (1, 1.0)
    assert tp["repeat_contact_rate", "call"] == (1, 0.0)
    assert tp["ces_agree", "branch-issue"] == (1, 0.0)
    assert tp["ces_agree", "call"] == (1, 1.0)
    assert {r["metric"] for r in by_tp.json()["rows"]} == {"repeat_contact_rate", "ces_agree"}

    # The default minimum sample (30) keeps n and says why there is no value.
    strict = await api.get(
        "/api/metrics/catalogue", params={"metrics": "ces", "by": "month"}, headers=auth
    )
    (march,) = [r for r in strict.json()["rows"] if r["month"] == "2026-03"]
    assert march["n"] == 2 and march["estimate"] is None and not march["reportable"]
    assert "insufficient data" in march["reason"]


@pytest.mark.anyio
async def test_catalogue_as_csv(
    api: httpx.AsyncClient, admin_token: str, history: dict[str, str]
) -> None:
    params = {**MARCH, "by": ["channel", "month"], "metrics": ["channel_hopping"], "format": "csv"}
    response = await api.get("/api/metrics/catalogue", params=params, headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="cxm-metrics-channel-month.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "metric", "channel", "month", "n", "estimate", "low", "high", "reportable", "reason",
    ]  # fmt: skip
    # Matters by their first contact's channel: ola's began at the branch, piotr's by phone.
    by_channel = {r["channel"]: (r["n"], r["estimate"]) for r in rows}
    assert by_channel == {"branch": ("1", "1.0"), "phone": ("1", "0.0")}


@pytest.mark.anyio
async def test_effort_ranks_the_broken_journey_first(
    api: httpx.AsyncClient, admin_token: str, history: dict[str, str]
) -> None:
    params = {"start": "2026-03-01", "end": "2026-04-01", "min_sample": 1, "top": 1}
    response = await api.get("/api/metrics/effort", params=params, headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customers_total"] == 2
    (first,) = body["customers"]
    assert first["customer_id"] == history["ola"]  # a profile id, to open at /customers/{id}
    assert first["effort"] == pytest.approx(OLA_EFFORT)
    assert (first["rank"], first["matters"], first["contacts"]) == (1, 1, 3)
    assert (first["channel_hops"], first["handoffs"]) == (2, 2)
    # Two CES answers about matters: too few pairs for a rank correlation, said as null.
    assert body["validation"]["matter_ces_n"] == 2
    assert body["validation"]["matter_ces_spearman"] is None
    assert "Spearman" in body["summary"]
    worst = body["touchpoints"][0]
    assert worst["touchpoint"] == "branch-issue" and worst["effort"] == pytest.approx(OLA_EFFORT)
    assert [t["touchpoint"] for t in body["touchpoints"]] == ["branch-issue", "call"]


@pytest.mark.anyio
async def test_movers_and_retention(
    api: httpx.AsyncClient, admin_token: str, history: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    # Default periods: the last whole month (March) against February, which has no data.
    default = await api.get("/api/metrics/movers", params={"by": "touchpoint"}, headers=auth)
    assert default.status_code == 200, default.text
    assert default.json()["compared"] == 0 and default.json()["rows"] == []
    # Two halves of March with a minimum of one: compared, but nothing survives BH on n = 1.
    params = {
        "a_start": "2026-03-01", "a_end": "2026-03-08", "b_start": "2026-03-08",
        "b_end": "2026-04-01", "min_sample": 1, "metrics": "repeat_contact_rate",
    }  # fmt: skip
    halves = await api.get("/api/metrics/movers", params=params, headers=auth)
    assert halves.status_code == 200, halves.text
    body = halves.json()
    assert body["a_period"] == "2026-03-01..2026-03-08" and body["moved"] == 0
    (row,) = body["rows"]
    assert (row["metric"], row["group"], row["a_n"], row["b_n"]) == (
        "repeat_contact_rate", None, 3, 1,
    )  # fmt: skip
    assert row["a"] == pytest.approx(2 / 3) and row["b"] == 0.0 and row["moved"] is False

    retention = await api.get("/api/metrics/retention", headers=auth)
    assert retention.status_code == 200, retention.text
    rows = {(r["cohort"], r["months_since"]): r for r in retention.json()["rows"]}
    assert rows["2026-03", 0]["customers"] == 2
    assert rows["2026-03", 1]["customers"] == 1 and rows["2026-03", 1]["retention"] == 0.5
    assert rows["2026-03", 1]["low"] < 0.5 < rows["2026-03", 1]["high"]


BAD = [
    ("/api/metrics/catalogue", {"by": "colour"}, "by", "unknown dimension 'colour'"),
    ("/api/metrics/catalogue", {"by": "touchpoint,touchpoint"}, "by", "repeated"),
    ("/api/metrics/catalogue", {"metrics": "happiness"}, "metrics", "no lake metric"),
    ("/api/metrics/catalogue", {"metrics": "enps"}, "metrics", "GET /api/metrics/enps"),
    ("/api/metrics/catalogue", {"metrics": "retention"}, "metrics", "/api/metrics/retention"),
    (
        "/api/metrics/catalogue",
        {"start": "2026-04-01", "end": "2026-03-01"},
        "start",
        "must be before end",
    ),
    ("/api/metrics/catalogue", {"start": "March"}, "start", "date"),
    ("/api/metrics/catalogue", {"min_sample": "0"}, "min_sample", "greater than"),
    ("/api/metrics/catalogue", {"format": "xml"}, "format", "json or csv"),
    ("/api/metrics/movers", {"by": "colour"}, "by", "unknown dimension"),
    ("/api/metrics/movers", {"a_start": "2026-03-01"}, "", "all of a_start"),
    ("/api/metrics/movers", {"metrics": "response_rate"}, "metrics", "survey's own answers"),
    (
        "/api/metrics/movers",
        {
            "a_start": "2026-03-08",
            "a_end": "2026-03-01",
            "b_start": "2026-03-08",
            "b_end": "2026-04-01",
        },
        "a_start",
        "not before",
    ),  # fmt: skip
    ("/api/metrics/effort", {"top": "-1"}, "top", "greater than"),
    ("/api/metrics/effort", {"start": "2026-04-01", "end": "2026-04-01"}, "start", "before"),
    ("/api/metrics/retention", {"confidence": "2"}, "confidence", "less than"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "params", "field", "says"), BAD)
async def test_bad_parameters_are_400_naming_the_field(
    api: httpx.AsyncClient,
    admin_token: str,
    history: dict[str, str],
    path: str,
    params: dict[str, str],
    field: str,
    says: str,
) -> None:
    response = await api.get(path, params=params, headers=bearer(admin_token))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["ok"] is False and body["code"] == "invalid_input"
    assert says in body["message"]
    if field:
        assert body["message"].startswith(field) or f"{field}:" in body["message"]
        assert any(e["loc"][-1] == field or field in e["loc"] for e in body["errors"]), body


@pytest.mark.anyio
async def test_bad_bodies_and_survey_endpoints_pointing_to_the_catalogue(
    api: httpx.AsyncClient, admin_token: str, history: dict[str, str]
) -> None:
    auth = bearer(admin_token)
    unknown = await api.post("/api/metrics/catalogue", json={"by": ["colour"]}, headers=auth)
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["loc"][:2] == ["body", "by"]
    store = await api.post("/api/metrics/catalogue", json={"metrics": ["enps"]}, headers=auth)
    assert store.status_code == 400 and store.json()["errors"][0]["loc"] == ["body", "metrics"]
    period = await api.post(
        "/api/metrics/catalogue", json={"start": "2026-04-01", "end": "2026-03-01"}, headers=auth
    )
    assert period.status_code == 400 and "start (2026-04-01)" in period.json()["message"]

    behaviour = await api.get("/api/metrics/effort_index", headers=auth)
    assert behaviour.status_code == 400
    assert "GET /api/metrics/catalogue?metrics=effort_index" in behaviour.json()["message"]
    assert behaviour.json()["errors"][0]["loc"] == ["path", "metric"]
    change = await api.get("/api/metrics/retention/change", headers=auth)
    assert change.status_code == 400 and "/api/metrics/retention" in change.json()["message"]
    # Survey metrics keep their own endpoint; the catalogue lists where each metric is served.
    survey = await api.get("/api/metrics/nps", headers=auth)
    assert survey.status_code == 200 and survey.json()["metric"] == "nps"
    listed = {m["id"]: m for m in (await api.get("/api/metrics", headers=auth)).json()["metrics"]}
    assert listed["enps"]["engine"] == "store" and listed["enps"]["endpoint"] == "/api/metrics/enps"
    assert listed["churn_rate"]["statistic"] == "proportion"
    assert listed["churn_rate"]["endpoint"] == "/api/metrics/catalogue?metrics=churn_rate"


@pytest.mark.anyio
async def test_reads_need_a_token_and_a_map(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace
) -> None:
    anonymous = await api.get("/api/metrics/catalogue")
    assert anonymous.status_code == 401
    # No journey map yet: the lake metrics say how to load one; retention needs none.
    missing = await api.get("/api/metrics/catalogue", headers=bearer(admin_token))
    assert missing.status_code == 404 and "no journey map yet" in missing.json()["message"]
    for path in ("/api/metrics/movers", "/api/metrics/effort"):
        assert (await api.get(path, headers=bearer(admin_token))).status_code == 404
    empty = await api.get("/api/metrics/retention", headers=bearer(admin_token))
    assert empty.status_code == 200 and empty.json()["rows"] == []


@pytest.mark.anyio
async def test_a_map_over_an_empty_lake_answers_empty(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace
) -> None:
    with workspace.session() as session:
        do_save_journey_map(session=session, source=MAP, actor="test", filename="telecom.yaml")
    auth = bearer(admin_token)
    rows = await api.get("/api/metrics/catalogue", params={"by": "month"}, headers=auth)
    assert rows.status_code == 200, rows.text
    assert rows.json()["lake_seq"] == 0
    movers = await api.get("/api/metrics/movers", headers=auth)
    assert movers.status_code == 200 and movers.json()["rows"] == []
    effort = await api.get("/api/metrics/effort", headers=auth)
    assert effort.status_code == 200 and effort.json()["customers"] == []


@pytest.mark.anyio
async def test_by_segment_and_by_trait(
    api: httpx.AsyncClient, admin_token: str, history: dict[str, str], workspace: Workspace
) -> None:
    from cxm.segments.service import do_save_segment

    journeys_for(
        workspace,
        {"ola": [{"type": "identify", "at": "2026-03-01T09:00:00Z", "traits": {"tier": "gold"}}]},
        source="crm",
    )
    with workspace.session() as session:
        do_save_segment(
            session=session, actor="test", data={"name": "gold", "traits": {"tier": "gold"}}
        )
    auth = bearer(admin_token)
    params = {**MARCH, "metrics": "repeat_contact_rate"}
    segment = await api.get(
        "/api/metrics/catalogue", params={**params, "by": "segment:gold"}, headers=auth
    )
    assert segment.status_code == 200, segment.text
    assert cells(segment.json()["rows"], "segment") == {
        ("repeat_contact_rate", "in"): (3, pytest.approx(2 / 3)),  # ola's three contacts
        ("repeat_contact_rate", "out"): (1, 0.0),  # piotr's call
    }
    trait = await api.post(
        "/api/metrics/catalogue",
        json={**MARCH, "metrics": ["repeat_contact_rate"], "by": ["trait:tier"]},
        headers=auth,
    )
    assert trait.status_code == 200, trait.text
    assert set(cells(trait.json()["rows"], "trait")) == {
        ("repeat_contact_rate", "gold"), ("repeat_contact_rate", "(none)"),
    }  # fmt: skip
    movers = await api.get("/api/metrics/movers", params={"by": "segment:gold"}, headers=auth)
    assert movers.status_code == 200 and movers.json()["by"] == "segment:gold"
    missing = await api.get(
        "/api/metrics/catalogue", params={**params, "by": "segment:nobody"}, headers=auth
    )
    assert missing.status_code == 404 and "nobody" in missing.json()["message"]

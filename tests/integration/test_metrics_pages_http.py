"""The overview's CX panel and the Metrics page over HTTP: tiles with intervals and arrows only
for movers that survive Benjamini-Hochberg, the movers and effort cards, the catalogue table by
dimension with its CSV, hints for a workspace without a map or events, clear messages (never a
500) for parameters the page cannot use, and answers cached until the lake changes.

The history: forty customers. In February each reports an issue at a branch and calls the next
day (a matter of two contacts: a repeat, a channel hop, a handoff). In March each calls once;
half call again the next day and answer CES 3, the others answer CES 6 or 7. One reads a help
page in April, so March is the last whole month.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest

from cxm.api import metric_reads
from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace
from helpers import bearer, journeys_for, sign_in
from metrics_history import MAP

pytestmark = pytest.mark.anyio

HX = {"HX-Request": "true"}
CUSTOMERS = 40


def at(month: int, day: int, hour: int = 10) -> str:
    return f"2026-{month:02d}-{day:02d}T{hour:02d}:00:00Z"


def people() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for i in range(CUSTOMERS):
        day = 2 + i % 20
        hard = i % 2 == 0
        steps: list[dict[str, Any]] = [
            {"event": "Issue Reported", "at": at(2, day), "channel": "branch"},
            {"event": "Call Handled", "at": at(2, day + 1), "channel": "phone"},
            {"event": "Call Handled", "at": at(3, day), "channel": "phone"},
        ]
        if hard:
            steps.append({"event": "Call Handled", "at": at(3, day + 1), "channel": "phone"})
        score = 3 if hard else 6 + (i // 2) % 2
        steps.append(
            {
                "event": "Survey Answered",
                "at": at(3, day + 1, 15),
                "channel": "survey",
                "properties": {"kind": "ces", "score": score},
            }
        )
        out[f"c{i:02d}"] = steps
    out["c00"].append({"type": "page", "event": "Help", "at": at(4, 2), "channel": "web"})
    return out


def save_map(workspace: Workspace) -> None:
    with workspace.session() as session:
        do_save_journey_map(session=session, source=MAP, actor="test", filename="telecom.yaml")


def tile(panel: str, metric: str) -> str:
    found = re.search(rf'<article class="card cx-tile" data-metric="{metric}">(.*?)</article>',
                      panel, re.S)  # fmt: skip
    assert found, metric
    return found.group(1)


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


async def test_the_pages_need_a_session(api: httpx.AsyncClient, workspace: Workspace) -> None:
    workspace.initialise()
    for path in ("/metrics", "/overview/metrics", "/metrics/catalogue.csv"):
        response = await api.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_without_a_map_or_events_the_pages_say_so(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace
) -> None:
    await sign_in(api, admin_token)
    overview = await api.get("/overview")
    assert overview.status_code == 200
    assert 'hx-get="/overview/metrics"' in overview.text and 'hx-trigger="load"' in overview.text
    panel = await api.get("/overview/metrics", headers=HX)
    assert panel.status_code == 200 and 'data-state="no_map"' in panel.text
    assert "No journey map yet" in panel.text and "cxm journey load FILE" in panel.text
    page = await api.get("/metrics")
    assert page.status_code == 200 and "No journey map yet" in page.text
    assert "No events in the lake yet" in page.text  # retention needs no map, only events
    csv_file = await api.get("/metrics/catalogue.csv")
    assert csv_file.status_code == 404

    save_map(workspace)
    panel = await api.get("/overview/metrics", headers=HX)
    assert panel.status_code == 200 and 'data-state="empty"' in panel.text
    assert "No events in the lake yet" in panel.text
    page = await api.get("/metrics")
    assert page.status_code == 200 and 'id="mx-table"' in page.text


@pytest.fixture
def history(workspace: Workspace) -> dict[str, str]:
    save_map(workspace)
    return journeys_for(workspace, people())


async def test_overview_tiles_movers_and_effort(
    api: httpx.AsyncClient, admin_token: str, history: dict[str, str]
) -> None:
    await sign_in(api, admin_token)
    response = await api.get("/overview/metrics", headers=HX)
    assert response.status_code == 200, response.text
    panel = response.text
    assert 'data-state="ready"' in panel and "2026-03, the last whole month" in panel
    assert panel.count('class="card cx-tile"') == 9

    # Half the March matters took one contact (n = 40), against none in February: moved, up.
    fcr = tile(panel, "first_contact_resolution")
    assert "50.0%" in fcr and "95% CI 35.2% to 64.8%" in fcr and "n = 40" in fcr
    assert 'data-moved="up"' in fcr and "is-better" in fcr
    hopping = tile(panel, "channel_hopping")
    assert "0.0%" in hopping and 'data-moved="down"' in hopping and "is-better" in hopping
    ces = tile(panel, "ces")
    assert "4.75" in ces and "data-moved" not in ces  # no answers in February: no comparison
    assert '"connectNulls": false' in ces  # its trend: February is a gap, not a point
    nps = tile(panel, "nps")
    assert "no data" in nps and "data-moved" not in nps and "data-chart" not in nps

    movers = text(panel.split('id="cx-movers"')[1].split('id="cx-effort"')[0])
    assert "2026-02 → 2026-03" in movers
    assert "Repeat contacts · Call" in movers and "-66.7 pp" in movers
    assert "100.0% → 33.3%" in movers
    assert "survived the false-discovery control" in movers

    effort = panel.split('id="cx-effort"')[1]
    names = re.findall(r'data-touchpoint="([^"]+)"', effort)
    assert names == ["branch-issue", "call"]  # worst first
    assert "Spearman ρ = -0." in text(effort)


async def test_the_panel_is_computed_once_per_lake_generation(
    api: httpx.AsyncClient,
    admin_token: str,
    history: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    workspace: Workspace,
) -> None:
    calls: list[str] = []
    for name in ("run_movers", "effort_validation", "run_retention"):
        real = getattr(metric_reads, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(metric_reads, name, counted)
    await sign_in(api, admin_token)
    for _ in range(2):
        assert (await api.get("/overview/metrics", headers=HX)).status_code == 200
        assert (await api.get("/metrics")).status_code == 200
    assert sorted(calls) == ["effort_validation", "run_movers", "run_movers", "run_retention"]
    # New events make a new lake generation: the next request computes again.
    journeys_for(
        workspace, {"late": [{"event": "Call Handled", "at": at(4, 3), "channel": "phone"}]}
    )
    assert (await api.get("/overview/metrics", headers=HX)).status_code == 200
    assert calls.count("run_movers") == 4


async def test_metrics_table_by_dimension_and_its_csv(
    api: httpx.AsyncClient, admin_token: str, history: dict[str, str]
) -> None:
    await sign_in(api, admin_token)
    page = await api.get("/metrics")
    assert page.status_code == 200
    assert 'data-by="month"' in page.text and 'aria-current="page"' in page.text
    heads = re.findall(r'<th scope="col" data-group="([^"]+)"', page.text)
    assert heads == ["2026-02", "2026-03", "2026-04"]
    assert 'class="chart mx-heatmap"' in page.text and '"type": "heatmap"' in page.text

    fragment = await api.get("/metrics", params={"by": "touchpoint"}, headers=HX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith("<section") and "<html" not in fragment.text
    heads = re.findall(r'<th scope="col" data-group="([^"]+)">([^<]+)<', fragment.text)
    assert heads[:2] == [("branch-issue", "Issue at a branch"), ("call", "Call")]
    row = fragment.text.split('<tr data-metric="repeat_contact_rate">')[1].split("</tr>")[0]
    cells = [text(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert cells[0].startswith("0.0%") and "n = 40" in cells[0]  # the branch: first contacts
    # Calls: 100 contacts, repeats all 40 in February and 20 of the 60 in March.
    assert cells[1].startswith("60.0%") and "n = 100" in cells[1]

    href = re.search(r'href="(/metrics/catalogue\.csv\?[^"]+)"', fragment.text)
    assert href and "by=touchpoint" in href.group(1)
    download = await api.get(href.group(1).replace("&amp;", "&"))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    api_rows = await api.get(
        "/api/metrics/catalogue", params={"by": "touchpoint"}, headers=bearer(admin_token)
    )
    expected = api_rows.json()["rows"]
    assert len(rows) == len(expected)
    assert {(r["metric"], r["touchpoint"], int(r["n"])) for r in rows} == {
        (r["metric"], r["touchpoint"], r["n"]) for r in expected
    }

    period = await api.get("/metrics", params={"by": "stage", "start": "2026-03-01",
                                               "end": "2026-04-01"})  # fmt: skip
    assert period.status_code == 200 and 'data-by="stage"' in period.text
    assert 'value="2026-03-01"' in period.text and ">Support<" in period.text


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"by": "colour"}, "Cannot group by “colour”"),
        ({"start": "March"}, "“March” is not a date"),
        ({"start": "2026-04-01", "end": "2026-03-01"}, "The period is empty"),
    ],
)
async def test_bad_choices_are_explained_not_500(
    api: httpx.AsyncClient,
    admin_token: str,
    history: dict[str, str],
    params: dict[str, str],
    says: str,
) -> None:
    await sign_in(api, admin_token)
    page = await api.get("/metrics", params=params)
    assert page.status_code == 400 and says in page.text and 'role="alert"' in page.text
    fragment = await api.get("/metrics", params=params, headers=HX)
    assert fragment.status_code == 400 and says in fragment.text
    download = await api.get("/metrics/catalogue.csv", params=params)
    assert download.status_code == 400 and says in download.text

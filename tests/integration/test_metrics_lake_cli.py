"""``cxm metrics catalogue|movers|effort|retention`` over the hand-computed history of
``metrics_history``: tables, CSV and JSON lines, and bad options named in the error."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from cxm.cli.app import app as cli
from cxm.errors import InvalidInput
from cxm.workspace import Workspace
from metrics_history import OLA_EFFORT, write_history

WIDE = {"COLUMNS": "240"}


@pytest.fixture
def runner(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CXM_WORKSPACE", str(workspace.path))
    monkeypatch.setenv("CXM_DATABASE_URL", workspace.settings.resolved_database_url)
    return CliRunner()


def test_catalogue_as_a_table_and_as_csv(runner: CliRunner, workspace: Workspace) -> None:
    write_history(workspace)
    march = ["--start", "2026-03-01", "--end", "2026-04-01", "--min-sample", "1"]
    table = runner.invoke(
        cli, ["metrics", "catalogue", *march, "--metric", "channel_hopping", "--metric", "ces"],
        env=WIDE,
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    lines = {line.split("│")[1].strip(): line for line in table.output.splitlines() if "│" in line}
    assert "50.0%" in lines["channel_hopping"]  # one matter of two hopped
    assert "4.00" in lines["ces"]  # (2 + 6) / 2
    assert set(lines) == {"channel_hopping", "ces"}

    exported = runner.invoke(
        cli, ["metrics", "catalogue", *march, "--by", "touchpoint", "--metric",
              "repeat_contact_rate", "--format", "csv", "--no-sync"],
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    rows = {r["touchpoint"]: r for r in csv.DictReader(io.StringIO(exported.output))}
    assert {k: (r["n"], r["estimate"]) for k, r in rows.items()} == {
        "branch-issue": ("1", "0.0"), "call": ("1", "0.0"), "ivr": ("1", "1.0"),
        "visit": ("1", "1.0"),
    }  # fmt: skip

    strict = runner.invoke(cli, ["metrics", "catalogue", "--metric", "ces"], env=WIDE)
    assert strict.exit_code == 0 and "insufficient data" in strict.output and "—" in strict.output


def test_movers_effort_and_retention(runner: CliRunner, workspace: Workspace) -> None:
    profiles = write_history(workspace)
    movers = runner.invoke(cli, ["metrics", "movers", "--by", "touchpoint"], env=WIDE)
    assert movers.exit_code == 0, movers.output
    assert "nothing to compare" in movers.output  # February, before March, has no data

    effort = runner.invoke(
        cli, ["metrics", "effort", "--top", "1", "--format", "json", "--no-sync"]
    )
    assert effort.exit_code == 0, effort.output
    (first,) = [json.loads(line) for line in effort.output.splitlines()]
    assert first["customer_id"] == profiles["ola"]
    assert first["effort"] == pytest.approx(OLA_EFFORT)
    table = runner.invoke(cli, ["metrics", "effort", "--top", "2", "--no-sync"], env=WIDE)
    assert table.exit_code == 0, table.output
    assert "Spearman" in table.output and profiles["piotr"] in table.output
    assert "branch-issue" in table.output and "too few matters" in table.output

    retention = runner.invoke(cli, ["metrics", "retention", "--no-sync"], env=WIDE)
    assert retention.exit_code == 0, retention.output
    (march,) = [line for line in retention.output.splitlines() if "2026-03" in line]
    assert "50.0" in march  # one of the two March customers is back in April


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["catalogue", "--by", "colour"], "by: unknown dimension 'colour'"),
        (["catalogue", "--metric", "enps"], "GET /api/metrics/enps"),
        (["catalogue", "--start", "2026-04-01", "--end", "2026-03-01"], "start (2026-04-01)"),
        (["catalogue", "--start", "April"], "start: 'April' is not a day"),
        (["catalogue", "--format", "xml"], "--format 'xml'"),
        (["movers", "--by", "colour"], "by: unknown dimension"),
        (["effort", "--end", "2026-01-01", "--start", "2026-02-01"], "must be before end"),
    ],
)
def test_bad_options_name_the_option(
    runner: CliRunner, workspace: Workspace, args: list[str], says: str
) -> None:
    write_history(workspace)
    result = runner.invoke(cli, ["metrics", *args, "--no-sync"])
    assert isinstance(result.exception, InvalidInput), result.output
    assert says in str(result.exception)

"""``cxm metrics`` at the command line: the catalogue, a metric with its interval, bad input."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cxm.cli.app import app as cli
from cxm.errors import InvalidInput
from cxm.workspace import Workspace


def test_the_catalogue_and_a_metric_without_answers(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXM_WORKSPACE", str(workspace.path))
    monkeypatch.setenv("CXM_DATABASE_URL", workspace.settings.resolved_database_url)
    runner = CliRunner()
    listed = runner.invoke(cli, ["metrics", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    for metric in ("nps", "enps", "csat", "ces", "response_rate"):
        assert f" {metric} " in listed.output
    shown = runner.invoke(cli, ["metrics", "show", "nps"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "insufficient data: no responses" in shown.output and "—" in shown.output
    unknown = runner.invoke(cli, ["metrics", "show", "happiness"])
    assert isinstance(unknown.exception, InvalidInput)
    assert "no survey metric 'happiness'" in str(unknown.exception)
    bad_day = runner.invoke(cli, ["metrics", "show", "nps", "--start", "May"])
    assert isinstance(bad_day.exception, InvalidInput) and "start" in str(bad_day.exception)

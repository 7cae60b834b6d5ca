"""A churn model is refused, with what is needed, when the workspace's history is too short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cxm.errors import InvalidInput
from cxm.insights.churn_data import train_workspace_model
from cxm.journeys.map import telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace
from helpers import journeys_for


def test_a_month_of_history_is_not_enough(workspace: Workspace) -> None:
    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test",
                            filename="telecom.yaml")  # fmt: skip
    now = datetime.now(UTC)
    journeys_for(workspace, {
        f"c{i}": [{"event": "Page Viewed", "channel": "web",
                   "at": (now - timedelta(days=i % 30)).isoformat()}]
        for i in range(50)
    })  # fmt: skip
    with pytest.raises(InvalidInput, match="needs at least 150 days"):
        train_workspace_model(workspace.query_engine(), workspace.journey_map(), now=now)

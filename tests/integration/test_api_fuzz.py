"""cxm's own OpenAPI spec, fuzzed in-process (loopback only) with Schemathesis: every
documented operation, with an admin token, a bounded number of generated requests each. No
answer may be a server error, and every answer must match the spec (its status code is one the
operation documents, its content type and body the documented ones). Not checked: that every
request the spec allows is accepted. cxm checks more than a schema can say (a channel's name,
a journey map's rules, a segment's conditions) and answers 400 with where and why. SQLite,
the embedded default; each operation's generated requests are derandomised, so a failure
repeats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from cxm.api.app import create_app
from cxm.config import Settings
from cxm.journeys.map import telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace

EXAMPLES = 25


def _fuzz(operation: Any, token: str) -> str | None:
    """Run one operation's examples; the first failure's text, or None."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                               excluded_checks=[positive_data_acceptance])  # fmt: skip

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # every failure, with its operation
        return f"{operation.label}: {str(exc)[:1500]}"
    return None


def test_no_server_errors_and_answers_match_the_spec(tmp_path: Path) -> None:
    workspace = Workspace.open(settings=Settings(workspace=tmp_path))
    token = workspace.initialise()
    assert token is not None
    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test",
                            filename="telecom.yaml")  # fmt: skip
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(workspace))
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        failure = _fuzz(operation, token)
        if failure:
            failures.append(failure)
    workspace.close()
    assert operations > 60
    assert failures == [], f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)

"""No action is lost when the worker is killed mid-action: a real ``cxm worker`` process is
killed (SIGKILL) while the webhook it calls is still answering; a second worker runs the
action again once the first one's lease has run out, with the same idempotency key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cxm.automation import do_save_rule
from cxm.automation.tables import automation_jobs
from cxm.config import Settings
from cxm.workspace import Workspace
from helpers import journeys_for
from receivers import HttpSink


@pytest.fixture
def hook() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    yield sink
    sink.stop()


def start_worker(path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CXM_WORKSPACE": str(path), "CXM_AUTOMATION_INTERVAL_S": "0.2",
           "CXM_AUTOMATION_LEASE_S": "3", "CXM_PROJECTOR_INTERVAL_S": "0.2",
           "CXM_TEXT_ENRICH_INTERVAL_S": "3600", "CXM_CASES_INTERVAL_S": "3600",
           "CXM_LAKE_SYNC_INTERVAL_S": "3600", "CXM_MATCH_INTERVAL_S": "3600"}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "cxm", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_a_killed_worker_loses_no_action(tmp_path: Path, hook: HttpSink) -> None:
    with Workspace.open(settings=Settings(workspace=tmp_path)) as ws:
        ws.initialise()
        with ws.session() as s:
            do_save_rule(session=s, actor="test", data={
                "name": "tell-crm", "trigger": {"event": "Complaint Submitted"},
                "actions": [{"webhook": {"url": hook.url + "/crm"}}]})  # fmt: skip
        hook.delays = [30.0]  # the first call hangs: the worker is killed meanwhile
        journeys_for(ws, {"ania": [{"event": "Complaint Submitted", "channel": "web",
                                    "at": datetime.now(UTC).isoformat()}]})  # fmt: skip
        first = start_worker(tmp_path)
        try:
            wait_for(lambda: len(hook.received) == 1, timeout=60)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        with ws.session() as s:
            (job,) = s.execute(select(automation_jobs)).all()
        assert job.status == "running"  # claimed, never finished
        second = start_worker(tmp_path)
        try:
            wait_for(lambda: len(hook.received) == 2, timeout=60)

            def done() -> bool:
                with ws.session() as s:
                    return s.execute(select(automation_jobs.c.status)).scalar_one() == "done"

            wait_for(done, timeout=30)
        finally:
            second.terminate()
            second.wait(timeout=20)
    keys = {r.headers["idempotency-key"] for r in hook.received}
    assert len(keys) == 1  # the receiver can tell it is the same action

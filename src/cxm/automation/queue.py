"""The automation queue (Huey): new jobs are announced on it so a worker delivers them at once;
the jobs themselves live in the store, so the queue can be lost without losing an action (the
worker's sweep finds every due job in the store as well).

Storage is a SQLite file in the workspace (``automation-queue.db``) by default, or Redis when
``CXM_REDIS_URL`` is set, so several workers on several machines share one queue. The worker
drains it in its own loop (``drain``), which keeps one process, one thread, and the same
signal handling as the rest of the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey

QUEUE_NAME = "cxm-automation"


def make_queue(*, workspace: Path, redis_url: str | None, deliver: Callable[[int], Any]) -> Huey:
    """A Huey whose one task, ``deliver(job_id)``, runs the job (``deliver`` does the work)."""
    if redis_url:
        huey: Huey = RedisHuey(QUEUE_NAME, url=redis_url, results=False)
    else:
        workspace.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(QUEUE_NAME, filename=str(workspace / "automation-queue.db"),
                          results=False)  # fmt: skip

    @huey.task(name="deliver")
    def deliver_task(job_id: int) -> None:
        deliver(job_id)

    huey.deliver = deliver_task
    return huey


def announce(huey: Huey, job_ids: list[int]) -> None:
    for job_id in job_ids:
        huey.deliver(job_id)


def drain(huey: Huey, *, limit: int = 500) -> int:
    """Run the queued deliveries (at most ``limit``); returns how many ran."""
    ran = 0
    while ran < limit:
        task = huey.dequeue()
        if task is None:
            break
        huey.execute(task)
        ran += 1
    return ran

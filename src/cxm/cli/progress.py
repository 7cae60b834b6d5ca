"""A rich progress bar that domain code drives through a plain callback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressBar:
    """``bar.stage("Ingesting", total)`` then ``bar.advance(n)``; stages follow each other."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def stage(self, description: str, total: int | None) -> None:
        self._finish()
        self._task = self._progress.add_task(description, total=total)

    def _finish(self) -> None:
        if self._task is None:
            return
        task = next(t for t in self._progress.tasks if t.id == self._task)
        done = max(int(task.completed), 1)
        self._progress.update(self._task, total=done, completed=done)
        self._progress.stop_task(self._task)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)


@contextmanager
def progress_bar() -> Iterator[ProgressBar]:
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ) as progress:
        bar = ProgressBar(progress)
        yield bar
        bar._finish()

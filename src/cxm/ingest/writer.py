"""Group commit: many concurrent requests, one transaction, one fsync.

Request handlers hand their rows to :class:`GroupCommitWriter` and await the commit; a single
writer thread drains everything queued, writes it in one transaction and then resolves every
waiter. An acknowledgement therefore always follows a durable commit, while the cost of the
commit (the fsync) is shared by every request in the group.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from cxm.errors import Overloaded, StoreUnavailable
from cxm.ingest.log import append_events
from cxm.store.engine import write_turn

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    rows: list[dict[str, Any]]
    future: asyncio.Future[int]
    loop: asyncio.AbstractEventLoop


class GroupCommitWriter:
    """Writer threads that commit queued rows in groups. Start them, then ``await write()``."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_pending_events: int,
        max_group_events: int,
        threads: int | None = None,
    ) -> None:
        self._engine = engine
        self._max_pending = max_pending_events
        self._max_group = max_group_events
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._pending_events = 0
        self._lock = threading.Lock()
        # SQLite has one write lock and its inserts hold the GIL: one writer is fastest. On
        # PostgreSQL a second writer stages its group while the first one commits.
        self._thread_count = threads or (1 if engine.dialect.name == "sqlite" else 2)
        self._threads: list[threading.Thread] = []
        self.commits = 0
        self.committed_events = 0

    @property
    def pending_events(self) -> int:
        return self._pending_events

    def start(self) -> None:
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._run, name=f"cxm-group-commit-{n}", daemon=True)
                for n in range(self._thread_count)
            ]
            for thread in self._threads:
                thread.start()

    def stop(self) -> None:
        """Finish everything queued, then stop the threads."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    async def write(self, rows: list[dict[str, Any]]) -> int:
        """Queue ``rows`` and return once they are committed: the number newly inserted."""
        if not rows:
            return 0
        with self._lock:
            if self._pending_events + len(rows) > self._max_pending:
                raise Overloaded(
                    f"ingestion is saturated ({self._pending_events} events waiting to be "
                    "written); retry after the Retry-After delay",
                    retry_after=1,
                )
            self._pending_events += len(rows)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._queue.put(_Pending(rows, future, loop))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            size = len(first.rows)
            while size < self._max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
                size += len(item.rows)
            self._commit(group, size)

    def _commit(self, group: list[_Pending], size: int) -> None:
        try:
            try:
                results: list[int | BaseException] = list(self._write([p.rows for p in group]))
            except Exception:
                if len(group) == 1:
                    raise
                # One request's rows may be what the store refuses: retry each request alone,
                # so the others are not failed with it.
                log.warning("group commit of %d events failed; retrying request by request", size)
                results = [self._write_alone(p.rows) for p in group]
        except Exception as exc:  # a group of one request (larger ones are retried above)
            log.exception("group commit of %d events failed", size)
            results = [_unavailable(exc)]
        finally:
            with self._lock:
                self._pending_events -= size
        for pending, outcome in zip(group, results, strict=True):
            if isinstance(outcome, BaseException):
                pending.loop.call_soon_threadsafe(_set_exception, pending.future, outcome)
            else:
                self.committed_events += outcome
                pending.loop.call_soon_threadsafe(_set_result, pending.future, outcome)
        self.commits += 1

    def _write(self, groups: list[list[dict[str, Any]]]) -> list[int]:
        with write_turn(self._engine), self._engine.begin() as conn:
            return append_events(conn, groups)

    def _write_alone(self, rows: list[dict[str, Any]]) -> int | BaseException:
        try:
            return self._write([rows])[0]
        except Exception as exc:
            log.exception("a request of %d events could not be committed", len(rows))
            return _unavailable(exc)


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(
        f"the event store could not commit the events ({type(exc).__name__}); nothing "
        "from this request was stored, retry after the Retry-After delay"
    )


def _set_result(future: asyncio.Future[int], value: int) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[int], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)

"""The lake: the analytical copy of the store, as Parquet files under the workspace.

>>> lake = Lake(workspace.path / "lake")
>>> lake.sync(workspace.engine)        # copy what is new since the last sync
SyncReport(events=..., rewritten_buckets=..., seconds=...)

A sync copies events by sequence number (only those the projector has placed on a profile),
then re-reads the customers whose events moved to another profile since the last sync (merges,
unmerges) and rewrites just their buckets. A rebuild in the store (``cxm rebuild``) rebuilds the
lake. Deleting the lake directory and syncing again gives the same files' contents.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from cxm.lake import source
from cxm.lake.layout import (
    EVENTS_SCHEMA,
    LakeFiles,
    Manifest,
    bucket_of,
    buckets_of_column,
    read_files,
    sort_events,
    sort_order,
    write_sorted,
)

DEFAULT_BUCKETS = 16
# A bucket with more files than this is compacted at the end of a sync.
MAX_FILES_PER_BUCKET = 8
APPEND_ROWS = 1_000_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SyncReport:
    events: int  # new events copied
    rewritten_buckets: int  # buckets rewritten because customers' events moved
    moved_customers: int
    compacted_buckets: int
    rebuilt: bool
    seconds: float
    events_seq: int  # the lake now holds every placed event up to this seq

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class LakeStatus:
    events_seq: int
    buckets: int
    files: int
    events: int
    bytes: int
    generation: int


class Lake:
    """One workspace's lake directory."""

    def __init__(self, root: Path, *, buckets: int = DEFAULT_BUCKETS) -> None:
        self.files = LakeFiles(Path(root), buckets=buckets)

    @property
    def root(self) -> Path:
        return self.files.root

    # reading ---------------------------------------------------------------------------------
    def manifest(self) -> Manifest:
        return self.files.read_manifest()

    def event_paths(self, manifest: Manifest | None = None) -> list[Path]:
        return self.files.event_paths(manifest or self.manifest())

    def table_path(self, name: str, manifest: Manifest | None = None) -> Path | None:
        rel = (manifest or self.manifest()).tables.get(name)
        return self.root / rel if rel else None

    def status(self) -> LakeStatus:
        import pyarrow.parquet as pq

        manifest = self.manifest()
        paths = self.event_paths(manifest)
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
        return LakeStatus(
            events_seq=manifest.events_seq,
            buckets=manifest.buckets,
            files=len(paths),
            events=rows,
            bytes=sum(p.stat().st_size for p in paths),
            generation=manifest.generation,
        )

    def read_events(self) -> pa.Table:
        """Every event in the lake, sorted by customer and time (small lakes and tests)."""
        table = read_files(self.event_paths(), EVENTS_SCHEMA)
        return sort_events(table)

    # writing ---------------------------------------------------------------------------------
    def write_events(self, table: pa.Table) -> None:
        """Append events (any order) as one new file in each bucket they fall in."""
        with self.files.writing() as manifest:
            self._append(manifest, table)

    def purge_retired(self) -> None:
        """Delete replaced files now, not after the readers' grace period: an erasure must
        not leave the person in a file no query reads any more (a query reading it this very
        moment fails and is asked again)."""
        with self.files.writing() as manifest:
            self.files.delete_retired(manifest, now=float("inf"))

    def compact(self, *, max_files: int = 1) -> int:
        """Rewrite every bucket holding more than ``max_files`` files as one sorted file."""
        with self.files.writing() as manifest:
            return self._compact(manifest, max_files=max_files)

    def sync(self, engine: Engine, *, on_progress: Progress | None = None) -> SyncReport:
        """Copy what the store has that the lake lacks; see the module docstring."""
        started = time.perf_counter()
        with self.files.writing() as manifest:
            with engine.connect() as conn:
                upto = source.projected_seq(conn)
                last_change = source.last_change_id(conn)
                moved = source.changed_profiles(conn, manifest.changes_id, last_change)
            rebuilt = "*" in moved or upto < manifest.events_seq
            if rebuilt:
                self._clear(manifest)
                moved = set()
            if manifest.events_seq == 0:
                moved = set()  # nothing copied yet: the events arrive with their current owner
            rewritten = self._move_customers(engine, manifest, moved) if moved else 0
            manifest.changes_id = last_change
            copied = 0
            pending: list[pa.Table] = []
            for batch in source.read_events(engine, after=manifest.events_seq, upto=upto):
                pending.append(batch)
                copied += batch.num_rows
                # Fewer, larger files: a delta per bucket for every million events.
                if sum(p.num_rows for p in pending) >= APPEND_ROWS:
                    self._append(manifest, pa.concat_tables(pending))
                    pending = []
                if on_progress is not None:
                    on_progress(copied, max(upto - manifest.events_seq, copied))
            if pending:
                self._append(manifest, pa.concat_tables(pending))
            with engine.connect() as conn, contextlib.closing(source.ArrowReader(engine)) as rd:
                mark = source.traits_mark(conn)
                if mark != manifest.traits_mark:
                    self._write_table(manifest, "traits", source.read_traits(rd))
                    manifest.traits_mark = mark
                mark = source.known_asks_mark(conn)
                if mark != manifest.known_asks_mark:
                    self._write_table(manifest, "known_asks", source.read_known_asks(rd))
                    manifest.known_asks_mark = mark
            manifest.events_seq = upto
            compacted = self._compact(manifest, max_files=MAX_FILES_PER_BUCKET)
        return SyncReport(
            events=copied,
            rewritten_buckets=rewritten,
            moved_customers=len(moved),
            compacted_buckets=compacted,
            rebuilt=rebuilt,
            seconds=time.perf_counter() - started,
            events_seq=upto,
        )

    def rebuild(self, engine: Engine, *, on_progress: Progress | None = None) -> SyncReport:
        """Forget every file and copy the store again (into this lake's number of buckets)."""
        with self.files.writing() as manifest:
            self._clear(manifest)
            manifest.buckets = self.files.default_buckets
        report = self.sync(engine, on_progress=on_progress)
        self.compact()
        return report

    # internals -------------------------------------------------------------------------------
    def _clear(self, manifest: Manifest) -> None:
        for path in self.files.event_paths(manifest):
            self.files.retire(manifest, path)
        for rel in manifest.tables.values():
            self.files.retire(manifest, self.root / rel)
        manifest.files, manifest.tables = {}, {}
        manifest.events_seq = manifest.changes_id = 0
        manifest.traits_mark = manifest.known_asks_mark = ""

    def _append(self, manifest: Manifest, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = table.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA)
        bucket = buckets_of_column(table["customer_id"], manifest.buckets)
        order = sort_order(table, bucket=bucket)
        table, ordered = table.take(order), bucket[order.to_numpy()]
        bounds = np.flatnonzero(np.diff(ordered)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [len(ordered)]))
        for start, end in zip(starts, ends, strict=True):
            key = f"{int(ordered[start]):03d}"
            name, path = self.files.new_file(manifest, f"events/{key}", "part")
            write_sorted(path, table.slice(start, end - start))
            manifest.files.setdefault(key, []).append(name)

    def _rewrite_bucket(self, manifest: Manifest, key: str, table: pa.Table) -> None:
        old = [self.root / "events" / key / name for name in manifest.files.get(key, [])]
        if table.num_rows:
            name, path = self.files.new_file(manifest, f"events/{key}", "base")
            write_sorted(path, sort_events(table))
            manifest.files[key] = [name]
        else:
            manifest.files.pop(key, None)
        for path in old:
            self.files.retire(manifest, path)

    def _bucket_table(self, manifest: Manifest, key: str) -> pa.Table:
        paths = [self.root / "events" / key / name for name in manifest.files.get(key, [])]
        return read_files(paths, EVENTS_SCHEMA)

    def _compact(self, manifest: Manifest, *, max_files: int) -> int:
        keys = [k for k, names in manifest.files.items() if len(names) > max_files]
        for key in keys:
            self._rewrite_bucket(manifest, key, self._bucket_table(manifest, key))
        return len(keys)

    def _move_customers(self, engine: Engine, manifest: Manifest, moved: set[str]) -> int:
        with engine.connect() as conn, contextlib.closing(source.ArrowReader(engine)) as rd:
            fresh = source.read_customers_events(conn, rd, moved, upto=manifest.events_seq)
        fresh_buckets = buckets_of_column(fresh["customer_id"], manifest.buckets)
        keys = sorted({f"{bucket_of(c, manifest.buckets):03d}" for c in moved})
        moved_array = pa.array(sorted(moved), pa.string())
        for key in keys:
            kept = self._bucket_table(manifest, key)
            kept = kept.filter(pc.invert(pc.is_in(kept["customer_id"], value_set=moved_array)))
            arrivals = fresh.filter(pa.array(fresh_buckets == int(key)))
            self._rewrite_bucket(manifest, key, pa.concat_tables([kept, arrivals]))
        return len(keys)

    def _write_table(self, manifest: Manifest, name: str, table: pa.Table) -> None:
        rel_name, path = self.files.new_file(manifest, "tables", name)
        write_sorted(path, table)
        old = manifest.tables.get(name)
        if old:
            self.files.retire(manifest, self.root / old)
        manifest.tables[name] = f"tables/{rel_name}"

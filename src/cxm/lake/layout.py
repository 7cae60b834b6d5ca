"""The lake's files: event buckets by customer, snapshots, and the manifest that lists them.

Events are hash-partitioned by customer into a fixed number of *buckets*; every file in a bucket
is sorted by customer and time, so a customer's whole history sits in one bucket and the
journey queries (windows per customer ordered by time) read data that is already in order.
Partitioning by customer rather than by day also makes the rewrites the lake needs targeted:
a merge, an unmerge or an erasure rewrites only the buckets of the customers it touches.

Readers never list directories: they read the manifest, which names the live files. Writers
replace the manifest atomically and delete superseded files only after a grace period, so a
query that started before a compaction still finds the files it planned to read.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

FORMAT = 1
RETIRED_GRACE_S = 120.0
ROW_GROUP_ROWS = 128 * 1024

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        # ``ts`` as epoch microseconds: an integer order key makes strict "later than" windows
        # (RANGE frames) portable between DuckDB and Spark.
        pa.field("t", pa.int64(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("event", pa.string()),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("source_id", pa.int32()),
        pa.field("properties", pa.string()),  # JSON text
    ]
)

# Requests for data that asked for what the customer's profile already held (cxm.cases): the
# behavioural effort index counts each as asking again.
KNOWN_ASKS_SCHEMA = pa.schema([pa.field("seq", pa.int64(), nullable=False)])

TRAITS_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("value", pa.string()),
    ]
)


def sort_events(table: pa.Table) -> pa.Table:
    """Sorted by customer, time and seq."""
    return table.take(sort_order(table)) if table.num_rows else table


def sort_order(table: pa.Table, *, bucket: np.ndarray | None = None) -> pa.Array:
    """Row order by customer, time and seq (by ``bucket`` first when given).

    Strings are slow to sort, so each distinct customer is ranked once (Arrow sorts the
    dictionary) and the rows are sorted by that integer rank.
    """
    encoded = pc.dictionary_encode(table["customer_id"]).combine_chunks()
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    keys: dict[str, Any] = {"_rank": rank[encoded.indices.to_numpy(zero_copy_only=False)]}
    sort = [("_rank", "ascending"), ("t", "ascending"), ("seq", "ascending")]
    if bucket is not None:
        keys = {"_bucket": bucket, **keys}
        sort.insert(0, ("_bucket", "ascending"))
    helper = pa.table({**keys, "t": table["t"], "seq": table["seq"]})
    return pc.sort_indices(helper, sort_keys=sort)


def bucket_of(customer_id: str, buckets: int) -> int:
    return zlib.crc32(customer_id.encode()) % buckets


def buckets_of_column(customers: pa.ChunkedArray | pa.Array, buckets: int) -> np.ndarray:
    """The bucket of every row, hashing each distinct customer once."""
    encoded = pc.dictionary_encode(customers)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    per_customer = np.fromiter(
        (bucket_of(c, buckets) for c in encoded.dictionary.to_pylist()),
        dtype=np.int32,
        count=len(encoded.dictionary),
    )
    return per_customer[encoded.indices.to_numpy(zero_copy_only=False)]


@dataclass
class Manifest:
    buckets: int
    events_seq: int = 0  # every event with seq <= this is in the lake
    changes_id: int = 0  # every profile change with id <= this is applied
    traits_mark: str = ""  # what the traits snapshot was built from
    known_asks_mark: str = ""  # what the known-asks snapshot was built from
    generation: int = 0  # bumped on every change; readers refresh when it moves
    files: dict[str, list[str]] = field(default_factory=dict)  # bucket -> files, oldest first
    tables: dict[str, str] = field(default_factory=dict)  # snapshot name -> file
    retired: list[tuple[str, float]] = field(default_factory=list)

    def to_json(self) -> bytes:
        return orjson.dumps({"format": FORMAT, **self.__dict__}, option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data: dict[str, Any] = orjson.loads(raw)
        if data.pop("format", None) != FORMAT:
            raise ValueError("lake manifest format is not supported; run `cxm lake rebuild`")
        data["retired"] = [tuple(x) for x in data.get("retired", [])]
        return cls(**data)


class LakeFiles:
    """Paths, the manifest and the writer's lock of one lake directory."""

    def __init__(self, root: Path, *, buckets: int) -> None:
        self.root = Path(root)
        self.default_buckets = buckets

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def read_manifest(self) -> Manifest:
        try:
            return Manifest.from_json(self.manifest_path.read_bytes())
        except FileNotFoundError:
            return Manifest(buckets=self.default_buckets)

    def write_manifest(self, manifest: Manifest) -> None:
        manifest.generation += 1
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_bytes(manifest.to_json())
        os.replace(tmp, self.manifest_path)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Manifest]:
        """Hold the writer's lock; the yielded manifest is saved if the block succeeds."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            manifest = self.read_manifest()
            before = manifest.to_json()
            yield manifest
            self.delete_retired(manifest)
            # An idle sync changes nothing: keeping the generation keeps every cached answer.
            if manifest.to_json() != before:
                self.write_manifest(manifest)

    def event_paths(self, manifest: Manifest) -> list[Path]:
        return [
            self.root / "events" / bucket / name
            for bucket in sorted(manifest.files)
            for name in manifest.files[bucket]
        ]

    def new_file(self, manifest: Manifest, directory: str, kind: str) -> tuple[str, Path]:
        manifest.generation += 1
        name = f"{kind}-{manifest.generation:08d}.parquet"
        path = self.root / directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return name, path

    def retire(self, manifest: Manifest, path: Path) -> None:
        manifest.retired.append((str(path.relative_to(self.root)), time.time()))

    def delete_retired(self, manifest: Manifest, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        keep: list[tuple[str, float]] = []
        for rel, when in manifest.retired:
            if now - when >= RETIRED_GRACE_S:
                (self.root / rel).unlink(missing_ok=True)
            else:
                keep.append((rel, when))
        manifest.retired = keep


def write_sorted(path: Path, table: pa.Table) -> None:
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=ROW_GROUP_ROWS, compression="zstd")
    os.replace(tmp, path)


def read_files(paths: list[Path], schema: pa.Schema) -> pa.Table:
    if not paths:
        return schema.empty_table()
    return pa.concat_tables([pq.read_table(p, schema=schema) for p in paths])

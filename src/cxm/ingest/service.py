"""Synchronous ingestion for importers, the demo and the Python library.

The HTTP API goes through the group-commit writer instead; both validate with
``cxm.ingest.validation`` and append with ``cxm.ingest.log``, so every path stores alike.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import Engine

from cxm.errors import InvalidInput
from cxm.ingest.importers import ColumnMapping, detect_format, read_csv, read_jsonl
from cxm.ingest.log import append_events
from cxm.ingest.sources import Source
from cxm.ingest.validation import check_event
from cxm.store.engine import write_turn
from cxm.store.metadata import utcnow


@dataclass
class IngestReport:
    """What happened to each event handed in: stored, skipped as a duplicate, or rejected."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.accepted - self.duplicates


def do_ingest_events(
    engine: Engine,
    *,
    source: Source,
    events: Iterable[tuple[Any, dict[str, Any]]],
    max_event_bytes: int = 32 * 1024,
    chunk: int = 5000,
    received_at: datetime | None = None,
    on_progress: Callable[[int], None] | None = None,
    never_store: Sequence[str] = (),
) -> IngestReport:
    """Validate and store ``(where, event)`` pairs; ``where`` names the event in rejections.

    Good events are committed in chunks; a bad one is reported and does not stop the rest.
    """
    from cxm.privacy.tombstones import Tombstones, refusal

    report = IngestReport()
    rows: list[dict[str, Any]] = []
    erased = Tombstones(engine)

    def flush() -> None:
        if not rows:
            return
        with write_turn(engine), engine.begin() as conn:
            (inserted,) = append_events(conn, [rows])
        report.accepted += len(rows)
        report.duplicates += len(rows) - inserted
        if on_progress:
            on_progress(len(rows))
        rows.clear()

    try:
        for where, raw in events:
            row, errors = check_event(
                raw,
                loc=(),
                channel=source.channel,
                received_at=received_at or utcnow(),
                sent_at=None,
                max_event_bytes=max_event_bytes,
                never_store=never_store,
            )
            if row is None:
                report.rejected.append(
                    {
                        "where": where,
                        "message": "; ".join(
                            f"{'.'.join(map(str, e.loc)) or 'event'}: {e.message}" for e in errors
                        ),
                    }
                )
                continue
            at = erased.erased_at(row)
            if at is not None:
                report.rejected.append({"where": where, "message": refusal(at)})
                continue
            row["source_id"] = source.id
            rows.append(row)
            if len(rows) >= chunk:
                flush()
    finally:
        # Whatever stops the loop (a file that turns unreadable midway), keep what was good.
        flush()
    return report


def do_import_file(
    engine: Engine,
    *,
    source: Source,
    path: Path,
    mapping: ColumnMapping | None,
    file_format: str | None = None,
    report_path: Path | None = None,
    max_event_bytes: int = 32 * 1024,
    region: str = "PL",
    on_progress: Callable[[int], None] | None = None,
    never_store: Sequence[str] = (),
) -> tuple[IngestReport, Path | None]:
    """Import a CSV or JSONL export; bad rows go to a JSONL report file beside it.

    Returns the report and the report file's path (None when every row was good).
    """
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    if report_path is not None and (report_path.is_dir() or not report_path.parent.is_dir()):
        raise InvalidInput(f"cannot write the report to {report_path}: give a file in a folder")
    fmt = file_format or detect_format(path)
    if fmt == "csv":
        rows = read_csv(path, mapping or ColumnMapping(), source=source.name, region=region)
    elif fmt == "jsonl":
        # Lines are Segment events unless the mapping names columns or constants: options on
        # how a file is written alone (an encoding, a time zone) do not make them flat records.
        flat = mapping if mapping is not None and (mapping.columns or mapping.defaults) else None
        rows = read_jsonl(path, flat, source=source.name, region=region)
    else:
        raise InvalidInput(f"unknown format {fmt!r}; use csv or jsonl")
    unreadable: list[dict[str, Any]] = []
    raw_of: dict[str, Any] = {}

    def events() -> Iterator[tuple[str, dict[str, Any]]]:
        for item in rows:
            if item.event is None:
                unreadable.append({"where": item.where, "message": item.error, "row": item.raw})
                if on_progress:
                    on_progress(1)
                continue
            raw_of[item.where] = item.raw
            yield item.where, item.event

    report = do_ingest_events(
        engine,
        source=source,
        events=events(),
        max_event_bytes=max_event_bytes,
        never_store=never_store,
        on_progress=on_progress,
    )
    for rejection in report.rejected:
        rejection["row"] = raw_of.get(rejection["where"])
    report.rejected = sorted(
        unreadable + report.rejected, key=lambda r: int(str(r["where"]).rsplit(":", 1)[-1])
    )
    if not report.rejected:
        return report, None
    target = report_path or path.with_name(path.name + ".errors.jsonl")
    with target.open("wb") as handle:
        for rejection in report.rejected:
            handle.write(
                orjson.dumps(rejection, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n"
            )
    return report, target


def do_import_upload(
    engine: Engine,
    *,
    source: Source,
    filename: str,
    data: bytes | BinaryIO,
    mapping: ColumnMapping | None,
    file_format: str | None = None,
    max_event_bytes: int = 32 * 1024,
    region: str = "PL",
    never_store: Sequence[str] = (),
) -> IngestReport:
    """Import an export that arrived over HTTP (the API's body, the page's upload) as
    ``do_import_file`` imports a file: saved under its own name (made safe; it names the
    rejections' ``file:line``) in a temporary folder, its format from that name when not given
    (CSV when the name says nothing)."""
    name = re.sub(r"[^\w.-]+", "_", Path(filename).name).strip("._") or "upload.csv"
    if file_format is None:
        try:
            file_format = detect_format(Path(name))
        except InvalidInput:
            file_format = "csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            if isinstance(data, bytes):
                out.write(data)
            else:
                while chunk := data.read(1 << 20):
                    out.write(chunk)
        if path.stat().st_size == 0:
            raise InvalidInput(f"{filename} is empty; there is nothing to import")
        report, _rejected_file = do_import_file(
            engine,
            source=source,
            path=path,
            mapping=mapping,
            file_format=file_format,
            report_path=Path(folder) / "rejected.jsonl",
            max_event_bytes=max_event_bytes,
            never_store=never_store,
            region=region,
        )
    return report

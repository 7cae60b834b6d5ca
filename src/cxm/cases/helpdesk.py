"""Helpdesk exports (Zendesk, Freshdesk, or any CSV with the generic columns) as cases.

Each row of the export is one ticket as it stood when exported. It enters cxm like every other
fact, through ingest, as a ``Ticket Updated`` event (the requester's e-mail or phone says who;
the ticket id is the case's reference; status, priority, group and subject come along), and
the case builder turns it into the case. Import the same export twice and nothing changes;
import a later one and the cases move on. A row that cannot become an event is reported with
its line and the reason, and the other rows are kept.

>>> mapping = helpdesk_mapping("zendesk")
>>> mapping.columns["properties.ticket_id"]
'Id'
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cxm.errors import InvalidInput
from cxm.ingest import ColumnMapping, IngestReport, do_import_file, source_named

TICKET_EVENT = "Ticket Updated"

# target → the export's column, per helpdesk.
PRESETS: dict[str, dict[str, str]] = {
    "zendesk": {
        "properties.ticket_id": "Id",
        "properties.subject": "Subject",
        "properties.status": "Status",
        "properties.priority": "Priority",
        "properties.group": "Group",
        "properties.assignee": "Assignee",
        "properties.created_at": "Created at",
        "properties.solved_at": "Solved at",
        "properties.via": "Via",
        "email": "Requester email",
        "timestamp": "Updated at",
    },
    "freshdesk": {
        "properties.ticket_id": "Ticket ID",
        "properties.subject": "Subject",
        "properties.status": "Status",
        "properties.priority": "Priority",
        "properties.group": "Group",
        "properties.assignee": "Agent",
        "properties.created_at": "Created time",
        "properties.solved_at": "Resolved time",
        "properties.via": "Source",
        "email": "Email",
        "timestamp": "Last update time",
    },
    "generic": {
        "properties.ticket_id": "ticket_id",
        "properties.subject": "subject",
        "properties.status": "status",
        "properties.priority": "priority",
        "properties.group": "group",
        "properties.assignee": "assignee",
        "properties.created_at": "created_at",
        "properties.solved_at": "solved_at",
        "properties.text": "description",
        "email": "email",
        "phone": "phone",
        "userId": "customer_id",
        "timestamp": "updated_at",
    },
}


# A ticket needs its id and someone to belong to; the rest is welcome when the export has it
# (helpdesk views choose their columns).
REQUIRED = ("properties.ticket_id",)
WHO = ("email", "phone", "userId")


def helpdesk_mapping(preset: str, header: list[str] | None = None) -> ColumnMapping:
    """The column mapping of a helpdesk's export (``zendesk``, ``freshdesk`` or ``generic``),
    limited to the columns in ``header`` when it is given."""
    if preset not in PRESETS:
        raise InvalidInput(f"unknown helpdesk {preset!r}; choose from {', '.join(PRESETS)}")
    columns = dict(PRESETS[preset])
    if header is not None:
        present = {h.strip() for h in header}
        columns = {target: column for target, column in columns.items() if column in present}
        wanted = [PRESETS[preset][t] for t in REQUIRED if t not in columns]
        if not any(t in columns for t in WHO):
            wanted.append(" or ".join(PRESETS[preset][t] for t in WHO if t in PRESETS[preset]))
        if wanted:
            raise InvalidInput(
                f"this {preset} export lacks the column(s) {', '.join(wanted)}; its columns are "
                f"{', '.join(sorted(present))}"
            )
    mapping = ColumnMapping(
        columns=columns,
        defaults={"event": TICKET_EVENT, "channel": "email"},
        extra_to_properties=False,
    )
    mapping.check()
    return mapping


def do_import_helpdesk(
    engine: Engine,
    *,
    session: Callable[[], AbstractContextManager[Session]],
    actor: str,
    path: Path,
    preset: str,
    source: str | None = None,
    report_path: Path | None = None,
    max_event_bytes: int = 32 * 1024,
    region: str = "PL",
    never_store: Sequence[str] = (),
) -> tuple[IngestReport, Path | None]:
    """Import a helpdesk's CSV export into the source ``source`` (default ``helpdesk-PRESET``,
    created when missing); returns the ingest report and where the rejected rows were written.
    """
    mapping = helpdesk_mapping(preset, _header(path))
    name = source or f"helpdesk-{preset}"
    with session() as s:
        src = source_named(s, actor=actor, name=name, channel="email")
    return do_import_file(
        engine,
        source=src,
        path=path,
        mapping=mapping,
        file_format="csv",
        report_path=report_path,
        max_event_bytes=max_event_bytes,
        region=region,
        never_store=never_store,
    )


def _header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path.name} as UTF-8 CSV: {exc}") from exc
    if not first:
        raise InvalidInput(f"{path.name} is empty; a helpdesk export starts with its header row")
    return first

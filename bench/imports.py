#!/usr/bin/env python
"""Import throughput of ``cxm import`` on a call-centre export, and what reading it as a
spreadsheet writes it costs.

    .venv/bin/python bench/imports.py                 # 50,000 rows, SQLite in a temp folder
    .venv/bin/python bench/imports.py --rows 200000

The same generated calls are written twice: as the baseline, UTF-8 with commas and ISO 8601
UTC timestamps; and as Excel writes them on a Polish Windows, Windows-1250 with semicolons and
day-first local times (Europe/Warsaw). Each file is imported into a fresh workspace of its own,
timed from the call to ``do_import_file`` to its return (rows read, mapped, validated, stored);
each twice, alternating, and the faster run of each is reported.
Both imports must store every row at the same instants, except where a local time cannot say
which: the hour repeated when summer time ends reads as its first pass, so a call in its second
pass is stored an hour early. ``BENCH import.dst_repeats`` counts those calls and
``BENCH import.mismatches`` every other difference, which must be 0.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cxm.config import Settings
from cxm.ingest import ColumnMapping, do_create_source, do_import_file, get_source
from cxm.ingest.tables import events
from cxm.workspace import Workspace

WARSAW = ZoneInfo("Europe/Warsaw")
NOTES = [
    "Klient zgłasza brak internetu od rana, router miga na czerwono",
    "Pyta o fakturę za październik; prosi o korektę",
    "Роуминг не работает в Испании, просит перезвонить",
    "Wants to move the appointment of the technician to Friday",
    "Reklamacja: opłata za usługę, której nie zamawiał",
]


def calls(rows: int, seed: int = 7) -> list[tuple[str, datetime, str, str]]:
    """(call id, UTC instant to the minute, phone, note) for ``rows`` calls over a year."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)  # a whole year, none of it in the future
    out = []
    for i in range(rows):
        at = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
        phone = f"+48 6{rng.randrange(10**7, 10**8):08d}"[:15]
        out.append((f"C-{i}", at, phone, rng.choice(NOTES)))
    return out


def write_files(folder: Path, rows: list[tuple[str, datetime, str, str]]) -> tuple[Path, Path]:
    iso = folder / "calls-iso.csv"
    with iso.open("w", encoding="utf-8", newline="") as out:
        out.write("Call ID,Date,Phone,Notes\r\n")
        for call_id, at, phone, note in rows:
            out.write(f'{call_id},{at:%Y-%m-%dT%H:%M:%SZ},{phone},"{note}"\r\n')
    excel = folder / "zgloszenia.csv"
    with excel.open("w", encoding="cp1250", errors="replace", newline="") as out:
        out.write("Nr zgłoszenia;Data;Telefon;Notatki\r\n")
        for call_id, at, phone, note in rows:
            local = at.astimezone(WARSAW)
            out.write(f'{call_id};{local:%d.%m.%Y %H:%M};{phone};"{note}"\r\n')
    return iso, excel


def timed_import(folder: Path, path: Path, mapping: ColumnMapping) -> tuple[float, dict[str, str]]:
    """Seconds to import ``path`` into a fresh workspace, and each call's stored timestamp."""
    with Workspace.open(settings=Settings(workspace=folder)) as ws:
        ws.initialise()
        with ws.session() as session:
            do_create_source(session, actor="bench", name="call-centre", channel="phone")
            session.commit()
            source = get_source(session, "call-centre")
        began = time.perf_counter()
        report, _ = do_import_file(ws.engine, source=source, path=path, mapping=mapping)
        seconds = time.perf_counter() - began
        if report.rejected:
            raise SystemExit(f"{path.name}: {len(report.rejected)} rows rejected, e.g. "
                             f"{report.rejected[0]}")  # fmt: skip
        with ws.session() as session:
            stored = {
                r.message_id: r.timestamp.replace(tzinfo=UTC).isoformat()
                for r in session.execute(select(events.c.message_id, events.c.timestamp))
            }
    return seconds, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    rows = calls(args.rows)
    common = {"messageId": "", "timestamp": "", "phone": "", "text": ""}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        iso, excel = write_files(folder, rows)
        iso_mapping = ColumnMapping.from_pairs(
            [
                f"{k}={v}"
                for k, v in zip(common, ["Call ID", "Date", "Phone", "Notes"], strict=True)
            ],  # fmt: skip
            ["event=Call Handled"],
        )
        excel_mapping = ColumnMapping.from_pairs(
            [
                f"{k}={v}"
                for k, v in zip(
                    common, ["Nr zgłoszenia", "Data", "Telefon", "Notatki"], strict=True
                )
            ],  # fmt: skip
            ["event=Call Handled"],
            encoding="cp1250",
            date_format="%d.%m.%Y %H:%M",
            timezone="Europe/Warsaw",
        )
        # Twice each, alternating, the faster of each pair kept: the first import of a process
        # also pays for imports and cold caches.
        base_s = excel_s = float("inf")
        for run in range(2):
            seconds, base = timed_import(folder / f"ws-iso-{run}", iso, iso_mapping)
            base_s = min(base_s, seconds)
            seconds, excel_stored = timed_import(folder / f"ws-excel-{run}", excel, excel_mapping)
            excel_s = min(excel_s, seconds)
    repeats = {call_id for call_id, at, _, _ in rows if at.astimezone(WARSAW).fold == 1}
    differ = {key for key, at in base.items() if excel_stored.get(key) != at}
    mismatches = len(differ - repeats) + len(set(excel_stored) - set(base))
    print(f"{args.rows} calls: baseline (UTF-8, commas, ISO UTC) {base_s:.1f} s; as Excel on a")
    print(f"Polish Windows writes them (cp1250, semicolons, local day-first) {excel_s:.1f} s")
    print(f"BENCH import.rows_per_s_iso_utf8={args.rows / base_s:.0f}")
    print(f"BENCH import.rows_per_s_cp1250_local={args.rows / excel_s:.0f}")
    print(f"BENCH import.cp1250_local_vs_iso={base_s / excel_s:.2f}")
    print(f"BENCH import.stored_rows={len(excel_stored)}")
    print(f"BENCH import.dst_repeats={len(repeats & differ)}")
    print(f"BENCH import.mismatches={mismatches}")


if __name__ == "__main__":
    main()

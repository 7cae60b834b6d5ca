"""CSV and JSONL importers: good rows kept, bad rows reported with line and reason, no dupes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cxm.cli import app
from cxm.errors import InvalidInput
from cxm.ingest import ColumnMapping, do_import_file, get_source
from cxm.ingest.tables import events
from cxm.workspace import Workspace

CALLS = '''\
Call ID,Date,Caller phone,Account,Agent,Notes
C-1,2026-03-01T09:00:00Z,601 234 567,CUST-1,Ola,Router keeps restarting
C-2,2026-03-01T10:00:00Z,602 000 111,,Piotr,"Pyta o fakturę, ""pilne"""
C-3,yesterday,603 000 222,CUST-3,Ola,bad date
C-4,2026-03-02T08:00:00Z,,,Ola,no identity at all
C-5,2026-03-02T09:00:00Z,604 000 333,CUST-5
C-6,2026-03-02T10:00:00Z,605 000 444,CUST-6,Ola,too,many,fields
C-7,2026-03-03T11:00:00Z,+7 912 345 67 89,CUST-7,Ivan,Роуминг не работает
'''

MAPPING = """\
[columns]
messageId = "Call ID"
timestamp = "Date"
phone = "Caller phone"
userId = "Account"
text = "Notes"
"properties.agent" = "Agent"

[defaults]
event = "Call Handled"
"""


def count_events(ws: Workspace) -> int:
    with ws.session() as session:
        return int(session.execute(select(func.count()).select_from(events)).scalar() or 0)


def test_csv_import_keeps_good_rows_and_reports_bad_ones(
    workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text(CALLS, encoding="utf-8")
    mapping_file = tmp_path / "calls.toml"
    mapping_file.write_text(MAPPING, encoding="utf-8")
    with workspace.session() as session:
        source = get_source(session, "call-centre")

    report, report_path = do_import_file(
        workspace.engine, source=source, path=calls, mapping=ColumnMapping.from_file(mapping_file)
    )
    assert report.stored == 3
    assert [r["where"] for r in report.rejected] == [
        "calls.csv:4",
        "calls.csv:5",
        "calls.csv:6",
        "calls.csv:7",
    ]
    reasons = [r["message"] for r in report.rejected]
    assert "'yesterday' is not an ISO 8601 timestamp" in reasons[0]
    assert "userId or an anonymousId" in reasons[1]
    assert "fewer fields" in reasons[2]
    assert "the row has 8 fields, the header has 6" in reasons[3]
    assert report_path is not None
    lines = [orjson.loads(line) for line in report_path.read_bytes().splitlines()]
    assert [line["where"] for line in lines] == [r["where"] for r in report.rejected]
    assert lines[0]["row"]["Call ID"] == "C-3"

    with workspace.session() as session:
        stored = session.execute(select(events).order_by(events.c.message_id)).all()
    assert [r.message_id for r in stored] == ["C-1", "C-2", "C-7"]
    c2 = orjson.loads(stored[1].payload)
    assert c2["event"] == "Call Handled" and c2["anonymousId"] is None or "userId" not in c2
    assert c2["properties"] == {"text": 'Pyta o fakturę, "pilne"', "agent": "Piotr"}
    assert c2["context"]["traits"]["phone"] == "602 000 111"
    assert all(r.channel == "phone" for r in stored)

    again, _ = do_import_file(
        workspace.engine, source=source, path=calls, mapping=ColumnMapping.from_file(mapping_file)
    )
    assert again.stored == 0 and again.duplicates == 3
    assert count_events(workspace) == 3


def test_rows_without_a_message_id_column_are_still_imported_once(
    workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "date,account,shop,what\n"
        "2026-04-01T10:00:00Z,CUST-1,Gdańsk Oliwa,Issue Reported\n"
        "2026-04-01T10:00:00Z,CUST-1,Gdańsk Oliwa,Issue Reported\n"
        "2026-04-02T10:00:00Z,CUST-2,Warszawa,Purchase Completed\n",
        encoding="utf-8",
    )
    with workspace.session() as session:
        source = get_source(session, "branches")
    mapping = ColumnMapping.from_pairs(["timestamp=date", "userId=account", "event=what"])
    first, _ = do_import_file(workspace.engine, source=source, path=visits, mapping=mapping)
    second, _ = do_import_file(workspace.engine, source=source, path=visits, mapping=mapping)
    assert (first.stored, second.stored, second.duplicates) == (3, 0, 3)
    with workspace.session() as session:
        payload = orjson.loads(session.execute(select(events.c.payload).limit(1)).scalar_one())
    assert payload["properties"] == {"shop": "Gdańsk Oliwa"}


def test_jsonl_import_of_segment_events_with_broken_lines(
    workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "chat.jsonl"
    export.write_bytes(
        b'{"type": "track", "event": "Chat Started", "anonymousId": "w1", "messageId": "c1"}\n'
        b"{broken json\n"
        b"\n"
        b"[1, 2]\n"
        b'{"type": "track", "anonymousId": "w2"}\n'
        b'{"type": "identify", "anonymousId": "w1", "traits": {"email": "a@b.pl"}}\n'
    )
    with workspace.session() as session:
        source = get_source(session, "website")
    report, report_path = do_import_file(workspace.engine, source=source, path=export, mapping=None)
    assert report.stored == 2
    assert [(r["where"], r["message"][:20]) for r in report.rejected] == [
        ("chat.jsonl:2", "not valid JSON: unex"),
        ("chat.jsonl:4", "each line must be a "),
        ("chat.jsonl:5", "event: a track event"),
    ]
    assert report_path is not None and report_path.exists()


def test_bad_mapping_and_missing_columns_fail_before_anything_is_stored(
    workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="unknown mapping target 'userid'"):
        ColumnMapping.from_pairs(["userid=Account"])
    calls = tmp_path / "calls.csv"
    calls.write_text(CALLS, encoding="utf-8")
    with workspace.session() as session:
        source = get_source(session, "call-centre")
    with pytest.raises(InvalidInput, match=r"no column\(s\) \['Customer'\]"):
        do_import_file(
            workspace.engine,
            source=source,
            path=calls,
            mapping=ColumnMapping.from_pairs(["userId=Customer"]),
        )
    assert count_events(workspace) == 0


def test_cli_import_and_profile(
    workspace: Workspace,
    write_keys: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXM_WORKSPACE", str(workspace.path))
    monkeypatch.setenv("CXM_DATABASE_URL", workspace.settings.resolved_database_url)
    calls = tmp_path / "calls.csv"
    calls.write_text(CALLS, encoding="utf-8")
    mapping_file = tmp_path / "calls.toml"
    mapping_file.write_text(MAPPING, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        app, ["import", str(calls), "--source", "call-centre", "--mapping", str(mapping_file)]
    )
    assert result.exit_code == 0, result.output
    assert "3 new events stored, 0 already present, 4 rows rejected" in result.output
    assert "calls.csv:4" in result.output

    shown = runner.invoke(app, ["profile", "601234567"])
    assert shown.exit_code == 0, shown.output
    assert "Router keeps restarting" in shown.output and "CUST-1" in shown.output

    as_json = runner.invoke(app, ["profile", "CUST-7", "--json"])
    body = orjson.loads(as_json.output)
    assert body["profile"]["phone"] == "+79123456789"
    assert body["timeline"][0]["text"] == "Роуминг не работает"

    unknown = runner.invoke(app, ["profile", "nobody@example.com"])
    assert unknown.exit_code != 0


def test_mapped_contact_columns_must_hold_contacts(
    workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "contacts.csv"
    export.write_text(
        "when,phone,mail\n"
        "2026-05-01T10:00:00Z,601 234 567,ok@example.pl\n"
        "2026-05-01T11:00:00Z,call me maybe,ok@example.pl\n"
        "2026-05-01T12:00:00Z,601 234 567,not-an-address\n",
        encoding="utf-8",
    )
    with workspace.session() as session:
        source = get_source(session, "call-centre")
    mapping = ColumnMapping.from_pairs(
        ["timestamp=when", "phone=phone", "email=mail"], ["event=Call Handled"]
    )
    report, _ = do_import_file(workspace.engine, source=source, path=export, mapping=mapping)
    assert report.stored == 1
    assert [(r["where"], r["message"]) for r in report.rejected] == [
        ("contacts.csv:3", "column 'phone': 'call me maybe' is not a phone number"),
        ("contacts.csv:4", "column 'mail': 'not-an-address' is not an e-mail address"),
    ]

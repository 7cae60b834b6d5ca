"""CSV and JSONL importers: good rows kept, bad rows reported with line and reason, no dupes."""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cxm.auth.service import do_create_token
from cxm.cli import app
from cxm.errors import InvalidInput
from cxm.ingest import ColumnMapping, do_import_file, get_source
from cxm.ingest.tables import events
from cxm.workspace import Workspace
from helpers import bearer, sign_in

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


# A call-centre export as Excel writes it on a Polish Windows: Windows-1250, semicolons, day-first
# local times (Europe/Warsaw: +01:00 in winter, +02:00 in summer).
POLISH_EXPORT = (
    "Nr zgłoszenia;Data;Telefon;Notatki\r\n"
    "Z-1;07.12.2026 14:35;601 234 567;Klient zgłasza brak internetu; router miga\r\n"
    'Z-2;01.07.2026 09:00;602 000 111;"Pyta o fakturę; korekta"\r\n'
    "Z-3;2026-07-01 09:00;603 000 222;zła data\r\n"
)
POLISH_MAPPING = """\
encoding = "cp1250"
date_format = "%d.%m.%Y %H:%M"
timezone = "Europe/Warsaw"

[columns]
messageId = "Nr zgłoszenia"
timestamp = "Data"
phone = "Telefon"
text = "Notatki"

[defaults]
event = "Call Handled"
"""


def test_an_excel_export_in_a_windows_code_page_with_local_day_first_dates(
    workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "zgloszenia.csv"
    # The first row has an unquoted ; in its notes: one field too many, reported, not guessed.
    export.write_bytes(POLISH_EXPORT.encode("cp1250"))
    mapping_file = tmp_path / "zgloszenia.toml"
    mapping_file.write_text(POLISH_MAPPING, encoding="utf-8")
    with workspace.session() as session:
        source = get_source(session, "call-centre")

    mapping = ColumnMapping.from_file(mapping_file)
    report, _ = do_import_file(workspace.engine, source=source, path=export, mapping=mapping)
    assert report.stored == 1
    assert [(r["where"], r["message"]) for r in report.rejected] == [
        ("zgloszenia.csv:2", "the row has 5 fields, the header has 4"),
        (
            "zgloszenia.csv:4",
            "column 'Data': '2026-07-01 09:00' does not match the date format '%d.%m.%Y %H:%M'",
        ),
    ]
    with workspace.session() as session:
        stored = session.execute(select(events)).one()
    assert stored.message_id == "Z-2"
    assert stored.timestamp.replace(tzinfo=UTC) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert orjson.loads(stored.payload)["properties"] == {"text": "Pyta o fakturę; korekta"}

    # Without the mapping file's encoding, the refusal names the code page to use.
    as_utf8 = mapping.written_as(encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        do_import_file(workspace.engine, source=source, path=export, mapping=as_utf8)
    assert refused.value.message == (
        "zgloszenia.csv: the header row is not valid utf-8; it looks like Windows-1250 "
        "(Central European): if the whole file is, import it with --encoding cp1250 (encoding "
        "in a mapping file), otherwise re-save it as UTF-8"
    )
    assert count_events(workspace) == 1


def test_cli_flags_say_how_the_file_is_written(
    cxm: Any, workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "obrashcheniya.txt"
    export.write_bytes(
        "Номер|Дата|Телефон|Текст\n"
        "R-1|05.11.2026 10:15|+7 912 345 67 89|Роуминг не работает\n"
        "R-2|06.11.2026 10:15|+7 912 345 67 89|Снова не работает роуминг\n".encode("cp1251")
    )
    common = ["import", str(export), "--source", "call-centre", "--format", "csv"]
    maps = ["--map", "messageId=Номер", "--map", "timestamp=Дата", "--map", "phone=Телефон",
            "--map", "text=Текст", "--set", "event=Call Handled"]  # fmt: skip
    result = cxm(*common, *maps, "--encoding", "cp1251", "--date-format", "%d.%m.%Y %H:%M",
                 "--timezone", "Europe/Moscow")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 new events stored, 0 already present, 0 rows rejected" in result.output
    with workspace.session() as session:
        stored = session.execute(select(events).order_by(events.c.message_id)).all()
    assert [r.timestamp.replace(tzinfo=UTC) for r in stored] == [
        datetime(2026, 11, 5, 7, 15, tzinfo=UTC),
        datetime(2026, 11, 6, 7, 15, tzinfo=UTC),
    ]
    assert orjson.loads(stored[0].payload)["properties"]["text"] == "Роуминг не работает"

    bad_zone = cxm(*common, *maps, "--timezone", "Moscow")
    assert bad_zone.exit_code != 0
    assert "unknown time zone 'Moscow'" in str(bad_zone.exception)
    assert count_events(workspace) == 2


def test_excel_unicode_text_and_utf8_with_a_byte_order_mark_need_no_flags(
    workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    rows = "Konto\tData\tOpis\r\nK-1\t2026-03-01T09:00:00Z\tŁukasz pyta o zwrot\r\n"
    unicode_text = tmp_path / "eksport.csv"  # "Unicode text": UTF-16 with a BOM, tabs
    unicode_text.write_bytes(rows.encode("utf-16"))
    utf8_bom = tmp_path / "eksport-utf8.csv"  # "CSV UTF-8": a BOM, and ; in Polish Excel
    utf8_bom.write_bytes(codecs.BOM_UTF8 + rows.replace("\t", ";").encode("utf-8"))
    with workspace.session() as session:
        source = get_source(session, "branches")
    mapping = ColumnMapping.from_pairs(
        ["userId=Konto", "timestamp=Data", "text=Opis"], ["event=Visit"]
    )
    for path in (unicode_text, utf8_bom):
        report, _ = do_import_file(workspace.engine, source=source, path=path, mapping=mapping)
        assert (report.stored + report.duplicates, report.rejected) == (1, []), path.name
    with workspace.session() as session:
        payload = orjson.loads(session.execute(select(events.c.payload)).scalar_one())
    assert payload["properties"]["text"] == "Łukasz pyta o zwrot"


def test_a_row_that_does_not_decode_is_refused_and_the_rest_kept(
    workspace: Workspace, write_keys: dict[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "mixed.csv"
    export.write_bytes(
        b"account,when,note\n"
        + "K-1,2026-03-01T09:00:00Z,zażółć\n".encode()
        + b"K-2,2026-03-01T10:00:00Z," + "gęślą jaźń\n".encode("cp1250")
        + b"K-3,2026-03-01T11:00:00Z,ok\n"
    )  # fmt: skip
    with workspace.session() as session:
        source = get_source(session, "branches")
    mapping = ColumnMapping.from_pairs(
        ["userId=account", "timestamp=when", "text=note"], ["event=Visit"]
    )
    report, _ = do_import_file(workspace.engine, source=source, path=export, mapping=mapping)
    assert report.stored == 2
    assert [(r["where"], r["message"]) for r in report.rejected] == [
        (
            "mixed.csv:3",
            "the row is not valid utf-8; it looks like Windows-1250 (Central European): if the "
            "whole file is, import it with --encoding cp1250 (encoding in a mapping file), "
            "otherwise re-save it as UTF-8",
        )
    ]


@pytest.mark.anyio
async def test_the_api_imports_an_export_as_the_cli_does(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    url = "/api/sources/call-centre/import"
    params = {
        "map": ["messageId=Nr zgłoszenia", "timestamp=Data", "phone=Telefon", "text=Notatki"],
        "set": ["event=Call Handled"],
        "encoding": "cp1250",
        "date_format": "%d.%m.%Y %H:%M",
        "timezone": "Europe/Warsaw",
        "filename": "../zgloszenia.csv",
    }
    body = POLISH_EXPORT.encode("cp1250")
    first = await api.post(url, params=params, content=body, headers=bearer(admin_token))
    assert first.status_code == 200, first.text
    answer = first.json()
    assert (answer["stored"], answer["duplicates"], answer["rejected_total"]) == (1, 0, 2)
    assert answer["rejected"][0] == {
        "where": "zgloszenia.csv:2",
        "message": "the row has 5 fields, the header has 4",
    }
    again = (await api.post(url, params=params, content=body, headers=bearer(admin_token))).json()
    assert (again["stored"], again["duplicates"]) == (0, 1)
    with workspace.session() as session:
        stored = session.execute(select(events)).one()
    assert stored.timestamp.replace(tzinfo=UTC) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)

    # Refused before anything is read: who may import, into what, and how the file is written.
    with workspace.session() as session:
        reader = do_create_token(session, actor="test", name="reader", scopes=("read",))[1]
        session.commit()
    refusals = [
        (url, params, bearer(reader), 403, "write"),
        ("/api/sources/nowhere/import", params, bearer(admin_token), 404, "nowhere"),
        (url, {**params, "encoding": "klingon"}, bearer(admin_token), 400, "unknown encoding"),
        (url, {**params, "timezone": "Mars/Base"}, bearer(admin_token), 400, "unknown time zone"),
        (url, {**params, "map": ["nothing"]}, bearer(admin_token), 400, "target=value"),
        (url, {**params, "format": "xlsx"}, bearer(admin_token), 400, "unknown format 'xlsx'"),
    ]
    for where, query, headers, status, says in refusals:
        refused = await api.post(where, params=query, content=body, headers=headers)
        assert (refused.status_code, says in refused.text) == (status, True), refused.text
    empty = await api.post(url, params=params, content=b" \n", headers=bearer(admin_token))
    assert empty.status_code == 400 and "body is empty" in empty.json()["message"]
    assert count_events(workspace) == 1


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.mark.anyio
async def test_the_import_page_imports_a_file_and_lists_the_refused_rows(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    await sign_in(api, admin_token)
    sources_page = await api.get("/sources")
    assert 'href="/sources/import"' in sources_page.text
    page = await api.get("/sources/import?source=call-centre")
    assert page.status_code == 200 and '<option value="call-centre" selected>' in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "source": "call-centre",
        "columns": "messageId = Nr zgłoszenia\ntimestamp = Data\n\nphone = Telefon\ntext = Notatki",
        "constants": "event = Call Handled",
        "delimiter": "",
        "encoding": "cp1250",
        "date_format": "%d.%m.%Y %H:%M",
        "timezone": "Europe/Warsaw",
    }
    upload = {"upload": ("zgłoszenia.csv", POLISH_EXPORT.encode("cp1250"), "text/csv")}
    done = await api.post("/sources/import", data=form, files=upload)
    assert done.status_code == 200, done.text
    assert "New events stored: 1 · already present: 0 · rows rejected: 2" in done.text
    assert "the row has 5 fields, the header has 4" in done.text
    assert "does not match the date format" in done.text
    assert 'value="%d.%m.%Y %H:%M"' in done.text  # the form keeps what was typed
    assert count_events(workspace) == 1

    # A mistake in the form is shown above it; nothing is stored.
    for change, says in [
        ({"columns": "timestamp Data"}, "Column mapping, line 1: write target = value"),
        ({"timezone": "Warsaw"}, "unknown time zone"),
        ({"source": "fax"}, "no source named"),
    ]:
        refused = await api.post("/sources/import", data={**form, **change}, files=upload)
        assert refused.status_code == 400 and says in refused.text, refused.text
    missing = await api.post("/sources/import", data=form)
    assert missing.status_code == 400 and "Choose a file to import." in missing.text
    assert count_events(workspace) == 1

    # Larger than other forms take (2 MB), within the upload's 50 MB: imported whole.
    rows = [f"K-{i},2026-03-01T09:00:00Z,{'x' * 10_000}" for i in range(300)]
    big = ("account,when,note\n" + "\n".join(rows) + "\n").encode()
    assert len(big) > 3_000_000
    whole = await api.post(
        "/sources/import",
        data={
            **form,
            "columns": "userId = account\ntimestamp = when\ntext = note",
            "encoding": "utf-8",
            "date_format": "",
            "timezone": "",
        },  # fmt: skip
        files={"upload": ("big.csv", big, "text/csv")},
    )
    assert "New events stored: 300 · already present: 0 · rows rejected: 0" in whole.text
    assert count_events(workspace) == 301

    # Any other form past 2 MB is refused whole, never handed on cut short.
    huge = await api.post(
        "/automation/rules", data={"csrf_token": form["csrf_token"], "definition": "x" * 3_000_000}
    )
    assert huge.status_code == 413 and "at most 2 MB" in huge.text


@pytest.mark.anyio
async def test_a_reader_cannot_import_through_the_page(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    with workspace.session() as session:
        reader = do_create_token(session, actor="test", name="reader", scopes=("read",))[1]
        session.commit()
    await sign_in(api, reader)
    assert (await api.get("/sources/import")).status_code == 403
    cases = await api.get("/cases")  # the reader's own page, for a CSRF value of this session
    posted = await api.post(
        "/sources/import",
        data={"csrf_token": csrf_of(cases.text), "source": "call-centre"},
        files={"upload": ("a.csv", b"userId,event\nu1,Visit\n", "text/csv")},
    )
    assert posted.status_code == 403
    assert count_events(workspace) == 0


@pytest.mark.anyio
async def test_segment_events_in_jsonl_stay_events_whatever_the_options(
    api: httpx.AsyncClient, admin_token: str, workspace: Workspace, write_keys: dict[str, str]
) -> None:
    """Options on how a file is written (a time zone, an encoding) do not turn Segment events
    into flat records; only named columns or constants do. Through the API and the page."""
    lines = b"".join(
        orjson.dumps({"type": "track", "event": "Visit", "userId": f"u{i}", "messageId": f"m{i}",
                      "timestamp": "2026-03-01T09:00:00Z"}) + b"\n"
        for i in range(3)
    )  # fmt: skip
    answer = await api.post(
        "/api/sources/website/import",
        params={"filename": "events.jsonl", "timezone": "Europe/Warsaw"},
        content=lines,
        headers=bearer(admin_token),
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["stored"], answer.json()["rejected_total"]) == (3, 0)

    await sign_in(api, admin_token)
    page = await api.get("/sources/import")
    form = {"csrf_token": csrf_of(page.text), "source": "website", "encoding": "utf-8"}
    more = lines.replace(b'"m', b'"n')
    done = await api.post(
        "/sources/import", data=form, files={"upload": ("events.ndjson", more, "text/plain")}
    )
    assert "New events stored: 3 · already present: 0 · rows rejected: 0" in done.text
    empty = await api.post(
        "/sources/import", data=form, files={"upload": ("nothing.csv", b"", "text/csv")}
    )
    assert empty.status_code == 400 and "nothing.csv is empty" in empty.text
    with workspace.session() as session:
        stored = session.execute(select(events.c.payload)).scalars().all()
    assert len(stored) == 6 and {orjson.loads(p)["event"] for p in stored} == {"Visit"}

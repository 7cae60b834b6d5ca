"""Row mapping of the importers (pure): any record becomes an event or a clear refusal."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxm.errors import InvalidInput
from cxm.ingest.importers import ColumnMapping, content_message_id, date_reader, row_to_event

MAPPING = ColumnMapping.from_pairs(
    ["userId=Account", "timestamp=Date", "phone=Phone", "text=Notes", "properties.agent=Agent"],
    ["event=Call Handled"],
)


def test_mapped_row_becomes_a_segment_event() -> None:
    event = row_to_event(
        {
            "Account": "CUST-1",
            "Date": "2026-01-01T00:00:00Z",
            "Phone": "601 234 567",
            "Notes": "Hello",
            "Agent": "Ola",
            "Queue": "Billing",
            "Empty": "",
        },
        MAPPING,
    )
    assert event == {
        "type": "track",
        "event": "Call Handled",
        "userId": "CUST-1",
        "timestamp": "2026-01-01T00:00:00Z",
        "properties": {"text": "Hello", "agent": "Ola", "queue": "Billing"},
        "context": {"traits": {"phone": "601 234 567"}},
    }


def test_identify_rows_put_contacts_in_traits() -> None:
    mapping = ColumnMapping.from_pairs(["userId=id", "email=mail"], ["type=identify"])
    event = row_to_event({"id": "u1", "mail": "A@B.pl"}, mapping)
    assert event == {"type": "identify", "userId": "u1", "traits": {"email": "A@B.pl"}}


def test_content_message_ids_are_stable_and_count_repeats() -> None:
    counter: Counter[str] = Counter()
    first = content_message_id("src", {"a": 1}, counter)
    again = content_message_id("src", {"a": 1}, counter)
    other_source = content_message_id("other", {"a": 1}, Counter())
    assert first.endswith("-1") and again.endswith("-2") and first[:-2] == again[:-2]
    assert other_source[:-2] != first[:-2]


@given(
    st.dictionaries(
        st.sampled_from(["Account", "Date", "Phone", "Notes", "Agent", "Other column"]),
        st.text(max_size=30),
    )
)
def test_any_row_maps_or_is_refused_with_a_reason(row: dict[str, str]) -> None:
    try:
        event = row_to_event(row, MAPPING)
    except InvalidInput as exc:
        assert "is not a phone number" in exc.message or "is not an ISO 8601" in exc.message
        return
    assert event["type"] == "track" and event["event"] == "Call Handled"
    assert all(isinstance(k, str) and k for k in event.get("properties", {}))


def test_unknown_targets_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown mapping target"):
        ColumnMapping.from_pairs(["properties.=x"])
    with pytest.raises(InvalidInput, match="takes target=value"):
        ColumnMapping.from_pairs(["no-equals-sign"])


@pytest.mark.parametrize(
    ("written", "value", "stored"),
    [
        ({}, "2026-03-01T09:00:00Z", "2026-03-01T09:00:00Z"),  # ISO with an offset: as sent
        ({}, "2026-03-01 09:00", "2026-03-01 09:00"),  # without one: UTC, downstream
        ({"timezone": "Europe/Warsaw"}, "2026-03-01 09:00", "2026-03-01T09:00:00+01:00"),
        ({"timezone": "Europe/Warsaw"}, "2026-07-01T09:00:00", "2026-07-01T09:00:00+02:00"),
        ({"timezone": "Europe/Warsaw"}, "2026-07-01T09:00:00Z", "2026-07-01T09:00:00Z"),
        ({"date_format": "%d.%m.%Y %H:%M"}, "07.12.2026 14:35", "2026-12-07T14:35:00"),
        (
            {"date_format": "%d.%m.%Y %H:%M", "timezone": "Europe/Moscow"},
            " 07.12.2026 14:35 ",
            "2026-12-07T14:35:00+03:00",
        ),
        ({"date_format": "%m/%d/%Y %I:%M %p"}, "12/07/2026 02:35 PM", "2026-12-07T14:35:00"),
    ],
)
def test_timestamps_are_read_with_the_exports_date_format_and_time_zone(
    written: dict[str, str], value: str, stored: str
) -> None:
    mapping = ColumnMapping.from_pairs(["timestamp=Data", "userId=Klient"], **written)
    event = row_to_event({"Data": value, "Klient": "K-1"}, mapping)
    assert event["timestamp"] == stored


def test_a_timestamp_that_does_not_fit_says_what_to_do() -> None:
    iso = ColumnMapping.from_pairs(["timestamp=Data", "userId=Klient"])
    with pytest.raises(InvalidInput) as refused:
        row_to_event({"Data": "07.12.2026 14:35", "Klient": "K-1"}, iso)
    assert refused.value.message.startswith(
        "column 'Data': '07.12.2026 14:35' is not an ISO 8601 timestamp; give the column's "
        "format with --date-format"
    )
    dotted = iso.written_as(date_format="%d.%m.%Y %H:%M")
    with pytest.raises(InvalidInput, match="does not match the date format '%d.%m.%Y %H:%M'"):
        row_to_event({"Data": "2026-12-07 14:35", "Klient": "K-1"}, dotted)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ({"timezone": "Europe/Gdansk"}, "unknown time zone 'Europe/Gdansk'"),
        ({"timezone": "../../etc/passwd"}, "unknown time zone"),
        ({"encoding": "klingon"}, "unknown encoding 'klingon'"),
        ({"encoding": "rot13"}, "unknown encoding 'rot13'"),
        ({"delimiter": ";;"}, "the delimiter must be one character"),
        ({"delimiter": '"'}, "the delimiter must be one character"),
        ({"date_format": "DD.MM.YYYY"}, "has no % fields"),
    ],
)
def test_how_a_file_is_written_is_checked_before_anything_is_read(
    written: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        ColumnMapping.from_pairs(["userId=Klient"], **written)


def test_delimiter_names_are_understood() -> None:
    assert ColumnMapping.from_pairs([], delimiter="tab").delimiter == "\t"
    assert ColumnMapping.from_pairs([], delimiter="semicolon").delimiter == ";"
    assert ColumnMapping().written_as(delimiter="|", encoding=None).delimiter == "|"


DATE_FORMATS = ["%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%m/%d/%Y %H.%M",
                "[%d|%m|%Y]", "%Y%m%d%H%M%S", "%d.%m.%Y %"]  # fmt: skip


@given(
    st.sampled_from(DATE_FORMATS),
    st.one_of(
        st.datetimes(min_value=datetime(1000, 1, 1)).map(lambda d: d.replace(microsecond=0)),
        st.just(None),
    ),
    st.text(alphabet="0123456789 .:/-[]|%", max_size=22),
)
def test_the_date_reader_reads_as_strptime_does(
    date_format: str, when: datetime | None, noise: str
) -> None:
    """The fast reader against strptime itself: the same datetime or a ValueError from both,
    for well-formed dates (also with unpadded fields and runs of spaces) and for noise."""
    texts = [noise]
    if when is not None:
        written = when.strftime(date_format)
        texts += [written, written.replace(" ", "   ").replace(".0", ".").replace("/0", "/")]
    for text in texts:
        try:
            expected: datetime | str = datetime.strptime(text, date_format)
        except ValueError:
            expected = "ValueError"
        try:
            got: datetime | str = date_reader(date_format)(text)
        except ValueError:
            got = "ValueError"
        assert got == expected, (date_format, text)

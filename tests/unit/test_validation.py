"""The Segment-spec validator: every event either becomes a row or gets located reasons."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxm.errors import InvalidInput, PayloadTooLarge
from cxm.ingest.validation import check_batch, check_event, decode_body, parse_timestamp

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def check(raw: object) -> tuple[dict | None, list[str]]:
    row, errors = check_event(
        raw, loc=("batch", 0), channel="web", received_at=NOW, sent_at=None, max_event_bytes=32768
    )
    return row, [f"{'.'.join(map(str, e.loc))}: {e.message}" for e in errors]


def test_valid_track_becomes_a_row() -> None:
    row, errors = check(
        {
            "type": "track",
            "event": "Signed Up",
            "userId": 42,
            "messageId": "m",
            "timestamp": "2026-05-01T10:00:00+02:00",
            "context": {"channel": "branch"},
        }
    )
    assert errors == []
    assert row is not None
    assert row["user_id"] == "42" and row["event"] == "Signed Up"
    assert row["timestamp"] == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    assert row["channel"] == "branch"
    assert orjson.loads(row["payload"])["userId"] == 42


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"type": "track", "userId": "u"}, "batch.0.event: a track event needs"),
        ({"type": "track", "event": "E"}, "batch.0.userId: every event needs"),
        ({"type": "identify", "userId": {"id": 1}}, "batch.0.userId: userId must be a string"),
        ({"type": "group", "userId": "u"}, "batch.0.groupId: a group event needs a groupId"),
        ({"type": "alias", "userId": "u"}, "batch.0.previousId: an alias event needs"),
        (
            {"type": "track", "event": "E", "userId": "u", "properties": []},
            "batch.0.properties: 'properties' must be an object",
        ),
        (
            {"type": "track", "event": "E", "userId": "u", "timestamp": 1717000000},
            "batch.0.timestamp: expected an ISO 8601 string",
        ),
        (
            {"type": "track", "event": "E", "userId": "u", "timestamp": "1999-12-31T00:00:00Z"},
            "before 2000-01-01",
        ),
        (
            {"type": "track", "event": "E", "userId": "u", "messageId": ["m"]},
            "batch.0.messageId: messageId must be a string",
        ),
        ({"type": "track", "event": "E" * 201, "userId": "u"}, "longer than 200"),
        ({"event": "E", "userId": "u"}, "batch.0.type: unknown event type None"),
        (["track"], "an event must be a JSON object"),
    ],
)
def test_invalid_events_say_what_and_where(raw: object, expected: str) -> None:
    row, errors = check(raw)
    assert row is None
    assert any(expected in e for e in errors), errors


def test_missing_message_id_gets_one() -> None:
    row, _ = check({"type": "page", "anonymousId": "a"})
    assert row is not None and row["message_id"].startswith("cxm-")
    assert row["timestamp"] == NOW


def test_batch_context_is_shared_and_events_keep_their_own() -> None:
    body = {
        "batch": [
            {"type": "track", "event": "A", "userId": "u", "context": {"locale": "pl-PL"}},
            {"type": "track", "event": "B", "userId": "u"},
        ],
        "context": {"locale": "en-GB", "library": {"name": "x"}},
        "writeKey": "wk_1",
    }
    checked = check_batch(body, channel="app", received_at=NOW, max_event_bytes=32768)
    contexts = [orjson.loads(r["payload"])["context"] for r in checked.rows]
    assert contexts[0]["locale"] == "pl-PL" and contexts[1]["locale"] == "en-GB"
    assert checked.write_key == "wk_1"


def test_decode_body_limits_apply_after_decompression() -> None:
    assert decode_body(gzip.compress(b"{}"), "gzip", limit=10) == b"{}"
    with pytest.raises(PayloadTooLarge):
        decode_body(gzip.compress(b" " * 100), "gzip", limit=10)
    with pytest.raises(InvalidInput, match="unsupported Content-Encoding"):
        decode_body(b"{}", "compress", limit=10)


def test_parse_timestamp_accepts_zulu_offsets_and_naive() -> None:
    assert parse_timestamp("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2026-01-01T02:00:00+02:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2026-01-01 00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="not an ISO 8601"):
        parse_timestamp("01/02/2026")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "type",
                "event",
                "userId",
                "anonymousId",
                "messageId",
                "timestamp",
                "properties",
                "traits",
                "context",
                "previousId",
                "groupId",
                "name",
                "originalTimestamp",
                "sentAt",
            ]
        ),
        json_values | st.sampled_from(["track", "identify", "alias", "2026-01-01T00:00:00Z"]),
    )
)
def test_any_json_object_is_either_a_row_or_located_errors(raw: dict) -> None:
    row, errors = check(raw)
    assert (row is None) == bool(errors)
    if row is not None:
        assert row["type"] in {"identify", "track", "page", "screen", "group", "alias"}
        assert row["user_id"] or row["anonymous_id"]
        assert row["timestamp"].tzinfo is not None


def test_nul_and_blank_ids_and_odd_sources() -> None:
    row, errors = check({"type": "track", "event": "E", "userId": "a\x00b"})
    assert row is None and "NUL character" in errors[0]
    row, errors = check(
        {"type": "track", "event": "E", "userId": "u", "properties": {"x": "\\u0000"}}
    )
    assert row is not None  # a literal backslash-u text is not a NUL
    row, errors = check({"type": "track", "event": "E", "userId": " \t"})
    assert row is None and "userId or an anonymousId" in errors[0]


def test_source_names_are_whole_slugs() -> None:
    from cxm.ingest.sources import SOURCE_NAME

    assert SOURCE_NAME.fullmatch("call-centre")
    assert not SOURCE_NAME.fullmatch("evil\n")

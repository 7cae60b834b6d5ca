"""Row mapping of the importers (pure): any record becomes an event or a clear refusal."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxm.errors import InvalidInput
from cxm.ingest.importers import ColumnMapping, content_message_id, row_to_event

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
        assert "is not a phone number" in exc.message
        return
    assert event["type"] == "track" and event["event"] == "Call Handled"
    assert all(isinstance(k, str) and k for k in event.get("properties", {}))


def test_unknown_targets_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown mapping target"):
        ColumnMapping.from_pairs(["properties.=x"])
    with pytest.raises(InvalidInput, match="takes target=value"):
        ColumnMapping.from_pairs(["no-equals-sign"])

"""The sequential definitions on hand-made streams: boundaries, empty input, odd survey data."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxm.metrics.behaviour import CLASS_COLUMNS, month_label
from cxm.metrics.sequences import _answer, sequence_facts

HOUR = 3_600_000_000
DAY = 24 * HOUR
T0 = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z

CLASSES = pd.DataFrame(
    [
        ("track", "Call Handled", "phone", "call", "contact", "support", "care", "phone"),
        ("track", "IVR Call", "ivr", "ivr", "contact", "support", "care", "phone"),
        ("track", "Chat", "chat", "chat", "contact", "support", "care", "chat"),
        (
            "track",
            "Visit",
            "field_service",
            "visit",
            "contact",
            "support",
            "field",
            "field_service",
        ),
        ("track", "Data Requested", "phone", "ask", "data_request", "support", "care", "phone"),
        ("track", "Case Resolved", "other", "fixed", "resolution", "support", "field", "other"),
        ("track", "Case Reopened", "other", "again", "reopen", "support", "care", "other"),
        ("track", "Survey Answered", "survey", None, "survey", None, None, "survey"),
    ],
    columns=CLASS_COLUMNS,
)
CLASSES["k_id"] = range(len(CLASSES))
CLS = {name: i for i, name in enumerate(CLASSES["k_name"])}


def stream(*rows: tuple[str, str, int] | tuple[str, str, int, str]) -> pa.Table:
    """(customer, event name, time[, survey properties]) rows, in any order."""
    return pa.table(
        {
            "c": pa.array([r[0] for r in rows], pa.string()),
            "t": pa.array([T0 + r[2] for r in rows], pa.int64()),
            "seq": pa.array(range(len(rows)), pa.int64()),
            "cls": pa.array([CLS[r[1]] for r in rows], pa.int64()),
            "props": pa.array([r[3] if len(r) > 3 else None for r in rows], pa.string()),  # type: ignore[misc]
        }
    )


def facts(*rows: Any, **options: Any) -> Any:
    return sequence_facts(stream(*rows), CLASSES, horizon_us=7 * DAY, **options)


def test_an_empty_stream_has_no_facts() -> None:
    result = facts()
    assert result.contacts.empty and result.matters.empty and result.surveys.empty


def test_boundaries_of_a_contact_and_of_a_matter() -> None:
    result = facts(
        ("a", "Call Handled", 0),
        ("a", "Call Handled", HOUR),  # exactly an hour later: the same call
        ("a", "Call Handled", HOUR + 7 * DAY),  # exactly the horizon after: the same matter
        ("a", "Call Handled", HOUR + 14 * DAY + 1),  # a microsecond more: a new matter
    )
    assert len(result.contacts) == 3
    assert result.matters["contacts"].tolist() == [2, 1]
    assert result.contacts["repeat"].tolist() == [0, 1, 0]


def test_rows_in_any_order_give_the_same_facts() -> None:
    rows = [
        ("a", "IVR Call", 0),
        ("a", "Call Handled", 10 * 60_000_000),
        ("a", "Chat", DAY),
        ("b", "Visit", 0),
        ("a", "Visit", 2 * DAY),
        ("a", "Case Resolved", 2 * DAY + HOUR),
    ]
    forward, backward = facts(*rows), facts(*reversed(rows))
    pd.testing.assert_frame_equal(forward.matters, backward.matters)
    a = forward.matters[forward.matters["customer"] == 0].iloc[0]
    # menu+call (phone), chat, visit: 3 contacts, 2 hops, 1 handoff (care → field), 49 h.
    assert (a["contacts"], a["hops"], a["handoffs"]) == (3, 2, 1)
    assert a["resolution_h"] == pytest.approx(49.0)
    assert a["touchpoint"] == "ivr" and a["channel"] == "phone"


def test_reopen_events_and_late_contacts() -> None:
    result = facts(
        ("a", "Call Handled", 0),
        ("a", "Case Resolved", HOUR),
        ("a", "Case Reopened", 2 * HOUR),
        ("b", "Call Handled", 0),
        ("b", "Case Resolved", HOUR),
        ("b", "Call Handled", HOUR + 7 * DAY + 1),  # after the horizon: not a reopening
    )
    by_customer = result.matters.groupby("customer")["reopened"].max().tolist()
    assert by_customer == [1, 0]


def test_a_resolution_long_after_the_last_contact_is_not_the_matters() -> None:
    result = facts(
        ("a", "Call Handled", 0),
        ("a", "Case Resolved", 7 * DAY + 1),
    )
    m = result.matters.iloc[0]
    assert (m["resolved"], m["resolution_h"]) == (0, 0.0)


def test_asked_again_counts_asks_after_the_first() -> None:
    result = facts(
        ("a", "Call Handled", 0),
        ("a", "Data Requested", 60_000_000),
        ("a", "Data Requested", 120_000_000),  # same touchpoint within the hour: one ask
        ("a", "Call Handled", DAY),
        ("a", "Data Requested", DAY + 60_000_000),
    )
    m = result.matters.iloc[0]
    assert (m["asks"], m["asked_again"]) == (2, 1)


def test_survey_answers_attribution_and_validation() -> None:
    result = facts(
        ("a", "Call Handled", 0),
        ("a", "Survey Answered", DAY, '{"kind": "ces", "score": 3}'),
        ("a", "Survey Answered", 9 * DAY, '{"kind": "nps", "score": 9.0}'),  # too late
        ("a", "Survey Answered", DAY, '{"kind": "ces", "score": 3, "touchpoint": "web"}'),
        ("a", "Survey Answered", DAY, '{"kind": "ces", "score": 8}'),  # off the scale
        ("a", "Survey Answered", DAY, '{"kind": "ces", "score": 2.5}'),  # not a whole score
        ("a", "Survey Answered", DAY, '{"kind": "ces", "score": true}'),
        ("a", "Survey Answered", DAY, "not json"),
        ("a", "Survey Answered", DAY, '{"kind": "mood", "score": 3}'),
    )
    s = result.surveys.sort_values(["t", "touchpoint"]).reset_index(drop=True)
    assert s[["kind", "score", "touchpoint"]].values.tolist() == [
        ["ces", 3, "call"],
        ["ces", 3, "web"],
        ["nps", 9, "(none)"],
    ]
    assert s["matter"].tolist()[:2] == [0, 0] and s["matter"].tolist()[2] == -1


def test_period_keeps_matters_by_their_first_contact() -> None:
    result = facts(
        ("a", "Call Handled", 0),
        ("a", "Call Handled", 2 * DAY),
        ("b", "Call Handled", 2 * DAY),
        start_us=T0 + DAY,
    )
    assert result.matters["customer"].tolist() == [1]
    assert len(result.contacts) == 2  # a's second contact is in the period, as a repeat


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ('{"kind": "nps", "score": 7}', ("nps", 7.0, None)),
        ("[1, 2]", (None, math.nan, None)),
        ('{"kind": 5, "score": "9", "touchpoint": ""}', (None, math.nan, None)),
        (None, (None, math.nan, None)),
    ],
)
def test_answer_properties(properties: str | None, expected: tuple[Any, ...]) -> None:
    kind, score, about = _answer(properties)
    assert (kind, about) == (expected[0], expected[2])
    assert score == expected[1] or (math.isnan(score) and math.isnan(expected[1]))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=4_000_000_000_000_000), min_size=1, max_size=200)
)
def test_month_of_is_the_calendar_month(times: list[int]) -> None:
    import datetime as dt

    import duckdb
    import ibis

    from cxm.metrics.behaviour import month_of

    t = ibis.table({"t": "int64"}, name="x")
    sql = ibis.to_sql(t.select(t.t, m=month_of(t.t)), dialect="duckdb")
    con = duckdb.connect()
    con.execute("create table x (t BIGINT)")
    con.executemany("insert into x values (?)", [(v,) for v in times])
    for us, month in con.sql(sql).fetchall():
        expected = dt.datetime.fromtimestamp(us / 1e6, dt.UTC).strftime("%Y-%m")
        assert month_label(month) == expected


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 20_000), st.integers(0, 10**6)),
        min_size=1,
        max_size=200,
        unique_by=lambda r: r[2],
    )
)
def test_the_packed_sort_orders_by_customer_time_and_seq(rows: list[tuple[int, int, int]]) -> None:
    import numpy as np

    from cxm.metrics.sequences import _sort

    cust, t, seq = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
    assert _sort(cust, t, seq).tolist() == np.lexsort((seq, t, cust)).tolist()


def test_properties_that_are_not_an_object_are_ignored_not_fatal() -> None:
    result = facts(
        ("a", "Call Handled", 0),
        ("a", "Survey Answered", HOUR, "null"),
        ("a", "Survey Answered", HOUR, "[1, 2]"),
        ("a", "Survey Answered", HOUR, "7"),
        ("a", "Survey Answered", HOUR, '{\n "kind": "ces",\n "score": 4\n}'),
        ("a", "Survey Answered", HOUR, '{"kind": "ces", "score": 5}'),
    )
    assert sorted(result.surveys["score"].tolist()) == [4, 5]

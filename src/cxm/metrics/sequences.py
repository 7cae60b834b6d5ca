"""Contacts, matters and attributed survey answers from one customer-ordered event stream.

The definitions are in :mod:`cxm.metrics.behaviour`. They are sequential per customer (the
contact before, the matter so far, the next contact after a resolution), which SQL expresses
as window functions: on this machine a single window over five million rows costs more than a
second, and the definitions need five. Here the stream the engine extracted (events on role
touchpoints and survey answers, a small part of the log) is sorted once by customer and time
and every step is a vectorised pass over numpy arrays: differences with the row before, running
sums, forward fills and counts per matter.

>>> facts = sequence_facts(stream, horizon_us=7 * DAY_US)   # doctest: +SKIP
>>> facts.matters[["contacts", "hops", "effort"]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

SESSION_GAP_US = 3_600 * 1_000_000
NO_TOUCHPOINT = "(none)"
SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

# The behavioural effort index of a matter (docs/metrics.md#behavioural-effort-index).
EFFORT_WEIGHTS = {
    "repeat_contacts": 1.0,
    "channel_hops": 1.0,
    "handoffs": 1.0,
    "asked_again": 1.0,
    "reopened": 2.0,
    "resolution_days_log": 1.0,
}


@dataclass(frozen=True)
class SequenceFacts:
    """One row per contact, per matter and per attributed survey answer.

    Every frame has ``customer`` (a position in ``customers``, the customer ids), ``t`` (epoch
    µs), ``month`` ("YYYY-MM"), ``touchpoint``, ``stage``, ``department``, ``channel`` and
    ``attribute`` (a trait's value or in/out of a segment; None unless asked for).
    """

    contacts: pd.DataFrame  # + repeat (0/1), matter
    matters: pd.DataFrame  # + contacts, hops, handoffs, asks, asked_again, reopened, ...
    surveys: pd.DataFrame  # + kind, score, matter (-1: after no recent contact)
    customers: np.ndarray


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for null) and the values they stand for."""
    if pa.types.is_null(column.type):  # an empty or all-null column from a lenient source
        column = column.cast(pa.string())
    encoded = pc.dictionary_encode(column).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(encoded.indices.is_null().to_numpy(zero_copy_only=False), -1, codes)
    return codes.astype(np.int64), np.asarray(encoded.dictionary.to_pylist(), dtype=object)


def _code_of(values: np.ndarray, value: str) -> int:
    found = np.flatnonzero(values == value)
    return int(found[0]) if len(found) else -2  # -2 matches no row (nulls are -1)


def _decode(codes: np.ndarray, values: np.ndarray, missing: str) -> pd.Categorical:
    """Codes as a categorical column (cheap to build and to group by), -1 as ``missing``."""
    categories = [*values.tolist(), missing]
    if len(set(categories)) < len(categories):
        categories = [*values.tolist(), missing + " "]  # a value spelled like the placeholder
    return pd.Categorical.from_codes(np.where(codes >= 0, codes, len(values)), categories)


def _month(t: np.ndarray) -> pd.Categorical:
    """ "YYYY-MM" of epoch-µs times, as a categorical (months since 1970 as codes)."""
    months = t.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    if len(months) == 0:
        return pd.Categorical([])
    first = int(months.min())
    span = np.arange(first, int(months.max()) + 1).astype("datetime64[M]")
    return pd.Categorical.from_codes(months - first, np.datetime_as_string(span, unit="M"))


def _sort(cust: np.ndarray, t: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The order by customer, time and seq. One sort of a packed key (customer and time to the
    millisecond) where it fits in 63 bits, then the few rows that share a key put in order by
    their exact time and seq; numpy's slower lexsort where the key does not fit."""
    if len(t) == 0:
        return np.arange(0)
    ms = (t - t.min()) // 1000
    cust_bits, time_bits = int(cust.max()).bit_length(), int(ms.max()).bit_length()
    if cust.min() < 0 or cust_bits + time_bits > 63:
        return np.lexsort((seq, t, cust))
    key = (cust << time_bits) | ms
    order = np.argsort(key, kind="stable")
    tied = key[order][1:] == key[order][:-1]
    if tied.any():
        at = np.flatnonzero(np.concatenate(([False], tied)) | np.concatenate((tied, [False])))
        rows = order[at]
        run = np.cumsum(
            np.concatenate(([True], np.diff(at) > 1))
            | np.concatenate(([True], key[rows][1:] != key[rows][:-1]))
        )
        order[at] = rows[np.lexsort((seq[rows], t[rows], run))]
    return order


def _previous_within(
    cust: np.ndarray, t: np.ndarray, rows: np.ndarray, group: np.ndarray, gap: int
) -> np.ndarray:
    """For ``rows`` (in customer-time order): whether each starts a run of its ``group`` value,
    i.e. the same customer's previous row of that group is absent or more than ``gap`` before.
    Groups are few (channels, touchpoints), so each is a masked pass rather than a sort."""
    start = np.zeros(len(rows), dtype=bool)
    for value in np.unique(group):
        mine = np.flatnonzero(group == value)
        sub = rows[mine]
        start[mine] = _first_in_run([cust[sub]], t[sub], gap)
    return start


def _first_in_run(keys: list[np.ndarray], t: np.ndarray, gap: int) -> np.ndarray:
    """Rows (in the order given, sorted by keys then t) that start a run: a new key, or more
    than ``gap`` after the row before."""
    start = np.ones(len(t), dtype=bool)
    if len(t) > 1:
        same = np.ones(len(t) - 1, dtype=bool)
        for key in keys:
            same &= key[1:] == key[:-1]
        start[1:] = ~same | (t[1:] - t[:-1] > gap)
    return start


def sequence_facts(
    stream: pa.Table,
    classes: pd.DataFrame,
    *,
    horizon_us: int,
    start_us: int | None = None,
    end_us: int | None = None,
    session_gap_us: int = SESSION_GAP_US,
) -> SequenceFacts:
    """Contacts, matters and survey answers from ``stream``, in any order.

    ``stream`` has c (customer), t, seq, cls (a row of ``classes``: tp, role, stage, dept and
    family, the channel family), props (a survey answer's properties, JSON) and optionally
    attribute. Facts are kept when they fall in ``[start_us, end_us)``: a contact or survey answer
    by its own time, a matter by its first contact. The stream should reach ``horizon_us``
    beyond the period on both sides, so that the matters at its edges are whole.
    """
    cust, customer_values = _codes(stream["c"])
    t = stream["t"].to_numpy().astype(np.int64)
    seq = stream["seq"].to_numpy().astype(np.int64)
    order = _sort(cust, t, seq)
    cust, t, seq = cust[order], t[order], seq[order]
    cls = stream["cls"].to_numpy().astype(np.int64)[order]

    def col(name: str) -> tuple[np.ndarray, np.ndarray]:
        codes, values = pd.factorize(classes[name])
        return np.asarray(codes, dtype=np.int64)[cls], np.asarray(values, dtype=object)

    role, roles = col("role")
    tp, tps = col("tp")
    stage, stages = col("stage")
    dept, depts = col("dept")
    channel, channels = col("family")
    has_attribute = "attribute" in stream.column_names
    if has_attribute:
        attribute, attributes = _codes(stream["attribute"])
        attribute = attribute[order]
    else:
        attribute, attributes = np.full(len(t), -1), np.array([], dtype=object)
    n = len(t)
    pos = np.arange(n)

    # Contacts: the first event of a run in one channel (family) with gaps under the session gap.
    is_contact_event = role == _code_of(roles, "contact")
    ci = np.flatnonzero(is_contact_event)
    session_start = np.zeros(n, dtype=bool)
    session_start[ci] = _previous_within(cust, t, ci, channel[ci], session_gap_us)
    # A matter starts when the customer's previous contact event, any channel, is older than the
    # horizon (rows of ci are in customer-time order already).
    new_matter = np.zeros(n, dtype=bool)
    new_matter[ci] = _first_in_run([cust[ci]], t[ci], horizon_us)
    starts = np.flatnonzero(session_start)
    is_start = session_start
    matter_of_start = np.cumsum(new_matter[starts]) - 1
    continuing = ~new_matter[starts]
    hop = np.zeros(len(starts), dtype=bool)
    handoff = np.zeros(len(starts), dtype=bool)
    if len(starts) > 1:
        hop[1:] = continuing[1:] & (channel[starts][1:] != channel[starts][:-1])
        handoff[1:] = continuing[1:] & (dept[starts][1:] != dept[starts][:-1])

    # Which matter every row follows: that of the same customer's last contact at or before it,
    # if that contact is at most the horizon before (a resolution weeks later is another story).
    start_pos = np.where(is_start, pos, -1)
    last_start = np.maximum.accumulate(start_pos) if n else start_pos
    ok = last_start >= 0
    ok[ok] = cust[last_start[ok]] == cust[ok]
    ok[ok] = t[ok] - t[last_start[ok]] <= horizon_us
    matter_at = np.full(n, -1, dtype=np.int64)
    matter_id = np.full(n, -1, dtype=np.int64)
    matter_id[starts] = matter_of_start
    matter_at[ok] = matter_id[last_start[ok]]
    matters_n = int(matter_of_start[-1]) + 1 if len(starts) else 0

    # Asks: data requests, one per touchpoint and session gap.
    ri = np.flatnonzero(role == _code_of(roles, "data_request"))
    asks = ri[_previous_within(cust, t, ri, tp[ri], session_gap_us)]

    # Reopened: a resolution followed by a contact within the horizon, or a reopen event.
    next_start = np.where(is_start, pos, n)
    next_start = np.minimum.accumulate(next_start[::-1])[::-1] if n else next_start
    res = np.flatnonzero(role == _code_of(roles, "resolution"))
    nxt = next_start[res]
    has_next = nxt < n
    has_next[has_next] = cust[nxt[has_next]] == cust[res[has_next]]
    reopening = np.zeros(len(res), dtype=bool)
    reopening[has_next] = t[nxt[has_next]] - t[res[has_next]] <= horizon_us
    reopen_rows = np.flatnonzero(role == _code_of(roles, "reopen"))

    def per_matter(rows: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        mids = matter_at[rows]
        keep = mids >= 0
        w = None if weights is None else weights[keep].astype(float)
        return np.bincount(mids[keep], weights=w, minlength=matters_n)

    contacts_per = np.bincount(matter_of_start, minlength=matters_n)
    hops = np.bincount(matter_of_start, weights=hop.astype(float), minlength=matters_n)
    handoffs = np.bincount(matter_of_start, weights=handoff.astype(float), minlength=matters_n)
    asks_per = per_matter(asks)
    reopened = (per_matter(res, reopening) + per_matter(reopen_rows)) > 0
    first_res_t = np.full(matters_n, -1, dtype=np.int64)
    res_m = matter_at[res]
    with_m = res_m >= 0
    first_ids, first_idx = np.unique(res_m[with_m], return_index=True)
    first_res_t[first_ids] = t[res[with_m]][first_idx]
    head = starts[new_matter[starts]]
    last_idx = np.searchsorted(matter_of_start, np.arange(matters_n), side="right") - 1
    last_t = t[starts][last_idx] if matters_n else np.array([], dtype=np.int64)
    first_t = t[head]
    resolved = first_res_t >= 0
    end_t = np.where(resolved, first_res_t, last_t)
    hours = np.maximum(end_t - first_t, 0) / 3_600_000_000
    asked_again = np.maximum(asks_per - 1, 0)
    if "known" in stream.column_names and len(asks):
        # The matter's first ask counts too when it asked for what the profile already held.
        known = np.asarray(stream["known"].to_numpy(zero_copy_only=False), dtype=bool)[order]
        ask_matter = matter_at[asks]
        inside = ask_matter >= 0
        first_ids, first_at = np.unique(ask_matter[inside], return_index=True)
        first_known = known[asks[inside][first_at]]
        asked_again[first_ids[first_known]] += 1
    repeats = contacts_per - 1
    w = EFFORT_WEIGHTS
    effort = (
        w["repeat_contacts"] * repeats
        + w["channel_hops"] * hops
        + w["handoffs"] * handoffs
        + w["asked_again"] * asked_again
        + w["reopened"] * reopened
        + w["resolution_days_log"] * np.log1p(hours / 24.0)
    )

    def frame(
        rows: np.ndarray, tp_codes: np.ndarray | None = None, **extra: object
    ) -> pd.DataFrame:
        codes = tp[rows] if tp_codes is None else tp_codes
        return pd.DataFrame(
            {
                "customer": cust[rows],
                "t": t[rows],
                "month": _month(t[rows]),
                "touchpoint": _decode(codes, tps, NO_TOUCHPOINT),
                "stage": _decode(stage[rows], stages, NO_TOUCHPOINT),
                "department": _decode(dept[rows], depts, NO_TOUCHPOINT),
                "channel": _decode(channel[rows], channels, NO_TOUCHPOINT),
                "attribute": (
                    _decode(attribute[rows], attributes, NO_TOUCHPOINT) if has_attribute else None
                ),
                **extra,
            }
        )

    in_period = np.ones(n, dtype=bool)
    if start_us is not None:
        in_period &= t >= start_us
    if end_us is not None:
        in_period &= t < end_us

    keep = in_period[starts]
    contacts = frame(
        starts[keep],
        repeat=continuing[keep].astype(np.int64),
        matter=matter_of_start[keep],
    )
    keep = in_period[head]
    matters = frame(
        head[keep],
        matter=np.arange(matters_n)[keep],
        contacts=contacts_per[keep],
        repeats=repeats[keep],
        hops=hops[keep].astype(np.int64),
        handoffs=handoffs[keep].astype(np.int64),
        asks=asks_per[keep].astype(np.int64),
        asked_again=asked_again[keep].astype(np.int64),
        reopened=reopened[keep].astype(np.int64),
        resolved=resolved[keep].astype(np.int64),
        resolution_h=hours[keep],
        effort=effort[keep],
    )
    surveys = _survey_rows(stream, order, role == _code_of(roles, "survey"), in_period)
    si, kind, score, about = surveys
    recent = matter_at[si] >= 0
    matter = np.where(recent, matter_at[si], -1)
    head_of = head[np.maximum(matter, 0)] if len(head) else np.zeros(len(si), dtype=np.int64)
    answers = frame(
        si,
        np.where(recent, tp[head_of] if len(head) else -1, -1),
        kind=kind,
        score=score.astype(np.int64),
        matter=matter,
    )
    head_channel = channel[head_of] if len(head) else np.full(len(si), -1)
    channel_names = np.asarray([*channels.tolist(), "survey"], dtype=object)
    answers["channel"] = channel_names[np.where(recent, head_channel, len(channels))]
    touchpoints = np.asarray(answers["touchpoint"].astype(object))
    named = np.asarray([a is not None for a in about], dtype=bool)
    touchpoints[named] = about[named]
    answers["touchpoint"] = touchpoints
    return SequenceFacts(contacts, matters, answers, customer_values)


def _survey_rows(
    stream: pa.Table, order: np.ndarray, is_survey: np.ndarray, in_period: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The valid survey answers in the period: positions, kind, score and ``touchpoint``."""
    si = np.flatnonzero(is_survey & in_period)
    props = stream["props"].take(pa.array(order[si]))
    kind, score, about = _answers(props)
    valid = np.zeros(len(si), dtype=bool)
    for name, (lo, hi) in SURVEY_SCALES.items():
        valid |= (kind == name) & (score >= lo) & (score <= hi) & (score == np.round(score))
    return si[valid], kind[valid], score[valid], about[valid]


ANSWER_SCHEMA = pa.schema(
    [("kind", pa.string()), ("score", pa.float64()), ("touchpoint", pa.string())]
)


def _answers(props: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kind, score, touchpoint) arrays of survey properties: Arrow's JSON reader over them as
    one newline-delimited document, or one by one where some line does not fit the schema."""
    # One object per line: raw newlines (only ever whitespace in JSON) become spaces, and what is
    # not an object (null, a list, a number) becomes {}; Arrow's reader must see objects only.
    text = pc.replace_substring(pc.replace_substring(props.fill_null("{}"), "\n", " "), "\r", " ")
    text = pc.if_else(pc.starts_with(pc.utf8_ltrim_whitespace(text), "{"), text, "{}")
    lines = pc.binary_join_element_wise(text, "", "\n").combine_chunks()
    try:
        if not len(lines):
            raise pa.ArrowInvalid("no answers")
        start, end = lines.offset, lines.offset + len(lines)
        width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
        offsets = np.frombuffer(lines.buffers()[1], dtype=width)[[start, end]]
        data = lines.buffers()[2][int(offsets[0]) : int(offsets[1])]
        table = pa_json.read_json(
            pa.BufferReader(data),
            parse_options=pa_json.ParseOptions(
                explicit_schema=ANSWER_SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
        if table.num_rows != len(props):
            raise pa.ArrowInvalid("a line was not one object")
    except pa.ArrowInvalid:
        parsed = [_answer(p) for p in props.to_pylist()]
        return (
            np.asarray([a[0] for a in parsed], dtype=object),
            np.asarray([a[1] for a in parsed], dtype=float),
            np.asarray([a[2] for a in parsed], dtype=object),
        )
    kind = np.asarray(table["kind"].to_pylist(), dtype=object)
    score = table["score"].fill_null(math.nan).to_numpy()
    about = np.asarray([a or None for a in table["touchpoint"].to_pylist()], dtype=object)
    return kind, score, about


def _answer(properties: str | None) -> tuple[str | None, float, str | None]:
    """(kind, score, touchpoint) of a Survey Answered event's properties; NaN if unusable."""
    try:
        data = orjson.loads(properties) if properties else {}
    except orjson.JSONDecodeError:
        return None, math.nan, None
    if not isinstance(data, dict):
        return None, math.nan, None
    kind, score, about = data.get("kind"), data.get("score"), data.get("touchpoint")
    number = (
        float(score) if isinstance(score, int | float) and not isinstance(score, bool) else math.nan
    )
    return (
        kind if isinstance(kind, str) else None,
        number,
        about if isinstance(about, str) and about else None,
    )

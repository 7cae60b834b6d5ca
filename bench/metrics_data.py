"""A year of a telecom's events in the demo journey map's vocabulary, for the metrics bench.

Support *matters* drive the behavioural metrics: each has one to five contacts a few days
apart (phone through the IVR, e-mail, chat, a branch, a technician), sometimes a request for
the customer's details, sometimes a resolution event and a later contact (a reopening), and
sometimes a CES 2.0 answer whose mean falls with the matter's planted effort. Around them:
relationship NPS answers, self-service pages, app screens, invoices and cancellations, so every
catalogue metric has data. Vectorised and seeded: the same arguments give the same table.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from cxm.lake import EVENTS_SCHEMA

START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 365
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
START_US = int(START.timestamp()) * SECOND

# (type, event, channel) of each kind of event the generator writes.
KINDS: list[tuple[str, str, str]] = [
    ("track", "IVR Call", "ivr"),  # 0
    ("track", "Call Started", "phone"),  # 1
    ("track", "Call Handled", "phone"),  # 2
    ("track", "Email Received", "email"),  # 3
    ("track", "Chat Started", "chat"),  # 4
    ("track", "Chat Transcript", "chat"),  # 5
    ("track", "Branch Visit", "branch"),  # 6
    ("track", "Issue Reported", "branch"),  # 7
    ("track", "Technician Visit", "field_service"),  # 8
    ("track", "Data Requested", "phone"),  # 9
    ("track", "Case Resolved", "field_service"),  # 10
    ("track", "Survey Answered", "survey"),  # 11
    ("page", "Home", "web"),  # 12
    ("page", "Help – Invoices", "web"),  # 13
    ("page", "My Account", "web"),  # 14
    ("screen", "Usage", "app"),  # 15
    ("track", "Invoice Issued", "other"),  # 16
    ("track", "Subscription Cancelled", "other"),  # 17
    ("page", "Offer – Fibre", "web"),  # 18
    ("track", "Email Answered", "email"),  # 19
]
# Each contact channel's events, in order, minutes apart.
CONTACT_EVENTS = {0: [0, 1, 2], 1: [3], 2: [4, 5], 3: [6, 7], 4: [8]}
CONTACT_FAMILY = np.array([0, 1, 2, 3, 4])  # phone, email, chat, branch, field service
SURVEYS = [f'{{"kind": "ces", "score": {s}}}' for s in range(1, 8)] + [
    f'{{"kind": "nps", "score": {s}}}' for s in range(0, 11)
]
BACKGROUND = np.array([12, 13, 14, 15, 16, 18])
BACKGROUND_P = np.array([0.25, 0.08, 0.12, 0.35, 0.1, 0.1])


def generate(events: int, customers: int, seed: int) -> tuple[pa.Table, dict[str, float]]:
    """About ``events`` events of ``customers`` customers, and the planted truth's summary."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list[np.ndarray]] = {"c": [], "t": [], "kind": [], "prop": []}

    def emit(c: np.ndarray, t: np.ndarray, kind: np.ndarray | int, prop: np.ndarray | None = None):
        cols["c"].append(c.astype(np.int64))
        cols["t"].append(t.astype(np.int64))
        cols["kind"].append(np.broadcast_to(np.asarray(kind, dtype=np.int16), c.shape).copy())
        cols["prop"].append(np.full(c.shape, -1, np.int16) if prop is None else prop)

    matters = events // 25
    mc = rng.integers(0, customers, matters)
    start = START_US + rng.integers(0, (DAYS - 20) * DAY, matters)
    contacts = np.minimum(1 + rng.geometric(0.55, matters) - 1, 5)
    hops = np.zeros(matters)
    asks = np.zeros(matters)
    at = start.copy()
    previous = np.full(matters, -1)
    for k in range(5):
        live = contacts > k
        channel = rng.choice(5, matters, p=[0.45, 0.15, 0.2, 0.12, 0.08])
        if k:
            at = at + rng.integers(HOUR * 3, 5 * DAY, matters)
        hops += live & (previous >= 0) & (channel != previous)
        previous = np.where(live, channel, previous)
        for ch, kinds in CONTACT_EVENTS.items():
            sel = live & (channel == ch)
            for i, kind in enumerate(kinds):
                emit(mc[sel], at[sel] + i * 4 * MINUTE, kind)
        ask = live & (rng.random(matters) < 0.3)
        asks += ask
        emit(mc[ask], at[ask] + 2 * MINUTE, 9)
    resolved = rng.random(matters) < 0.5
    done = at + rng.integers(HOUR, 2 * DAY, matters)
    emit(mc[resolved], done[resolved], 10)
    reopen = resolved & (rng.random(matters) < 0.15)
    emit(mc[reopen], done[reopen] + rng.integers(HOUR, 3 * DAY, int(reopen.sum())), 3)
    email_answered = rng.random(matters) < 0.1
    emit(mc[email_answered], start[email_answered] + DAY, 19)
    effort = (contacts - 1) + hops + np.maximum(asks - 1, 0) + 2 * reopen
    answered = rng.random(matters) < 0.3
    ces = np.clip(np.rint(6.2 - 0.8 * effort + rng.normal(0, 1, matters)), 1, 7).astype(np.int16)
    emit(mc[answered], done[answered] + 6 * HOUR, 11, (ces[answered] - 1).astype(np.int16))

    nps_n = customers // 2
    nc = rng.integers(0, customers, nps_n)
    score = np.clip(np.rint(rng.normal(7.8, 2.0, nps_n)), 0, 10).astype(np.int16)
    emit(nc, START_US + rng.integers(0, DAYS * DAY, nps_n), 11, (7 + score).astype(np.int16))
    churners = rng.choice(customers, customers // 50, replace=False)
    emit(churners, START_US + rng.integers(30 * DAY, DAYS * DAY, len(churners)), 17)

    so_far = sum(len(c) for c in cols["c"])
    rest = max(events - so_far, 0)
    weight = rng.lognormal(0, 1.2, customers)
    bc = rng.choice(customers, rest, p=weight / weight.sum())
    emit(
        bc,
        START_US + rng.integers(0, DAYS * DAY, rest),
        rng.choice(BACKGROUND, rest, p=BACKGROUND_P),
    )
    return _table(rng, cols, customers), {
        "matters": float(matters),
        "ces_answers": float(answered.sum()),
    }


def _table(rng: np.random.Generator, cols: dict[str, list[np.ndarray]], customers: int) -> pa.Table:
    c = np.concatenate(cols["c"])
    t = np.concatenate(cols["t"])
    kind = np.concatenate(cols["kind"])
    prop = np.concatenate(cols["prop"])
    n = len(c)
    digits = np.frombuffer(rng.bytes(10 * customers).hex().encode(), dtype="S20")
    ids = pa.array(np.char.add(b"p_", digits)).cast(pa.string())
    types = pa.array([k[0] for k in KINDS])
    names = pa.array([k[1] for k in KINDS])
    channels = pa.array([k[2] for k in KINDS])
    props = pa.array(SURVEYS)
    kind_idx = pa.array(kind.astype(np.int32))
    prop_idx = pa.array(np.where(prop < 0, 0, prop).astype(np.int32), mask=prop < 0)
    return pa.table(
        {
            "seq": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "customer_id": ids.take(pa.array(c)),
            "ts": pa.array(t, pa.timestamp("us", tz="UTC")),
            "t": pa.array(t),
            "type": types.take(kind_idx),
            "event": names.take(kind_idx),
            "channel": channels.take(kind_idx),
            "source_id": pa.nulls(n, pa.int32()),
            "properties": props.take(prop_idx),
        },
        schema=EVENTS_SCHEMA,
    )

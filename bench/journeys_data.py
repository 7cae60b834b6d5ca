"""Synthetic journeys of a Polish telecom's customers, and the funnel's reference answer.

Ninety days of events for customers whose activity is skewed (a lognormal weight per customer:
most customers send a few events, some hundreds). On top of background traffic (site pages, app
screens, e-mails, SMS, invoices) run scripted journeys, so the journey queries find structure:

- plan shopping: ``Plan Viewed`` (web, app, sometimes a branch) → ``Checkout Started`` →
  ``Order Completed``, with delays from minutes to more than a week, repeated views and checkout
  attempts, and some phone sales that start at checkout;
- billing trouble: ``Payment Failed`` → paid later, or ``IVR Call``/``Call Started``/
  ``Chat Started`` → ``Ticket Opened`` → ``Ticket Closed`` → ``Survey Completed``;
- connection trouble: ``Connection Issue Reported`` → a call or a chat → ``Ticket Opened`` →
  ``Technician Visit`` → ``Ticket Closed`` → ``Survey Completed``.

Events reach the log a little after they happen (a few app events hours late), so ``seq`` follows
arrival, not ``t``. Everything is vectorised and seeded: the same arguments give the same table.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cxm.config import CHANNELS

VERSION = 1  # bump when the generator changes, so cached data sets are rebuilt
START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
DAYS = 90
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WINDOW_DAYS = 7
WINDOW_US = WINDOW_DAYS * DAY
START_US = int(START.timestamp()) * SECOND
END_US = START_US + DAYS * DAY

# The funnel every engine computes: (event name, channels or None for any channel).
FUNNEL_STEPS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("Plan Viewed", ("web", "app")),
    ("Checkout Started", None),
    ("Order Completed", None),
)

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("t", pa.int64(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("event", pa.string()),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("source_id", pa.int32()),
        pa.field("properties", pa.string()),
    ]
)

# Activity over a day in Polish local time (UTC+1 in winter): quiet nights, evening peak.
_LOCAL_HOURS = np.array(
    [1, 0.5, 0.3, 0.3, 0.3, 0.6, 1.5, 3, 4, 5, 5.5, 5.5]  # midnight to noon
    + [6, 5.5, 5.5, 5.5, 6, 7, 8, 8.5, 8, 6.5, 4, 2]
)
_UTC_OFFSET_H = 1

_PLANS = (
    ("Fibre 300", 59, 6),
    ("Fibre 600", 79, 9),
    ("Fibre 1000", 99, 6),
    ("Fibre 2000", 129, 1),
    ("Mobile S", 35, 5),
    ("Mobile M", 49, 8),
    ("Mobile Unlimited", 69, 7),
    ("TV + Fibre 600", 119, 3),
)
_CAMPAIGNS = ("winter-fibre", "invoice-reminder", "roaming-tips", "loyalty-bonus", "newsletter")

# Background traffic: (name, type, relative frequency, {channel: weight}, property texts).
_BACKGROUND: tuple[tuple[str, str, float, dict[str, float], tuple[str, ...]], ...] = (
    ("Home", "page", 14, {"web": 1}, ('{"path":"/"}',)),
    ("Offers", "page", 6, {"web": 1}, ('{"path":"/oferta"}', '{"path":"/oferta/swiatlowod"}')),
    ("Help Centre", "page", 4, {"web": 1}, ('{"path":"/pomoc"}', '{"path":"/pomoc/faktury"}')),
    ("Billing", "page", 3, {"web": 1}, ('{"path":"/konto/platnosci"}',)),
    ("Dashboard", "screen", 16, {"app": 1}, ("{}",)),
    ("Usage", "screen", 10, {"app": 1}, ("{}",)),
    ("Invoices", "screen", 4, {"app": 1}, ("{}",)),
    ("Offers", "screen", 3, {"app": 1}, ("{}",)),
    ("Signed In", "track", 6, {"web": 0.4, "app": 0.6}, ("{}",)),
    ("Push Opened", "track", 2, {"app": 1}, tuple(f'{{"campaign":"{c}"}}' for c in _CAMPAIGNS)),
    ("Email Opened", "track", 8, {"email": 1}, tuple(f'{{"campaign":"{c}"}}' for c in _CAMPAIGNS)),
    ("Email Clicked", "track", 2, {"email": 1}, tuple(f'{{"campaign":"{c}"}}' for c in _CAMPAIGNS)),
    ("SMS Delivered", "track", 4, {"sms": 1}, ('{"kind":"usage"}', '{"kind":"invoice"}')),
    ("Invoice Issued", "track", 3, {"email": 1}, tuple(f'{{"amount":{a}}}' for a in (49, 79, 119))),
    ("Invoice Paid", "track", 3, {"web": 0.4, "app": 0.6}, ("{}",)),
    ("Data Pack Purchased", "track", 1, {"app": 1}, ('{"pack":"10 GB","price":15}',)),
    ("Roaming Activated", "track", 0.5, {"app": 0.8, "web": 0.2}, ('{"zone":"EU"}',)),
    ("Coverage Checked", "track", 1, {"web": 1}, ('{"technology":"FTTH"}', '{"technology":"5G"}')),
    ("Store Visited", "track", 0.6, {"branch": 1}, ('{"store":"Warszawa Arkadia"}',)),
    ("Social Mention", "track", 0.3, {"social": 1}, ('{"sentiment":"negative"}', "{}")),
    ("IVR Call", "track", 0.8, {"ivr": 1}, ('{"menu":"balance"}',)),
)

_TYPES = {"track": "track", "page": "page", "screen": "screen"}


class _Catalogue:
    """Names, types and property texts as small integer codes; arrays of codes become strings
    only once, at the end."""

    def __init__(self) -> None:
        self.names: list[tuple[str, str]] = []
        self.props: list[str] = []
        self._name_code: dict[tuple[str, str], int] = {}
        self._prop_code: dict[str, int] = {}

    def event(self, name: str, kind: str = "track") -> int:
        key = (name, kind)
        if key not in self._name_code:
            self._name_code[key] = len(self.names)
            self.names.append(key)
        return self._name_code[key]

    def prop(self, text: str) -> int:
        if text not in self._prop_code:
            self._prop_code[text] = len(self.props)
            self.props.append(text)
        return self._prop_code[text]


_CHANNEL_CODE = {name: i for i, name in enumerate(CHANNELS)}


class _Log:
    """Events of the scripted journeys, collected as code arrays."""

    def __init__(self, rng: np.random.Generator, catalogue: _Catalogue) -> None:
        self.rng = rng
        self.cat = catalogue
        self.parts: list[tuple[np.ndarray, ...]] = []

    def emit(
        self,
        customer: np.ndarray,
        t: np.ndarray,
        name: str,
        channel: np.ndarray | str,
        props: np.ndarray | str = "{}",
    ) -> None:
        n = len(customer)
        code = np.full(n, self.cat.event(name), np.int16)
        if isinstance(channel, str):
            channel = np.full(n, _CHANNEL_CODE[channel], np.int8)
        if isinstance(props, str):
            props = np.full(n, self.cat.prop(props), np.int32)
        self.parts.append((customer, t, code, channel.astype(np.int8), props.astype(np.int32)))

    def channels(self, n: int, weights: dict[str, float]) -> np.ndarray:
        codes = np.array([_CHANNEL_CODE[c] for c in weights], np.int8)
        p = np.array(list(weights.values()), float)
        return codes[self.rng.choice(len(codes), n, p=p / p.sum())]

    def chance(self, n: int, p: float) -> np.ndarray:
        return self.rng.random(n) < p

    def minutes(self, n: int, mean: float) -> np.ndarray:
        return (self.rng.exponential(mean, n) * MINUTE).astype(np.int64) + 1

    def lognormal(self, n: int, median_us: float, sigma: float) -> np.ndarray:
        return (median_us * self.rng.lognormal(0.0, sigma, n)).astype(np.int64) + 1


def _daytimes(rng: np.random.Generator, n: int, lead_days: int = 0) -> np.ndarray:
    """Moments in the 90 days (starting ``lead_days`` early) with the day's rhythm."""
    day = rng.integers(-lead_days, DAYS, n)
    p = _LOCAL_HOURS / _LOCAL_HOURS.sum()
    hour = rng.choice(24, n, p=p) - _UTC_OFFSET_H
    within = rng.integers(0, HOUR, n)
    return START_US + day * DAY + hour * HOUR + within


def _grouped_cumsum(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Running sums that restart at each group (consecutive rows, ``sizes`` of each group)."""
    total = np.cumsum(values)
    ends = np.cumsum(sizes)
    before = np.concatenate(([0], total[ends[:-1] - 1])) if len(sizes) else np.zeros(0, np.int64)
    return total - np.repeat(before, sizes)


def _plan_shopping(log: _Log, shoppers: np.ndarray) -> None:
    rng, n = log.rng, len(shoppers)
    plan_w = np.array([w for _, _, w in _PLANS], float)
    plan = rng.choice(len(_PLANS), n, p=plan_w / plan_w.sum())
    plan_props = np.array(
        [log.cat.prop(f'{{"plan":"{name}","price":{price}}}') for name, price, _ in _PLANS]
    )[plan]
    t0 = _daytimes(rng, n, lead_days=5)
    device = log.channels(n, {"web": 0.55, "app": 0.40, "branch": 0.05})

    views = 1 + rng.poisson(1.2, n)
    who = np.repeat(np.arange(n), views)
    gap = np.where(
        rng.random(len(who)) < 0.8, log.minutes(len(who), 4), log.lognormal(len(who), DAY, 0.9)
    )
    first = np.concatenate(([0], np.cumsum(views)[:-1]))
    gap[first] = 0
    view_t = t0[who] + _grouped_cumsum(gap, views)
    switched = log.chance(len(who), 0.15) & (device[who] != _CHANNEL_CODE["branch"])
    view_channel = np.where(switched, log.channels(len(who), {"web": 0.5, "app": 0.5}), device[who])
    log.emit(shoppers[who], view_t, "Plan Viewed", view_channel, plan_props[who])
    last_view = view_t[np.cumsum(views) - 1]

    # Checkout: more likely after several views; soon in the same visit, or days later.
    go = rng.random(n) < np.minimum(0.26 + 0.05 * (views - 1), 0.5)
    idx = np.flatnonzero(go)
    k = len(idx)
    kind = rng.random(k)
    delay = np.where(
        kind < 0.55,
        log.minutes(k, 6),
        np.where(kind < 0.85, log.lognormal(k, 20 * HOUR, 0.8), log.lognormal(k, 6 * DAY, 0.6)),
    )
    checkout_t = last_view[idx] + delay
    checkout_channel = np.where(log.chance(k, 0.07), _CHANNEL_CODE["phone"], device[idx])
    log.emit(shoppers[idx], checkout_t, "Checkout Started", checkout_channel, plan_props[idx])
    # A second attempt (a declined card, a changed mind) shortly after the first.
    again = log.chance(k, 0.2)
    retry_t = checkout_t[again] + log.minutes(int(again.sum()), 30)
    log.emit(
        shoppers[idx[again]], retry_t, "Checkout Started", checkout_channel[again],
        plan_props[idx[again]],
    )  # fmt: skip
    last_checkout = checkout_t.copy()
    last_checkout[again] = retry_t

    done = log.chance(k, 0.62)
    m = int(done.sum())
    order_delay = np.where(log.chance(m, 0.8), log.minutes(m, 4), log.lognormal(m, 36 * HOUR, 0.7))
    log.emit(
        shoppers[idx[done]], last_checkout[done] + order_delay, "Order Completed",
        checkout_channel[done], plan_props[idx[done]],
    )  # fmt: skip


def _phone_sales(log: _Log, customers: np.ndarray) -> None:
    n = len(customers)
    t = _daytimes(log.rng, n)
    log.emit(customers, t, "Call Started", "phone", '{"queue":"sales"}')
    checkout_t = t + log.minutes(n, 8)
    log.emit(customers, checkout_t, "Checkout Started", "phone")
    done = log.chance(n, 0.7)
    log.emit(customers[done], checkout_t[done] + log.minutes(int(done.sum()), 3),
             "Order Completed", "phone")  # fmt: skip


def _contact(
    log: _Log, customers: np.ndarray, after: np.ndarray, queue: str
) -> tuple[np.ndarray, np.ndarray]:
    """A call (often through the IVR) or a chat after ``after``: its times and channels."""
    n = len(customers)
    channel = log.channels(n, {"phone": 0.6, "chat": 0.4})
    t = after + log.lognormal(n, 3 * HOUR, 1.2)
    by_phone = channel == _CHANNEL_CODE["phone"]
    ivr = by_phone & log.chance(n, 0.7)
    log.emit(customers[ivr], t[ivr] - log.minutes(int(ivr.sum()), 1), "IVR Call", "ivr",
             f'{{"menu":"{queue}"}}')  # fmt: skip
    log.emit(customers[by_phone], t[by_phone], "Call Started", "phone", f'{{"queue":"{queue}"}}')
    log.emit(customers[~by_phone], t[~by_phone], "Chat Started", "chat", f'{{"queue":"{queue}"}}')
    return t, channel


def _survey(log: _Log, customers: np.ndarray, after: np.ndarray, p: float, good: float) -> None:
    answered = log.chance(len(customers), p)
    n = int(answered.sum())
    nps = np.where(log.rng.random(n) < good, log.rng.integers(8, 11, n), log.rng.integers(0, 8, n))
    props = np.array([log.cat.prop(f'{{"nps":{score}}}') for score in range(11)])[nps]
    log.emit(customers[answered], after[answered] + log.lognormal(n, 2 * HOUR, 1.0),
             "Survey Completed", "survey", props)  # fmt: skip


def _billing_trouble(log: _Log, customers: np.ndarray) -> None:
    rng, n = log.rng, len(customers)
    t = _daytimes(rng, n)
    reasons = np.array([log.cat.prop(f'{{"reason":"{r}"}}') for r in ("card_declined", "expired")])
    log.emit(customers, t, "Payment Failed", log.channels(n, {"app": 0.5, "web": 0.3,
             "email": 0.2}), reasons[rng.integers(0, 2, n)])  # fmt: skip
    what = rng.random(n)
    paid = what < 0.45
    log.emit(customers[paid], t[paid] + log.lognormal(int(paid.sum()), DAY, 1.0), "Invoice Paid",
             log.channels(int(paid.sum()), {"web": 0.4, "app": 0.6}))  # fmt: skip
    calls = (what >= 0.45) & (what < 0.8)
    who = customers[calls]
    contact_t, channel = _contact(log, who, t[calls], "billing")
    ticket = log.chance(len(who), 0.6)
    ticket_t = contact_t[ticket] + log.minutes(int(ticket.sum()), 5)
    log.emit(who[ticket], ticket_t, "Ticket Opened", channel[ticket], '{"category":"billing"}')
    fixed = ~ticket & log.chance(len(who), 0.5)
    log.emit(who[fixed], contact_t[fixed] + log.minutes(int(fixed.sum()), 10), "Invoice Paid",
             channel[fixed])  # fmt: skip
    closed = log.chance(len(ticket_t), 0.85)
    closed_t = ticket_t[closed] + log.lognormal(int(closed.sum()), DAY, 0.8)
    log.emit(who[ticket][closed], closed_t, "Ticket Closed", channel[ticket][closed],
             '{"category":"billing"}')  # fmt: skip
    _survey(log, who[ticket][closed], closed_t, 0.3, 0.45)


def _connection_trouble(log: _Log, customers: np.ndarray) -> None:
    rng, n = log.rng, len(customers)
    t = _daytimes(rng, n)
    log.emit(customers, t, "Connection Issue Reported", log.channels(n, {"app": 0.6, "web": 0.4}),
             '{"service":"internet"}')  # fmt: skip
    reach = rng.random(n) < 0.9
    who = customers[reach]
    contact_t, channel = _contact(log, who, t[reach], "technical")
    ticket = log.chance(len(who), 0.85)
    who, channel = who[ticket], channel[ticket]
    ticket_t = contact_t[ticket] + log.minutes(len(who), 5)
    log.emit(who, ticket_t, "Ticket Opened", channel, '{"category":"connection"}')
    visit = log.chance(len(who), 0.4)
    visit_t = ticket_t[visit] + log.lognormal(int(visit.sum()), 2 * DAY, 0.6)
    log.emit(who[visit], visit_t, "Technician Visit", "field_service", '{"outcome":"fixed"}')
    close_t = np.where(visit, 0, ticket_t + log.lognormal(len(who), 8 * HOUR, 1.0))
    close_t[visit] = visit_t + log.minutes(int(visit.sum()), 120)
    close_channel = np.where(visit, _CHANNEL_CODE["field_service"], channel)
    closed = log.chance(len(who), 0.9)
    log.emit(who[closed], close_t[closed], "Ticket Closed", close_channel[closed],
             '{"category":"connection"}')  # fmt: skip
    _survey(log, who[closed], close_t[closed], 0.35, 0.55)


def _background(
    rng: np.random.Generator, cat: _Catalogue, weights: np.ndarray, n: int
) -> tuple[np.ndarray, ...]:
    """``n`` events spread by activity weight, in visits of a few events minutes apart."""
    counts = rng.multinomial(n, weights / weights.sum())
    customer = np.repeat(np.arange(len(weights), dtype=np.int32), counts)
    # A new visit starts at a customer's first event and otherwise with probability 0.35.
    new_visit = rng.random(n) < 0.35
    new_visit[np.concatenate(([0], np.cumsum(counts)[:-1]))[counts > 0]] = True
    visit = np.cumsum(new_visit) - 1
    visit_start = _daytimes(rng, int(new_visit.sum()))
    gaps = (rng.exponential(3.0, n) * MINUTE).astype(np.int64) + SECOND
    gaps[new_visit] = 0
    sizes = np.bincount(visit)
    t = visit_start[visit] + _grouped_cumsum(gaps, sizes)
    # Background traffic is steady: what falls outside the 90 days wraps around into them.
    t = START_US + (t - START_US) % (DAYS * DAY)

    freq = np.array([f for _, _, f, _, _ in _BACKGROUND], float)
    which = rng.choice(len(_BACKGROUND), n, p=freq / freq.sum())
    code = np.empty(n, np.int16)
    channel = np.empty(n, np.int8)
    props = np.empty(n, np.int32)
    for i, (name, kind, _, channels, texts) in enumerate(_BACKGROUND):
        rows = np.flatnonzero(which == i)
        code[rows] = cat.event(name, _TYPES[kind])
        ch = np.array([_CHANNEL_CODE[c] for c in channels], np.int8)
        p = np.array(list(channels.values()), float)
        channel[rows] = ch[rng.choice(len(ch), len(rows), p=p / p.sum())]
        pcodes = np.array([cat.prop(x) for x in texts], np.int32)
        props[rows] = pcodes[rng.integers(0, len(pcodes), len(rows))]
    return customer, t, code, channel, props


def customer_ids(rng: np.random.Generator, customers: int) -> pa.Array:
    """Profile ids shaped like cxm's (``p_`` and 20 hex digits)."""
    digits = np.frombuffer(rng.bytes(10 * customers).hex().encode(), dtype="S20")
    return pa.array(np.char.add(b"p_", digits)).cast(pa.string())


def generate(events: int, customers: int, seed: int) -> pa.Table:
    """``events`` events of ``customers`` customers over 90 days (the lake's event schema)."""
    rng = np.random.default_rng(seed)
    cat = _Catalogue()
    log = _Log(rng, cat)
    weights = rng.lognormal(0.0, 1.3, customers)
    journey_p = np.sqrt(weights) / np.sqrt(weights).sum()

    def pick(share: float) -> np.ndarray:
        return rng.choice(customers, int(share * customers), p=journey_p).astype(np.int32)

    _plan_shopping(log, pick(0.45))
    _phone_sales(log, pick(0.02))
    _billing_trouble(log, pick(0.12))
    _connection_trouble(log, pick(0.10))
    scripted = [np.concatenate(cols) for cols in zip(*log.parts, strict=True)]
    seen = (scripted[1] >= START_US) & (scripted[1] < END_US)
    scripted = [col[seen] for col in scripted]
    if len(scripted[0]) > events:
        keep = np.sort(rng.choice(len(scripted[0]), events, replace=False))
        scripted = [col[keep] for col in scripted]
    background = _background(rng, cat, weights, events - len(scripted[0]))
    customer, t, code, channel, props = (
        np.concatenate((a, b)) for a, b in zip(scripted, background, strict=True)
    )

    # Arrival: seconds after the fact, a few percent (apps offline) hours later.
    late = rng.random(len(t)) < 0.03
    lag = np.where(
        late,
        (2 * HOUR * rng.lognormal(0, 1.5, len(t))).astype(np.int64),
        (rng.exponential(1.5, len(t)) * SECOND).astype(np.int64),
    )
    order = np.argsort(t + lag, kind="stable")
    customer, t, code, channel, props = (a[order] for a in (customer, t, code, channel, props))

    ids = customer_ids(rng, customers)
    names = pa.array([name for name, _ in cat.names], pa.string())
    kinds = pa.array([kind for _, kind in cat.names], pa.string())
    code_array = pa.array(code.astype(np.int32))
    t_array = pa.array(t, pa.int64())
    return pa.table(
        {
            "seq": pa.array(np.arange(1, len(t) + 1, dtype=np.int64)),
            "customer_id": ids.take(pa.array(customer)),
            "ts": t_array.cast(pa.timestamp("us", tz="UTC")),
            "t": t_array,
            "type": kinds.take(code_array),
            "event": names.take(code_array),
            "channel": pa.array(list(CHANNELS), pa.string()).take(
                pa.array(channel.astype(np.int32))
            ),
            "source_id": pa.array(channel.astype(np.int32) + 1, pa.int32()),
            "properties": pa.array(cat.props, pa.string()).take(pa.array(props)),
        },
        schema=EVENTS_SCHEMA,
    )


def fingerprint(events: int, customers: int, seed: int) -> str:
    return f"events{events}-customers{customers}-seed{seed}-v{VERSION}"


def load_or_generate(data_dir: Path, events: int, customers: int, seed: int) -> tuple[Path, bool]:
    """The Parquet file of this data set, generated on first use; and whether it was cached."""
    path = data_dir / f"{fingerprint(events, customers, seed)}.parquet"
    if path.exists():
        return path, True
    data_dir.mkdir(parents=True, exist_ok=True)
    table = generate(events, customers, seed)
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial, row_group_size=1_000_000, compression="zstd")
    partial.rename(path)
    return path, False


# --- the funnel's reference answer -------------------------------------------------------------


@dataclass(frozen=True)
class FunnelResult:
    """Customers reaching at least each step, and mean seconds to reach steps 2.. from step 1."""

    customers: tuple[int, ...]
    mean_seconds: tuple[float | None, ...]

    def matches(self, other: FunnelResult) -> bool:
        if self.customers != other.customers:
            return False
        for a, b in zip(self.mean_seconds, other.mean_seconds, strict=True):
            if (a is None) != (b is None):
                return False
            if a is not None and b is not None and not math.isclose(a, b, rel_tol=1e-9):
                return False
        return True

    def __str__(self) -> str:
        counts = " → ".join(f"{c:,}" for c in self.customers)
        means = ", ".join("-" if m is None else f"{m / 3600:.2f} h" for m in self.mean_seconds)
        return f"{counts} customers; mean time to convert {means}"


def step_of_rows(table: pa.Table) -> np.ndarray:
    """0 for rows matching no step, else the (1-based) funnel step the row matches."""
    event = np.asarray(table.column("event").to_numpy(zero_copy_only=False), dtype=object)
    channel = np.asarray(table.column("channel").to_numpy(zero_copy_only=False), dtype=object)
    step = np.zeros(len(event), np.int8)
    for k, (name, channels) in enumerate(FUNNEL_STEPS, start=1):
        hit = event == name
        if channels is not None:
            hit &= np.isin(channel, list(channels))
        step[hit] = k
    return step


def reference_funnel(table: pa.Table, window_us: int = WINDOW_US) -> FunnelResult:
    """The funnel by brute force over pairs of events, written independently of the SQL's
    greedy chaining: slow, for small tables only."""
    step = step_of_rows(table)
    customers = table.column("customer_id").to_pylist()
    times = table.column("t").to_pylist()
    by_customer: dict[str, list[list[int]]] = defaultdict(lambda: [[], [], []])
    for customer, t, k in zip(customers, times, step.tolist(), strict=True):
        if k:
            by_customer[customer][k - 1].append(t)
    reached = [0, 0, 0]
    spans: list[list[int]] = [[], []]
    for first, second, third in by_customer.values():
        if not first:
            continue
        second.sort()
        reached[0] += 1
        d2 = [b - a for a in first for b in second if a < b <= a + window_us]
        d3 = []
        for a in first:
            for c in third:
                if a < c <= a + window_us:
                    i = bisect.bisect_right(second, a)
                    if i < len(second) and second[i] < c:
                        d3.append(c - a)
        for level, found in ((1, d2), (2, d3)):
            if found:
                reached[level] += 1
                spans[level - 1].append(min(found))
    return FunnelResult(
        customers=tuple(reached),
        mean_seconds=tuple(sum(s) / len(s) / SECOND if s else None for s in spans),
    )


def edge_cases() -> pa.Table:
    """Hand-made customers on the edges of the definition (ties, the window's end, order)."""
    w = WINDOW_US
    rows = [
        ("tie", [(1, 0), (2, 0)]),  # same moment: not "after"
        ("edge", [(1, 0), (2, w), (3, w)]),  # step 2 exactly at the window's end; 3 a tie
        ("late", [(1, 0), (2, 1), (1, 2), (2, 3), (3, w + 1)]),  # only the second start fits
        ("backwards", [(2, 0), (3, 1), (1, 2)]),
        ("branch", [(4, 0), (2, 1), (3, 2)]),  # step 1 in a branch does not count
        ("interleaved", [(1, 0), (2, 10), (2, 20), (3, 15)]),
        ("far", [(1, 0), (2, w + 1), (3, w + 2)]),
    ]
    names = {1: ("Plan Viewed", "web"), 2: ("Checkout Started", "web"),
             3: ("Order Completed", "app"), 4: ("Plan Viewed", "branch")}  # fmt: skip
    flat = [(f"p_edge_{who}", START_US + DAY + t, names[k]) for who, evs in rows for k, t in evs]
    t = pa.array([x[1] for x in flat], pa.int64())
    n = len(flat)
    return pa.table(
        {
            "seq": pa.array(range(1, n + 1), pa.int64()),
            "customer_id": [x[0] for x in flat],
            "ts": t.cast(pa.timestamp("us", tz="UTC")),
            "t": t,
            "type": ["track"] * n,
            "event": [x[2][0] for x in flat],
            "channel": [x[2][1] for x in flat],
            "source_id": pa.array([1] * n, pa.int32()),
            "properties": ["{}"] * n,
        },
        schema=EVENTS_SCHEMA,
    )

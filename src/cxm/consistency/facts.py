"""Canonical facts: what the company means to say, from when to when, and where it says it.

A fact is written as data (``cxm consistency load FILE``, ``PUT /api/consistency/facts``)::

    facts:
      - id: price.roaming-eu            # lower-case letters, digits, '.', '-'
        name: EU roaming pack
        kind: price                     # price and fee are money; term, hours, policy text
        department: sales               # who owns the truth (conflicts are routed there)
        values:                         # each valid from its day until the next one's
          - {value: 25 PLN, from: 2025-01-01}
          - {value: 19 PLN, from: 2026-03-01}
        observe:                        # events that state it, and who saw them
          - {event: Add-on Purchased, property: price, where: {addon: Roaming Pack EU+}}
        statements:                     # documents that state it
          - {channel: kb, where: "kb:roaming"}            # read from the article's text
          - {channel: email, where: "rule:welcome"}       # read from an automation rule's
                                                          # e-mail and in-app templates
          - {channel: agent, where: "macro: prices", value: 19 PLN, as_of: 2026-10-01}

Money is an amount and an ISO currency (``59 PLN``, ``19,99 zł``, ``€5``: zł, zl and złotych
are PLN); a value of another kind is text, compared without case and extra spaces. A value
may end with ``to`` (the first day it no longer holds); periods that overlap are refused, as
are unknown currencies and malformed amounts or dates, each with where it is. A fact in a file
that has problems does not stop the good ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.errors import ErrorDetail, InvalidInput, NotFound
from cxm.store.metadata import utcnow

KINDS = ("price", "fee", "term", "hours", "policy")
MONEY_KINDS = ("price", "fee")
FACT_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,99}$")
CURRENCIES = {"PLN", "EUR", "USD", "GBP", "CHF", "CZK", "UAH", "RUB", "SEK", "NOK", "DKK"}
CURRENCY_WORDS = {"zł": "PLN", "zl": "PLN", "złotych": "PLN", "zlotych": "PLN", "pln": "PLN",
                  "злотых": "PLN", "€": "EUR", "eur": "EUR", "euro": "EUR", "$": "USD",
                  "usd": "USD", "£": "GBP"}  # fmt: skip
_MONEY = re.compile(
    r"^\s*(?P<pre>[€$£])?\s*(?P<amount>-?\d+(?:[ \u00a0]\d{3})*(?:[.,]\d{1,2})?)\s*"
    r"(?P<cur>[A-Za-zżźćńółęąśŻŹĆŃÓŁĘĄŚа-яё]{1,8})?\s*$"
)
# Amounts mentioned in a text: "5 zł", "149 PLN", "10 злотых", "€5".
MENTIONED = re.compile(
    r"(?P<pre>[€$£])\s?(?P<amount1>\d+(?:[.,]\d{1,2})?)"
    r"|(?P<amount2>\d+(?:[.,]\d{1,2})?)\s?(?P<cur>PLN|zł|zl|złotych|злотых|EUR|euro|USD|€)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Value:
    """A value as stated: money (``amount`` and ``currency``) or text."""

    text: str
    amount: Decimal | None = None
    currency: str | None = None

    def same_as(self, other: Value) -> bool:
        if self.amount is not None and other.amount is not None:
            return self.amount == other.amount and self.currency == other.currency
        return _plain(self.text) == _plain(other.text)

    def __str__(self) -> str:
        if self.amount is not None:
            return f"{self.amount.normalize():f} {self.currency}"
        return self.text


@dataclass(frozen=True)
class Period:
    value: Value
    start: date
    end: date | None  # the first day it no longer holds (None: until the next, or for good)


@dataclass(frozen=True)
class Fact:
    id: str
    name: str
    kind: str
    department: str | None
    currency: str | None
    periods: list[Period]
    observe: list[dict[str, Any]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    updated_at: datetime | None = None

    def value_at(self, day: date) -> Period | None:
        """The period in force on ``day`` (None before the first)."""
        found = None
        for i, period in enumerate(self.periods):
            end = period.end or (self.periods[i + 1].start if i + 1 < len(self.periods) else None)
            if period.start <= day and (end is None or day < end):
                found = period
        return found


def parse_value(raw: Any, kind: str, default_currency: str | None = None) -> Value:
    """A value of a fact of ``kind``; raises ValueError saying what is wrong."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError("give a value")
    text = str(raw).strip()
    if not text or len(text) > 500:
        raise ValueError("a value is 1 to 500 characters")
    if kind not in MONEY_KINDS:
        return Value(text)
    match = _MONEY.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an amount with a currency, e.g. '59 PLN'")
    number = match.group("amount").replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    word = match.group("pre") or match.group("cur") or default_currency
    if word is None:
        raise ValueError(f"{text!r} names no currency (write '59 PLN')")
    currency = CURRENCY_WORDS.get(word.lower(), word.upper())
    if currency not in CURRENCIES:
        raise ValueError(f"unknown currency {word!r}; use an ISO code such as PLN or EUR")
    return Value(text, amount, currency)


def mentioned_amounts(text: str) -> list[Value]:
    """The amounts of money a text mentions (an article, a template)."""
    found = []
    for m in MENTIONED.finditer(text):
        number = (m.group("amount1") or m.group("amount2")).replace(",", ".")
        word = m.group("pre") or m.group("cur") or ""
        currency = CURRENCY_WORDS.get(word.lower(), word.upper())
        found.append(Value(m.group(0), Decimal(number), currency))
    return found


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


def _day(raw: Any, loc: tuple[str | int, ...], bad: Any) -> date | None:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        bad(loc, f"{raw!r} is not a date (YYYY-MM-DD)")
        return None


def check_fact(data: Any) -> tuple[dict[str, Any], list[ErrorDetail]]:
    """The fact ``data`` cleaned (JSON-ready), and every problem in it."""
    problems: list[ErrorDetail] = []

    def bad(loc: tuple[str | int, ...], message: str) -> None:
        problems.append(ErrorDetail(loc, message))

    if not isinstance(data, dict):
        bad((), "a fact is an object with id, name, kind and values")
        return {}, problems
    unknown = sorted(set(data) - {"id", "name", "kind", "department", "currency", "values",
                                  "observe", "statements"})  # fmt: skip
    if unknown:
        bad((), f"unknown fields {unknown}")
    fact_id, name, kind = data.get("id"), data.get("name"), data.get("kind")
    if not isinstance(fact_id, str) or not FACT_ID.match(fact_id):
        bad(("id",), "an id is 1 to 100 lower-case letters, digits, '.' or '-'")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        bad(("name",), "a name is 1 to 200 characters")
    if kind not in KINDS:
        bad(("kind",), f"kind {kind!r} is not one of {', '.join(KINDS)}")
        kind = "term"
    currency = data.get("currency")
    if currency is not None and str(currency).upper() not in CURRENCIES:
        bad(("currency",), f"unknown currency {currency!r}; use an ISO code such as PLN")
        currency = None
    currency = str(currency).upper() if currency else None
    clean: dict[str, Any] = {"id": fact_id, "name": (name or "").strip(), "kind": kind,
                             "department": data.get("department"), "currency": currency,
                             "values": [], "observe": [], "statements": []}  # fmt: skip
    values = data.get("values")
    if not isinstance(values, list) or not values:
        bad(("values",), "give at least one value: values: [{value: 59 PLN, from: 2026-01-01}]")
        values = []
    periods = []
    for i, item in enumerate(values):
        loc = ("values", i)
        if not isinstance(item, dict) or "value" not in item or "from" not in item:
            bad(loc, "a value is {value: …, from: YYYY-MM-DD} (and to: YYYY-MM-DD)")
            continue
        try:
            parse_value(item["value"], str(kind), currency)
        except ValueError as exc:
            bad((*loc, "value"), str(exc))
            continue
        start = _day(item["from"], (*loc, "from"), bad)
        end = _day(item["to"], (*loc, "to"), bad) if item.get("to") is not None else None
        if start is None or (item.get("to") is not None and end is None):
            continue
        if end is not None and end <= start:
            bad((*loc, "to"), f"ends ({end}) before it starts ({start})")
            continue
        periods.append((start, end, i, item["value"]))
    periods.sort()
    for (s1, e1, i1, _), (s2, _, i2, _) in zip(periods, periods[1:], strict=False):
        if s1 == s2:
            bad(("values", i2), f"starts on the same day as value {i1} ({s1})")
        elif e1 is not None and e1 > s2:
            bad(
                ("values", i1, "to"),
                f"overlaps value {i2}: it holds until {e1}, value {i2} from {s2}",
            )
    clean["values"] = [{"value": str(v), "from": s.isoformat(),
                        "to": e.isoformat() if e else None} for s, e, _, v in periods]  # fmt: skip
    for i, rule in enumerate(data.get("observe") or []):
        loc = ("observe", i)
        if not isinstance(rule, dict) or not isinstance(rule.get("event"), str) or not \
                isinstance(rule.get("property"), str):  # fmt: skip
            bad(loc, "an observation is {event: …, property: …} (and where: {property: value})")
            continue
        where = rule.get("where") or {}
        if not isinstance(where, dict):
            bad((*loc, "where"), "where is an object of property: value")
            continue
        clean["observe"].append({"event": rule["event"], "property": rule["property"],
                                 "where": where})  # fmt: skip
    for i, statement in enumerate(data.get("statements") or []):
        loc = ("statements", i)
        if not isinstance(statement, dict) or not isinstance(statement.get("channel"), str) \
                or not isinstance(statement.get("where"), str):  # fmt: skip
            bad(loc, "a statement is {channel: …, where: …} (and value, language, as_of)")
            continue
        item = {k: statement.get(k) for k in ("channel", "where", "value", "language")}
        if item["value"] is not None:
            try:
                parse_value(item["value"], str(kind), currency)
            except ValueError as exc:
                bad((*loc, "value"), str(exc))
                continue
            item["value"] = str(item["value"])
        elif not str(statement["where"]).startswith(("kb:", "rule:")):
            bad((*loc, "value"), "say what it states (only kb: articles and rule: templates "
                "are read by cxm itself)")  # fmt: skip
            continue
        as_of = statement.get("as_of")
        day = _day(as_of, (*loc, "as_of"), bad) if as_of is not None else None
        item["as_of"] = day.isoformat() if day else None
        clean["statements"].append(item)
    return clean, problems


def fact_from(row: Any) -> Fact:
    definition = orjson.loads(row.definition)
    currency = definition.get("currency")
    periods = [
        Period(parse_value(v["value"], row.kind, currency), date.fromisoformat(v["from"]),
               date.fromisoformat(v["to"]) if v.get("to") else None)
        for v in definition["values"]
    ]  # fmt: skip
    return Fact(id=row.id, name=row.name, kind=row.kind, department=row.department,
                currency=currency, periods=periods, observe=definition["observe"],
                statements=definition["statements"], updated_at=row.updated_at)  # fmt: skip


def do_save_fact(session: Session, *, data: Any, actor: str) -> Fact:
    from cxm.consistency.tables import facts

    clean, problems = check_fact(data)
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems[:5]), errors=problems)
    now = utcnow()
    row = {
        "name": clean["name"],
        "kind": clean["kind"],
        "department": clean["department"],
        "definition": orjson.dumps(clean).decode(),
        "actor": actor,
        "updated_at": now,
    }
    exists = session.execute(select(facts.c.id).where(facts.c.id == clean["id"])).first()
    if exists:
        session.execute(update(facts).where(facts.c.id == clean["id"]).values(**row))
    else:
        session.execute(insert(facts).values(id=clean["id"], created_at=now, **row))
    record_action(session, actor=actor, action="fact.saved", subject=f"fact:{clean['id']}",
                  details={"values": clean["values"]})  # fmt: skip
    return get_fact(session, clean["id"])


@dataclass
class FactsReport:
    saved: list[str] = field(default_factory=list)
    rejected: list[ErrorDetail] = field(default_factory=list)


def do_load_facts(session: Session, *, text: str, actor: str) -> FactsReport:
    """Save every fact of a YAML or JSON document (``facts: [...]``); bad ones are listed."""
    from cxm.documents import read_items, save_each

    items = read_items(text, "facts")
    saved, rejected = save_each(
        session, items, "facts", lambda item: do_save_fact(session, data=item, actor=actor)
    )
    return FactsReport(saved=[f.id for f in saved], rejected=rejected)


def get_fact(session: Session, fact_id: str) -> Fact:
    from cxm.consistency.tables import facts

    row = session.execute(select(facts).where(facts.c.id == fact_id)).first()
    if row is None:
        raise NotFound(f"no fact {fact_id!r}")
    return fact_from(row)


def list_facts(session: Session) -> list[Fact]:
    from cxm.consistency.tables import facts

    return [fact_from(r) for r in session.execute(select(facts).order_by(facts.c.id))]

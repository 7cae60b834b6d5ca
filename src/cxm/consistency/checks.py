"""Conflicts between what a company means to say and what each channel says, ranked by how
many customers saw the wrong version; and customers forced into duplicate accounts.

``find_conflicts`` checks every fact of the registry (``cxm.consistency.facts``):

- **events** (``observe``): each event that states the fact (a price on ``Add-on Purchased``
  on the website, on ``Purchase Completed`` at a branch) is compared with the value in force
  *on the event's day*. A different value is a conflict; one that was right at another time is
  an **expired value**. Exposure is the number of customers who saw it (the lake's customer
  ids), with how often and when;
- **knowledge-base articles** (``kb:<id>``): every language version is read for amounts of
  money; a version that mentions the fact's currency but not the value in force says a
  different (or expired) value; a language the article lacks is a **missing translation**,
  whose exposure is how many help-centre visitors asking in that language opened the article
  in another;
- **automation templates** (``rule:<name>``): the e-mail subjects and bodies and in-app
  messages of the rule, per language, read as articles are; exposure is how many customers the
  rule's e-mails or messages reached;
- **declared statements** (a web page, a macro, a price list, with ``value`` and ``as_of``):
  compared with the value in force on ``as_of`` (today when not given). Their exposure is not
  measured, and says so.

Each conflict is routed to the fact's department. Facts whose channels all agree produce no
conflict: the report lists what was checked, so silence is evidence, not absence of data.

``duplicate_accounts`` finds customers who hold several accounts (user ids) created within a
short time of each other: the identity graph shows one person the company made sign up twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.consistency.facts import Fact, Value, list_facts, mentioned_amounts, parse_value

if TYPE_CHECKING:
    from cxm.workspace import Workspace

KB_LANGUAGES = ("pl", "en", "ru")


@dataclass
class Conflict:
    fact: str
    fact_name: str
    department: str | None
    kind: str  # different value, expired value, missing translation
    channel: str
    where: str
    language: str | None
    stated: str | None
    expected: str | None
    exposure: int | None  # customers who saw it; None: not measured
    occurrences: int
    first_seen: str | None
    last_seen: str | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckReport:
    facts: int
    checked: dict[str, int] = field(default_factory=dict)  # fact → statements checked
    conflicts: list[Conflict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"facts": self.facts, "checked": self.checked,
                "conflicts": [c.to_dict() for c in self.conflicts]}  # fmt: skip


def find_conflicts(ws: Workspace, *, today: date | None = None) -> CheckReport:
    """Every conflict of every fact, the most exposed first."""
    today = today or datetime.now(UTC).date()
    with ws.session() as s:
        registry = list_facts(s)
        articles = _articles(s, registry)
        fallback_views = _fallback_views(s)
    report = CheckReport(facts=len(registry))
    observed = _observed(ws, registry)
    for fact in registry:
        checked = 0
        for rule_index, rule in enumerate(fact.observe):
            rows = observed.get((fact.id, rule_index), [])
            checked += len(rows)
            report.conflicts.extend(_event_conflicts(fact, rule, rows))
        for statement in fact.statements:
            checked += 1
            where = str(statement["where"])
            if where.startswith("kb:") and statement.get("value") is None:
                report.conflicts.extend(_kb_conflicts(fact, statement, articles.get(where[3:]),
                                                      fallback_views, today))  # fmt: skip
            elif where.startswith("rule:") and statement.get("value") is None:
                with ws.session() as s:
                    report.conflicts.extend(_rule_conflicts(s, fact, where[5:], today))
            else:
                conflict = _declared_conflict(fact, statement, today)
                if conflict is not None:
                    report.conflicts.append(conflict)
        report.checked[fact.id] = checked
    report.conflicts.sort(key=lambda c: (-(c.exposure if c.exposure is not None else -1),
                                         c.fact, c.channel, c.where))  # fmt: skip
    return report


def _judge(fact: Fact, stated: Value, day: date) -> tuple[str | None, str | None]:
    """(conflict kind or None, the value expected that day)."""
    period = fact.value_at(day)
    expected = str(period.value) if period else None
    if period is not None and stated.same_as(period.value):
        return None, expected
    if any(stated.same_as(p.value) for p in fact.periods):
        return "expired value", expected
    return "different value", expected


def _observed(ws: Workspace, registry: list[Fact]) -> dict[tuple[str, int], list[Any]]:
    """The lake's events each observation rule names: (customer, day, channel, event, value)."""
    names = sorted({str(r["event"]) for f in registry for r in f.observe})
    if not names or not ws.lake.manifest().files:
        return {}
    from cxm.analytics import events_table

    ev = events_table()
    frame = ws.query_engine().execute(
        ev.filter(ev.event.isin(names)).select(
            "customer_id", "ts", "channel", "event", "properties"
        )  # fmt: skip
    )
    out: dict[tuple[str, int], list[Any]] = defaultdict(list)
    rules = [(f, i, r) for f in registry for i, r in enumerate(f.observe)]
    for row in frame.itertuples(index=False):
        props = orjson.loads(row.properties) if row.properties else {}
        if not isinstance(props, dict):
            continue
        for fact, index, rule in rules:
            if rule["event"] != row.event or rule["property"] not in props:
                continue
            if any(str(props.get(k)) != str(v) for k, v in rule["where"].items()):
                continue
            raw = props[rule["property"]]
            currency = props.get("currency") or fact.currency
            try:
                value = (Value(str(raw), Decimal(str(raw)), str(currency).upper())
                         if fact.kind in ("price", "fee") and isinstance(raw, int | float)
                         else parse_value(raw, fact.kind, currency))  # fmt: skip
            except (ValueError, InvalidOperation):
                continue
            day = row.ts.date() if hasattr(row.ts, "date") else date.fromisoformat(str(row.ts)[:10])
            out[(fact.id, index)].append((row.customer_id, day, row.channel, row.event, value))
    return out


def _event_conflicts(fact: Fact, rule: dict[str, Any], rows: list[Any]) -> list[Conflict]:
    groups: dict[tuple[str, str, str, str], list[Any]] = defaultdict(list)
    for customer, day, channel, event, value in rows:
        kind, expected = _judge(fact, value, day)
        if kind is not None:
            groups[(kind, channel, str(value), expected or "")].append((customer, day, event))
    return [
        Conflict(fact=fact.id, fact_name=fact.name, department=fact.department, kind=kind,
                 channel=channel, where=f"event: {rule['event']}", language=None,
                 stated=stated, expected=expected or None,
                 exposure=len({c for c, _, _ in seen}), occurrences=len(seen),
                 first_seen=min(d for _, d, _ in seen).isoformat(),
                 last_seen=max(d for _, d, _ in seen).isoformat())
        for (kind, channel, stated, expected), seen in groups.items()
    ]  # fmt: skip


def _kb_conflicts(
    fact: Fact, statement: dict[str, Any], article: Any, fallback_views: dict[tuple[str, str], int],
    today: date,
) -> list[Conflict]:  # fmt: skip
    where = str(statement["where"])
    if article is None:
        return [Conflict(fact.id, fact.name, fact.department, "missing article", "kb", where,
                         None, None, None, None, 0, None, None,
                         "the knowledge base has no such article")]  # fmt: skip
    found: list[Conflict] = []
    for language in KB_LANGUAGES:
        version = article.versions.get(language)
        if version is None:
            views = fallback_views.get((article.id, language), 0)
            note = "customers asking in this language were shown another"
            found.append(Conflict(fact.id, fact.name, fact.department, "missing translation",
                                  "kb", where, language, None, None, views, views, None, None,
                                  note))  # fmt: skip
            continue
        if fact.kind not in ("price", "fee"):
            continue
        period = fact.value_at(today)
        currency = period.value.currency if period else fact.currency
        amounts = [a for a in mentioned_amounts(f"{version.title}\n{version.body}")
                   if a.currency == currency]  # fmt: skip
        if not amounts or (period and any(a.same_as(period.value) for a in amounts)):
            continue  # the article names no such amount, or names the right one
        stated = amounts[0]
        kind, expected = _judge(fact, stated, today)
        if kind is not None:
            found.append(Conflict(fact.id, fact.name, fact.department, kind, "kb", where,
                                  language, str(stated), expected, None, 1,
                                  version.created_at.date().isoformat(), today.isoformat(),
                                  f"version {version.version} of the article"))  # fmt: skip
    return found


def _rule_conflicts(s: Session, fact: Fact, name: str, today: date) -> list[Conflict]:
    """What an automation rule's e-mail and in-app templates say, per language."""
    from cxm.automation import get_rule
    from cxm.automation.tables import automation_jobs
    from cxm.errors import NotFound

    where = f"rule:{name}"
    try:
        rule = get_rule(s, name).rule
    except NotFound:
        return [Conflict(fact.id, fact.name, fact.department, "missing template", "automation",
                         where, None, None, None, None, 0, None, None,
                         "no automation rule of that name")]  # fmt: skip
    period = fact.value_at(today)
    if fact.kind not in ("price", "fee") or period is None:
        return []
    found = []
    for action in rule.actions:
        if action.kind not in ("email", "nudge"):
            continue
        texts: dict[str | None, list[str]] = defaultdict(list)
        for key in ("subject", "body", "message"):
            value = action.options.get(key)
            if isinstance(value, dict):
                for lang, text in value.items():
                    texts[str(lang)].append(str(text))
            elif isinstance(value, str):
                texts[None].append(value)
        reached = s.execute(
            select(func.count(func.distinct(automation_jobs.c.profile_id))).where(
                automation_jobs.c.rule == name, automation_jobs.c.kind == action.kind,
                automation_jobs.c.status == "done")
        ).scalar()  # fmt: skip
        for lang, parts in texts.items():
            amounts = [a for a in mentioned_amounts("\n".join(parts))
                       if a.currency == period.value.currency]  # fmt: skip
            if not amounts or any(a.same_as(period.value) for a in amounts):
                continue
            kind, expected = _judge(fact, amounts[0], today)
            if kind is not None:
                found.append(Conflict(fact.id, fact.name, fact.department, kind,
                                      str(action.channel or action.kind), where, lang,
                                      str(amounts[0]), expected, int(reached or 0),
                                      int(reached or 0), None, today.isoformat(),
                                      f"the rule's {action.kind} template"))  # fmt: skip
    return found


def _declared_conflict(fact: Fact, statement: dict[str, Any], today: date) -> Conflict | None:
    day = date.fromisoformat(statement["as_of"]) if statement.get("as_of") else today
    stated = parse_value(statement["value"], fact.kind, fact.currency)
    kind, expected = _judge(fact, stated, day)
    if kind is None:
        return None
    return Conflict(fact.id, fact.name, fact.department, kind, str(statement["channel"]),
                    str(statement["where"]), statement.get("language"), str(stated), expected,
                    None, 1, day.isoformat(), day.isoformat(),
                    "declared statement: how many customers saw it is not measured")  # fmt: skip


def _articles(s: Session, registry: list[Fact]) -> dict[str, Any]:
    from cxm.kb.articles import list_articles

    wanted = sorted({str(st["where"])[3:] for f in registry for st in f.statements
                     if str(st["where"]).startswith("kb:")})  # fmt: skip
    return {a.id: a for a in list_articles(s, ids=wanted)} if wanted else {}


def _fallback_views(s: Session) -> dict[tuple[str, str], int]:
    """Article views by visitors who asked in a language the article lacked: (article, asked
    language) → distinct visitors."""
    from cxm.kb.insights import help_events

    far = datetime(2000, 1, 1, tzinfo=UTC)
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in help_events(s, start=far, end=datetime.now(UTC) + timedelta(days=1)):
        asked, shown = e.properties.get("asked_language"), e.properties.get("language")
        article = e.properties.get("article")
        if e.event == "Article Viewed" and asked and shown and asked != shown and article:
            seen[(str(article), str(asked))].add(e.visitor)
    return {k: len(v) for k, v in seen.items()}


@dataclass(frozen=True)
class DuplicateAccounts:
    people: int  # e-mail addresses checked (held by a customer with an account)
    with_duplicates: int  # of them, held by two or more accounts opened close together
    within_days: int
    examples: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def duplicate_accounts(
    session: Session, *, within_days: int = 30, limit: int = 50
) -> DuplicateAccounts:
    """People with two or more accounts (profiles with their own user id) that share an
    e-mail address and were opened within ``within_days`` of each other: one person the
    company made register again (a profile holds one user id, so the identity graph keeps
    such accounts apart and this finds them through the e-mail they share). Addresses shared
    too widely to link anyone (``noisy_identifiers``) are left out."""
    from cxm.identity.tables import identifiers, noisy_identifiers, profiles
    from cxm.ingest.tables import sources

    i, p = identifiers.c, profiles.c
    live = func.coalesce(p.merged_into, p.id)
    emails = session.execute(
        select(i.value, live.label("customer"))
        .join(profiles, p.id == i.profile_id)
        .where(i.kind == "email")
        .where(~i.value.in_(select(noisy_identifiers.c.value)
                            .where(noisy_identifiers.c.kind == "email")))
    ).all()  # fmt: skip
    holders: dict[str, set[str]] = defaultdict(set)
    for value, customer in emails:
        holders[str(value)].add(str(customer))
    accounts: dict[str, tuple[datetime, str | None]] = {}
    for customer, first_seen, source in session.execute(
        select(live, i.first_seen, sources.c.name)
        .join(profiles, p.id == i.profile_id)
        .outerjoin(sources, sources.c.id == i.source_id)
        .where(i.kind == "user_id")
    ):  # fmt: skip
        accounts.setdefault(str(customer), (first_seen, source))
    window = timedelta(days=within_days)
    people = 0
    found: list[dict[str, Any]] = []
    for customers in holders.values():
        opened = sorted((accounts[c][0], c) for c in customers if c in accounts)
        if not opened:
            continue
        people += 1
        if len(opened) < 2:
            continue
        gaps = [b[0] - a[0] for a, b in zip(opened, opened[1:], strict=False)]
        if min(gaps) <= window:
            found.append({
                "customers": [c for _, c in opened],
                "accounts": len(opened),
                "sources": sorted({accounts[c][1] or "?" for _, c in opened}),
                "second_after_days": round(min(gaps).total_seconds() / 86400, 1),
            })  # fmt: skip
    found.sort(key=lambda f: (-int(f["accounts"]), float(f["second_after_days"])))
    return DuplicateAccounts(people, len(found), within_days, found[:limit])

"""What the help centre's traffic says: content gaps, and deflection measured honestly.

Both read the help centre's own events (``Help Searched``, ``Article Viewed``; source
``help-centre``), and the customers' other events once a visitor is linked to a profile.

**Content gaps** (``content_gaps``). A search is *answered* when the same visitor opens an
article within ``ANSWER_MINUTES`` after it. Unanswered searches are grouped by language and
by their words (lower-cased, punctuation and extra spaces removed), and ranked by how many
went unanswered; each group shows the article the search offered first, if any. Article
versions missing in a language are listed too (``untranslated``). Similarity is not used to
judge a gap: a question nothing answers still finds a nearest article about as similar as a
right answer often is (``cxm.kb.search``).

**Case topics** (``case_topics``). What customers open cases about (the text topic of a case's
first words), ranked by cases opened in the period, each with the article a search with the
topic's keyphrases finds first in each language, and whether it had to fall back to another
language. It shows which frequent problems the knowledge base answers and in which language,
for a person to judge (similarity alone cannot, see above).

**Deflection** (``deflection``). Among linked customers who used the help centre in the
period, two groups with the same need: those who opened an article (*self-served*) and those
who searched but opened none (*comparison*). For each, the share who contacted the company
in an assisted channel (phone, IVR, e-mail, chat, branch, social, field service, SMS) within
``days`` after their first help-centre event. Deflection is the comparison's contact rate
minus the self-served's, with a 95 % Newcombe interval and a two-proportion test. It is an
observational comparison: visitors who open an article may differ from those who do not
(their problem may be simpler); the report says so and never calls the difference caused.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxm.ingest.tables import events, sources
from cxm.kb.articles import LANGUAGES, list_articles
from cxm.kb.service import HELP_SOURCE, SEARCHED, VIEWED
from cxm.metrics.changes import compare_proportions
from cxm.profiles.tables import profile_events

ANSWER_MINUTES = 30
ASSISTED_CHANNELS = ("phone", "ivr", "email", "chat", "branch", "social", "field_service", "sms")
_WORDS = re.compile(r"[^\w\s]+", re.UNICODE)


@dataclass(frozen=True)
class HelpEvent:
    seq: int
    at: datetime
    visitor: str
    event: str
    properties: dict[str, Any]


def help_events(session: Session, *, start: datetime, end: datetime) -> list[HelpEvent]:
    rows = session.execute(
        select(events.c.seq, events.c.timestamp, events.c.anonymous_id, events.c.user_id,
               events.c.event, events.c.payload)
        .join(sources, sources.c.id == events.c.source_id)
        .where(sources.c.name == HELP_SOURCE, events.c.event.in_((SEARCHED, VIEWED)),
               events.c.timestamp >= start, events.c.timestamp < end)
        .order_by(events.c.timestamp, events.c.seq)
    ).all()  # fmt: skip
    out = []
    for seq, at, anonymous, user, name, payload in rows:
        properties = (orjson.loads(payload) or {}).get("properties") or {}
        out.append(HelpEvent(int(seq), at, str(user or anonymous or ""), name, properties))
    return out


def normalise(query: str) -> str:
    return " ".join(_WORDS.sub(" ", query.lower()).split())


def content_gaps(
    session: Session, *, start: datetime, end: datetime, limit: int = 50
) -> dict[str, Any]:
    """Unanswered searches by language and words, most frequent first, and the articles
    missing a language version."""
    found = help_events(session, start=start, end=end)
    views: dict[str, list[datetime]] = defaultdict(list)
    for e in found:
        if e.event == VIEWED:
            views[e.visitor].append(e.at)
    window = timedelta(minutes=ANSWER_MINUTES)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    searches = answered = 0
    for e in found:
        if e.event != SEARCHED or not isinstance(e.properties.get("query"), str):
            continue
        searches += 1
        ok = any(e.at <= seen <= e.at + window for seen in views.get(e.visitor, []))
        answered += ok
        language = e.properties.get("language") or "?"
        key = (str(language), normalise(e.properties["query"]))
        group = groups.setdefault(key, {"language": key[0], "query": key[1], "searches": 0,
                                         "unanswered": 0, "offered": None})  # fmt: skip
        group["searches"] += 1
        group["unanswered"] += not ok
        results = e.properties.get("results") or []
        group["offered"] = group["offered"] or (results[0] if results else None)
    unanswered = [g for g in groups.values() if g["unanswered"]]
    ranked = sorted(unanswered, key=lambda g: (-g["unanswered"], g["language"], g["query"]))
    ranked = ranked[:limit]
    untranslated = [
        {"article": a.id, "missing": [lang for lang in LANGUAGES if lang not in a.versions],
         "department": a.department}
        for a in list_articles(session)
        if any(lang not in a.versions for lang in LANGUAGES)
    ]  # fmt: skip
    return {
        "case_topics": case_topics(session, start=start, end=end),
        "searches": searches,
        "answered": answered,
        "answered_share": round(answered / searches, 4) if searches else None,
        "gaps": ranked,
        "untranslated": untranslated,
        "answer_minutes": ANSWER_MINUTES,
    }


def case_topics(
    session: Session, *, start: datetime, end: datetime, limit: int = 10
) -> list[dict[str, Any]]:
    """The topics of the cases opened in the period, most cases first, each with the article
    its keyphrases find first per language."""
    from sqlalchemy import func

    from cxm.cases.tables import cases
    from cxm.errors import InvalidInput
    from cxm.kb.search import search_kb
    from cxm.text.tables import text_topics

    rows = session.execute(
        select(cases.c.topic_id, func.count(), text_topics.c.label, text_topics.c.keyphrases)
        .join(text_topics, text_topics.c.id == cases.c.topic_id)
        .where(cases.c.opened_at >= start, cases.c.opened_at < end)
        .group_by(cases.c.topic_id, text_topics.c.label, text_topics.c.keyphrases)
        .order_by(func.count().desc(), cases.c.topic_id)
        .limit(limit)
    ).all()  # fmt: skip
    out = []
    for topic_id, n, label, keyphrases in rows:
        phrases = orjson.loads(keyphrases) if keyphrases else {}
        closest = {}
        for language in LANGUAGES:
            words = [str(p) for p in (phrases.get(language) or [])[:5]]
            if not words:
                continue
            try:
                hits = search_kb(session, " ".join(words)[:500], language=language, limit=1)
            except InvalidInput:
                continue
            if hits:
                closest[language] = {"article": hits[0].article, "title": hits[0].title,
                                     "fallback": hits[0].fallback,
                                     "similarity": hits[0].similarity}  # fmt: skip
        first: list[str] = next(iter(phrases.values()), [])
        out.append({"topic": int(topic_id), "label": label or ", ".join(first[:3]),
                    "cases": int(n), "closest": closest})  # fmt: skip
    return out


def article_views(session: Session, *, start: datetime, end: datetime) -> dict[str, int]:
    """How many times each article was opened in the help centre in the period."""
    views: dict[str, int] = defaultdict(int)
    for e in help_events(session, start=start, end=end):
        article = e.properties.get("article")
        if e.event == VIEWED and isinstance(article, str):
            views[article] += 1
    return dict(views)


@dataclass(frozen=True)
class Deflection:
    days: int
    self_served: int
    self_served_contacted: int
    comparison: int
    comparison_contacted: int
    anonymous_visitors: int  # help-centre visitors not linked to a customer (left out)
    deflection: float | None  # comparison's contact rate minus the self-served's
    low: float | None
    high: float | None
    p_value: float | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def deflection(session: Session, *, start: datetime, end: datetime, days: int = 7) -> Deflection:
    """Contacts within ``days`` after self-service against after a search with no article
    opened; see the module docstring."""
    found = help_events(session, start=start, end=end)
    seqs = [e.seq for e in found]
    owner: dict[int, str] = {}
    for part in range(0, len(seqs), 500):
        owner.update(
            (int(s), str(p))
            for s, p in session.execute(
                select(profile_events.c.seq, profile_events.c.profile_id).where(
                    profile_events.c.seq.in_(seqs[part : part + 500])
                )
            )
        )
    first: dict[str, datetime] = {}
    viewed: set[str] = set()
    anonymous: set[str] = set()
    for e in found:
        customer = owner.get(e.seq)
        if customer is None:
            anonymous.add(e.visitor)
            continue
        first.setdefault(customer, e.at)
        if e.event == VIEWED:
            viewed.add(customer)
    contacted = _contacted(session, first, days)
    a_n = len(viewed)
    a_x = sum(1 for c in viewed if c in contacted)
    b = [c for c in first if c not in viewed]
    b_x = sum(1 for c in b if c in contacted)
    note = (
        "observational: customers who open an article may have simpler problems than those "
        "who do not; the difference is not proven to be caused by the article"
    )
    if a_n == 0 or not b:
        return Deflection(days, a_n, a_x, len(b), b_x, len(anonymous), None, None, None, None,
                          "too few linked customers in one of the groups; " + note)  # fmt: skip
    change = compare_proportions(a_x, a_n, b_x, len(b))
    # change.difference is b - a = the comparison's rate minus the self-served's.
    return Deflection(days, a_n, a_x, len(b), b_x, len(anonymous),
                      round(change.difference, 4), round(change.low, 4),
                      round(change.high, 4), change.p_value, note)  # fmt: skip


def _contacted(session: Session, first: dict[str, datetime], days: int) -> set[str]:
    """Customers with an assisted-channel event within ``days`` after their first help visit."""
    if not first:
        return set()
    ids = list(first)
    found: set[str] = set()
    for part in range(0, len(ids), 500):
        rows = session.execute(
            select(profile_events.c.profile_id, events.c.timestamp)
            .join(events, events.c.seq == profile_events.c.seq)
            .where(profile_events.c.profile_id.in_(ids[part : part + 500]),
                   events.c.channel.in_(ASSISTED_CHANNELS))
        )  # fmt: skip
        for profile_id, at in rows:
            start = first[profile_id]
            if start < at <= start + timedelta(days=days):
                found.add(profile_id)
    return found

"""The demo company's help centre: its knowledge base (``kb.yaml``) and a year of visits.

About one customer in sixteen searches the help centre once, in their language, with one of
the ways customers ask for an article (``questions`` in kb.yaml) or, one time in five, with a
question no article answers (``GAP_QUESTIONS``: number porting, TV packages, VAT invoices,
moving house). The search runs through cxm's own search, and the visitor opens the article
the question was about three times in four when there is one.

**Planted deflection.** Whether a visitor then contacts the company is planted through *when*
the visit happens, against the customer's real contacts in the demo: a visitor who opened an
article is placed, four times in five, at a quiet moment (no phone, e-mail, chat, branch or
field contact in the next seven days); one who opened nothing is placed, three times in five,
one to six days before a contact. So the self-served contact again far less often than those
who only searched, as cxm's deflection report should show; and the unanswered questions are
the content gaps it should rank first.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from cxm.identity.tables import identifiers, profiles
from cxm.ingest import do_ingest_events, source_named
from cxm.ingest.tables import events
from cxm.kb.insights import ASSISTED_CHANNELS
from cxm.kb.search import search_kb
from cxm.kb.service import HELP_SOURCE, SEARCHED, VIEWED, do_load_kb, search_properties
from cxm.profiles.tables import profile_events

KB_FILE = Path(__file__).parent / "kb.yaml"
VISIT_SHARE = 1 / 16
GAP_SHARE = 0.2
OPEN_SHARE = 0.75
QUIET_WHEN_OPENED = 0.8
BEFORE_CONTACT_WHEN_NOT = 0.6
GAP_QUESTIONS = {
    "pl": ["jak przenieść numer od innego operatora", "czy macie telewizję w pakiecie",
           "faktura na firmę z NIP", "przeprowadzka a internet"],
    "en": ["how do I move my number from another operator", "do you have TV packages",
           "can I get a business invoice with VAT", "moving house, can I take the internet"],
    "ru": ["как перенести номер от другого оператора", "есть ли у вас телевидение",
           "счёт на фирму с НДС", "переезд, можно ли забрать интернет"],
}  # fmt: skip


def load_demo_kb(session: Any, actor: str) -> None:
    report = do_load_kb(session, text=KB_FILE.read_text(encoding="utf-8"), actor=actor)
    if report.rejected:
        raise RuntimeError(f"the demo knowledge base has problems: {report.rejected[:3]}")


def run_help_traffic(
    ws: Any, *, seed: int, start: datetime, end: datetime, actor: str,
    languages: dict[str, str],
) -> int:  # fmt: skip
    """Log the demo's help-centre visits (see the module docstring); returns how many.
    ``languages``: each customer's language by user id (the generator's)."""
    rng = random.Random(f"demo-help:{seed}")
    questions = _questions()
    versions = _versions()
    with ws.session() as s:
        people = _customers(s, languages)
        contacts = _contacts(s, [p for p, _, _ in people])
        source = source_named(s, actor=actor, name=HELP_SOURCE, channel="web",
                              label="Help centre")  # fmt: skip
    batch: list[tuple[int, dict[str, Any]]] = []
    visits = 0
    span = (end - start).total_seconds() - 8 * 86400
    with ws.session() as s:
        for profile_id, user_id, language in people:
            if rng.random() >= VISIT_SHARE:
                continue
            lang = language if language in GAP_QUESTIONS else "pl"
            if rng.random() < GAP_SHARE:
                article, question = None, rng.choice(GAP_QUESTIONS[lang])
            else:
                article, question = rng.choice(questions[lang])
            opened = article is not None and rng.random() < OPEN_SHARE
            moments = sorted(contacts.get(profile_id, []))
            before = rng.random() < (BEFORE_CONTACT_WHEN_NOT if not opened
                                     else 1 - QUIET_WHEN_OPENED)  # fmt: skip
            at = _moment(rng, moments, start, span, before_contact=before)
            hits = search_kb(s, question, default_language=lang)
            asked = (hits[0].asked_language if hits else None) or lang
            base = {"type": "track", "userId": user_id, "context": {"channel": "web"}}
            batch.append((len(batch), base | {
                "event": SEARCHED, "messageId": f"demo-help-{visits}-s",
                "timestamp": at.isoformat(),
                "properties": search_properties(question, asked, hits)}))  # fmt: skip
            if opened and article is not None:
                has = versions[article]
                batch.append((len(batch), base | {
                    "event": VIEWED, "messageId": f"demo-help-{visits}-v",
                    "timestamp": (at + timedelta(minutes=rng.uniform(0.5, 4))).isoformat(),
                    "properties": {"article": article, "asked_language": lang,
                                   "language": lang if lang in has else has[0],
                                   "from_search": True}}))  # fmt: skip
            visits += 1
    report = do_ingest_events(ws.engine, source=source, events=batch)
    if report.rejected:
        raise RuntimeError(f"demo help events were rejected: {report.rejected[:3]}")
    return visits


def _questions() -> dict[str, list[tuple[str, str]]]:
    data = yaml.safe_load(KB_FILE.read_text(encoding="utf-8"))
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for article in data["articles"]:
        for lang, asked in article.get("questions", {}).items():
            out[lang].extend((article["id"], q) for q in asked)
    return out


def _versions() -> dict[str, list[str]]:
    """Each article's languages, in the file's order."""
    data = yaml.safe_load(KB_FILE.read_text(encoding="utf-8"))
    return {a["id"]: list(a["versions"]) for a in data["articles"]}


def _customers(s: Any, languages: dict[str, str]) -> list[tuple[str, str, str]]:
    """(profile id, user id, language) of every live customer with a user id."""
    users = dict(s.execute(
        select(identifiers.c.profile_id, identifiers.c.value)
        .join(profiles, profiles.c.id == identifiers.c.profile_id)
        .where(identifiers.c.kind == "user_id", profiles.c.merged_into.is_(None))
        .order_by(identifiers.c.profile_id)
    ).all())  # fmt: skip
    return [(pid, uid, languages.get(uid, "pl")[:2]) for pid, uid in users.items()]


def _contacts(s: Any, ids: list[str]) -> dict[str, list[datetime]]:
    found: dict[str, list[datetime]] = defaultdict(list)
    for part in range(0, len(ids), 500):
        for pid, at in s.execute(
            select(profile_events.c.profile_id, events.c.timestamp)
            .join(events, events.c.seq == profile_events.c.seq)
            .where(profile_events.c.profile_id.in_(ids[part : part + 500]),
                   events.c.channel.in_(ASSISTED_CHANNELS))
        ):  # fmt: skip
            found[pid].append(at)
    return found


def _moment(
    rng: random.Random, contacts: list[datetime], start: datetime, span: float, *,
    before_contact: bool,
) -> datetime:  # fmt: skip
    """A visit time: 1–6 days before one of the contacts, or a moment with none in the seven
    days after it (the best of a few tries when the customer contacts often)."""
    if before_contact and contacts:
        contact = rng.choice(contacts)
        return contact - timedelta(days=rng.uniform(1, 6))
    for _ in range(20):
        at = start + timedelta(seconds=rng.uniform(0, span))
        if not any(at < c <= at + timedelta(days=7) for c in contacts):
            return at
    return at

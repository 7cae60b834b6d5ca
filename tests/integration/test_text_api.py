"""Text analytics end to end on both stores: texts in events are enriched (language, sentiment,
emotion, personal data, flags), topics form by theme across languages and can be curated,
search crosses languages, and personal data never reaches a token without the pii scope."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cxm.auth.service import do_create_token
from cxm.store.metadata import utcnow
from cxm.text.e5 import engine
from cxm.text.tables import text_items, text_topics
from cxm.workspace import Workspace
from helpers import bearer, journeys_for, recording_model, worker_committing
from text_corpus import BAD_TEXTS, PII_TEXTS, PII_VALUES, THEMES

pytestmark = pytest.mark.anyio


def corpus_journeys() -> tuple[dict[str, list[dict[str, Any]]], dict[str, tuple[str, str]]]:
    """One customer per text (theme, language), plus customers with personal data and bad texts."""
    now = utcnow()
    people: dict[str, list[dict[str, Any]]] = {}
    truth: dict[str, tuple[str, str]] = {}
    for theme, by_lang in THEMES.items():
        for lang, texts in by_lang.items():
            for i, text in enumerate(texts):
                key = f"{theme}-{lang}-{i}"
                at = (now - timedelta(days=2 + i)).isoformat()
                people[key] = [{"event": "Message Sent", "channel": "chat", "at": at,
                                "properties": {"text": text}}]  # fmt: skip
                truth[key] = (theme, lang)
    for lang, text in PII_TEXTS.items():
        people[f"pii-{lang}"] = [{"event": "Email Received", "channel": "email",
                                  "at": now.isoformat(), "properties": {"body": text}}]  # fmt: skip
    for name, text in BAD_TEXTS.items():
        if name == "huge":
            text = text[:25_000]  # an event holds at most 32 KB
        if name == "binary":
            text = text.replace("\x00", "\x07")  # ingestion refuses NUL itself
        people[f"bad-{name}"] = [{"event": "Message Sent", "channel": "chat",
                                  "at": now.isoformat(), "properties": {"text": text}}]  # fmt: skip
    people["no-text"] = [{"event": "Message Sent", "channel": "chat", "at": now.isoformat(),
                          "properties": {"text": {"not": "a string"}, "comment": 42}}]  # fmt: skip
    return people, truth


@pytest.fixture
def enriched(workspace: Workspace, admin_token: str) -> dict[str, Any]:
    people, truth = corpus_journeys()
    ids = journeys_for(workspace, people)
    report = workspace.text.enrich()
    return {"ids": ids, "truth": truth, "report": report}


def items(workspace: Workspace) -> list[dict[str, Any]]:
    with workspace.session() as s:
        return [dict(r) for r in s.execute(select(text_items)).mappings()]


def test_every_text_is_analysed_once_with_its_flags(
    workspace: Workspace, enriched: dict[str, Any]
) -> None:
    rows = items(workspace)
    n_theme = sum(len(t) for by in THEMES.values() for t in by.values())
    assert len(rows) == n_theme + len(PII_TEXTS) + len(BAD_TEXTS)  # non-strings are not texts
    assert enriched["report"].texts == len(rows)
    flags = Counter(r["flag"] for r in rows)
    assert flags["empty"] == 1 and flags["binary"] == 1 and flags["no_letters"] == 1
    assert flags["truncated"] == 1
    assert all(r["model_version"].startswith("sentiment=full") for r in rows)
    # Languages: every themed text in its language.
    seq_lang = Counter(r["language"] for r in rows if r["flag"] is None)
    assert seq_lang["pl"] >= 15 and seq_lang["ru"] >= 15 and seq_lang["en"] >= 15
    # Enriching again finds nothing new and writes nothing twice.
    again = workspace.text.enrich()
    assert again.texts == 0 and len(items(workspace)) == len(rows)


READINGS = ("text_hash", "chars", "language", "language_confidence", "sentiment",
            "sentiment_score", "sentiment_confidence", "sentiment_model", "emotion",
            "emotion_score", "pii", "flag", "topic_id", "model_version")  # fmt: skip


def test_a_text_seen_before_is_read_back_not_analysed_again(
    workspace: Workspace, enriched: dict[str, Any]
) -> None:
    from cxm.text.enrich import do_enrich_texts, model_version

    def readings() -> dict[tuple[str, int, str], tuple[Any, ...]]:
        return {(r["source"], r["ref"], r["field"]): tuple(r[k] for k in READINGS)
                for r in items(workspace)}  # fmt: skip

    before = readings()
    praise = THEMES["praise"]["pl"][0]
    journeys_for(workspace, {"says-it-again": [{"event": "Message Sent", "channel": "chat",
                 "at": utcnow().isoformat(), "properties": {"text": praise}}]})  # fmt: skip
    fields = workspace.settings.text_fields
    model = recording_model(workspace.text.model)
    # Everything again (--full) with the same model, and a new event repeating a stored text:
    # every reading comes back from storage, unchanged, and the model reads nothing.
    report = do_enrich_texts(session=workspace.session, model=model, fields=fields, full=True)
    assert model.asked == [] and report.texts == len(before) + 1
    after = readings()
    assert {k: after[k] for k in before} == before
    (new,) = set(after) - set(before)
    assert [v for v in before.values() if v[0] == after[new][0]] == [after[new]]
    # Another model (here: the cascade instead of the full stage) reads every analysable text
    # again.
    other = recording_model(workspace.text.model)
    other.choice = "cascade"
    do_enrich_texts(session=workspace.session, model=other, fields=fields, full=True)
    analysable = {v[0] for v in before.values() if v[READINGS.index("sentiment")] is not None}
    assert len(sum(other.asked, [])) == len(analysable)
    assert {r["model_version"] for r in items(workspace)} == {model_version(other)}


def test_sentiment_follows_the_themes(workspace: Workspace, enriched: dict[str, Any]) -> None:
    with workspace.session() as s:
        rows = s.execute(
            select(text_items.c.ref, text_items.c.sentiment, text_items.c.sentiment_score)
        ).all()
    by_seq = {r.ref: r for r in rows}
    from cxm.profiles.tables import profile_events

    with workspace.session() as s:
        seq_of = dict(s.execute(select(profile_events.c.profile_id, profile_events.c.seq)).all())
    labels: dict[str, Counter[str]] = {"complaint": Counter(), "praise": Counter()}
    leaning_right = 0
    for key, (theme, _lang) in enriched["truth"].items():
        r = by_seq[seq_of[enriched["ids"][key]]]
        kind = "praise" if theme == "praise" else "complaint"
        labels[kind][r.sentiment] += 1
        assert -1 <= r.sentiment_score <= 1
        leaning_right += (r.sentiment_score > 0) if kind == "praise" else (r.sentiment_score < 0.05)
    # Praise reads positive; complaints never positive and mostly negative (the shipped model,
    # trained on reviews and tweets, calls some factual complaints neutral: docs/text.md).
    assert labels["praise"]["positive"] == sum(labels["praise"].values()), labels
    assert labels["complaint"]["positive"] == 0, labels
    assert labels["complaint"]["negative"] >= 0.6 * sum(labels["complaint"].values()), labels
    assert leaning_right >= 0.9 * len(enriched["truth"])


async def test_personal_data_is_redacted_without_the_pii_scope(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, enriched: dict[str, Any]
) -> None:
    with workspace.session() as s:
        _, reader = do_create_token(s, actor="test", name="analyst", scopes=("read",))
    hidden = await api.get("/api/text/verbatims?limit=200", headers=bearer(reader))
    assert hidden.status_code == 200, hidden.text
    texts = [v["text"] for v in hidden.json()["verbatims"]]
    assert any("[EMAIL]" in t for t in texts)
    for value in PII_VALUES:
        assert all(value not in t for t in texts), value
    # The same with search.
    found = await api.get("/api/text/search", params={"q": "kontakt e-mail telefon"},
                          headers=bearer(reader))  # fmt: skip
    assert found.status_code == 200
    for hit in found.json()["hits"]:
        assert all(value not in hit["text"] for value in PII_VALUES)
    shown = await api.get("/api/text/verbatims?limit=200", headers=bearer(admin_token))
    raw = " ".join(v["text"] for v in shown.json()["verbatims"])
    assert "jan.kowalski@example.pl" in raw and "7707083893" in raw
    kinds = {k for v in shown.json()["verbatims"] for k in v["pii"]}
    assert {"email", "phone", "pesel", "passport", "inn", "card", "name"} <= kinds


async def test_topics_form_by_theme_across_languages_and_can_be_curated(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, enriched: dict[str, Any]
) -> None:
    auth = bearer(admin_token)
    found = await api.post("/api/text/topics/discover", json={"topics": 3}, headers=auth)
    assert found.status_code == 200, found.text
    from cxm.profiles.tables import profile_events

    with workspace.session() as s:
        seq_of = dict(s.execute(select(profile_events.c.profile_id, profile_events.c.seq)).all())
        topic_of = dict(s.execute(select(text_items.c.ref, text_items.c.topic_id)).all())
    by_theme: dict[str, Counter[int]] = {t: Counter() for t in THEMES}
    for key, (theme, _lang) in enriched["truth"].items():
        by_theme[theme][topic_of[seq_of[enriched["ids"][key]]]] += 1
    # Each theme lands (almost) whole in one topic, whatever the language, and themes differ.
    majors = {theme: c.most_common(1)[0] for theme, c in by_theme.items()}
    assert all(n >= 13 for _, n in majors.values()), by_theme
    assert len({topic for topic, _ in majors.values()}) == 3

    billing = majors["billing"][0]
    listed = (await api.get("/api/text/topics", headers=auth)).json()["topics"]
    row = next(t for t in listed if t["id"] == billing)
    assert set(row["keyphrases"]) >= {"pl", "ru", "en"}
    assert row["sentiment"]["negative"] >= 6 and row["sentiment"]["positive"] == 0

    change = {"name": "Billing errors", "pinned": True}
    renamed = await api.patch(f"/api/text/topics/{billing}", json=change, headers=auth)
    assert renamed.status_code == 200, renamed.text
    # Rediscovery keeps the named, pinned topic with its id.
    await api.post("/api/text/topics/discover", json={"topics": 3}, headers=auth)
    listed = (await api.get("/api/text/topics", headers=auth)).json()["topics"]
    kept = next(t for t in listed if t["id"] == billing)
    assert kept["name"] == "Billing errors" and kept["pinned"]

    outage = next(t["id"] for t in listed if t["id"] != billing and t["sentiment"]["negative"])
    merged = await api.post(f"/api/text/topics/{billing}/merge", json={"topics": [outage]},
                            headers=auth)  # fmt: skip
    assert merged.status_code == 200, merged.text
    with workspace.session() as s:
        assert s.execute(select(func.count()).where(text_items.c.topic_id == outage)).scalar() == 0
        gone = s.execute(select(text_topics.c.merged_into).where(text_topics.c.id == outage))
        assert gone.scalar() == billing
    detail = await api.get(f"/api/text/topics/{billing}", headers=auth)
    assert detail.status_code == 200 and detail.json()["topic"]["texts"] >= 28
    missing = await api.get(f"/api/text/topics/{outage}", headers=auth)
    assert missing.status_code == 404 and "merged into" in missing.json()["message"]
    bad = await api.post(f"/api/text/topics/{billing}/merge", json={"topics": [billing]},
                         headers=auth)  # fmt: skip
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"


async def test_search_crosses_languages(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, enriched: dict[str, Any]
) -> None:
    query = {"q": "podwójna opłata na rachunku", "limit": 10}
    found = await api.get("/api/text/search", params=query, headers=bearer(admin_token))
    assert found.status_code == 200, found.text
    hits = found.json()["hits"]
    billing = {t for by in THEMES["billing"].values() for t in by}
    # The nearest three are the three double charges, one per language.
    top = hits[:3]
    assert all(h["text"] in billing for h in top), [h["text"] for h in hits]
    assert {h["language"] for h in top} == {"pl", "ru", "en"}
    assert all(
        "dwa razy" in h["text"] or "дважды" in h["text"] or "twice" in h["text"] for h in top
    )
    # Texts without words are not searchable.
    assert all(h["text"] not in ("👍👍🔥",) for h in hits)


async def test_analyse_flags_bad_texts_and_keeps_the_rest(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    texts = ["Dziękuję, wszystko działa!", 42, "", BAD_TEXTS["binary"], BAD_TEXTS["emoji"],
             BAD_TEXTS["huge"], "Нет интернета третий день, ужасно."]  # fmt: skip
    response = await api.post("/api/text/analyse", json={"texts": texts},
                              headers=bearer(admin_token))  # fmt: skip
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["sentiment"] == "positive" and results[0]["language"] == "pl"
    assert results[1]["ok"] is False and "not a string" in results[1]["error"]
    assert results[2]["flag"] == "empty" and results[3]["flag"] == "binary"
    assert results[4]["flag"] == "no_letters"
    assert results[5]["flag"] == "truncated" and results[5]["chars"] > 1_000_000
    assert results[6]["sentiment"] == "negative" and results[6]["language"] == "ru"
    too_long = await api.post("/api/text/analyse", json={"texts": [BAD_TEXTS["huge"]] * 6},
                              headers=bearer(admin_token))  # fmt: skip
    assert too_long.status_code == 400 and "at most 5,000,000" in too_long.json()["message"]
    too_many = await api.post("/api/text/analyse", json={"texts": ["a"] * 201},
                              headers=bearer(admin_token))  # fmt: skip
    assert too_many.status_code == 400 and too_many.json()["code"] == "invalid_input"


async def test_the_timeline_masks_personal_data_without_the_pii_scope(
    api: httpx.AsyncClient, workspace: Workspace, admin_token: str, enriched: dict[str, Any]
) -> None:
    with workspace.session() as s:
        _, reader = do_create_token(s, actor="test", name="agent", scopes=("read",))
    ref = enriched["ids"]["pii-pl"]
    seen = await api.get(f"/api/profiles/{ref}/timeline", headers=bearer(reader))
    assert seen.status_code == 200, seen.text
    body = str(seen.json()["items"])
    assert "jan.kowalski@example.pl" not in body and "44051401458" not in body
    assert "j***@example.pl" in body  # partial: the agent can still match it with the customer
    full = await api.get(f"/api/profiles/{ref}/timeline", headers=bearer(admin_token))
    assert "jan.kowalski@example.pl" in str(full.json()["items"])


def test_topics_are_discovered_once_when_enough_texts_exist(
    workspace: Workspace, enriched: dict[str, Any]
) -> None:
    analysed = enriched["report"].texts
    assert workspace.text.discover_topics_if_none(actor="test", min_texts=analysed + 1) is None
    found = workspace.text.discover_topics_if_none(actor="test", min_texts=10)
    assert found is not None and found.topics >= 2
    assert len(workspace.text.topics()) == found.topics
    # Once topics exist, nothing is rediscovered behind people's backs.
    assert workspace.text.discover_topics_if_none(actor="test", min_texts=10) is None


async def test_the_model_card_names_the_shipped_model_and_its_benchmark(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.get("/api/text/model", headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["source"] == "shipped" and card["model"] == "e5"
    assert card["version"].startswith("full:shipped")
    assert card["e5"] == {"engine": "openvino", "precision": card["e5"]["precision"]}
    # bfloat16 where the processor has it, else int8 (cxm.text.e5.default_precision).
    assert card["e5"]["precision"] == engine().precision in ("bf16", "int8", "f32")
    assert card["tuned_e5"] is None  # the shipped model has no fine-tuned e5
    assert set(card["languages"]) == {"en", "pl"} and card["trained_on"] > 30_000
    # The figures docs/text.md reports for the shipped model, stored with it.
    assert 0.7 < card["measured"]["pl_full"] < 1 and 0.7 < card["measured"]["en_full"] < 1
    assert "threshold" not in card


def test_topic_discovery_while_the_worker_commits(
    workspace: Workspace, enriched: dict[str, Any]
) -> None:
    """Discovery reads and clusters for a while before it writes; a thread commits all the
    while. On SQLite the writing begins a transaction with the write lock of its own, so it
    waits its turn instead of failing with "database is locked"."""
    with worker_committing(workspace) as worker:
        found = [workspace.text.discover_topics(actor="test", k=3) for _ in range(5)]
    assert worker.commits >= 5
    assert [f.topics for f in found] == [3] * 5

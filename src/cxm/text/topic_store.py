"""Topics in the store: discovery over the analysed texts, assignment of new texts, and what
people do to topics (rename, merge, pin). Each change is audited and published."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.domain_events import DomainEvent, publish
from cxm.errors import InvalidInput, NotFound
from cxm.store.engine import write_intent
from cxm.store.metadata import utcnow
from cxm.store.tables import workspace_meta
from cxm.text.keyphrases import keyphrases
from cxm.text.tables import text_items, text_topics, text_vectors
from cxm.text.texts import item_texts
from cxm.text.topics import TopicSpace, assign, cluster, fit_space, match_to_existing

SPACE_KEY = "text.topic_space"
# Discovery reads at most this many texts (k-means on more adds time, not themes).
DISCOVERY_SAMPLE = 30_000


@dataclass(frozen=True)
class TopicsDiscovered(DomainEvent):
    name = "topics-discovered"
    topics: int
    kept: int


@dataclass(frozen=True)
class TopicChanged(DomainEvent):
    name = "topic-changed"
    topic_id: int
    change: str


@dataclass
class TopicAssigner:
    space: TopicSpace | None
    ids: list[int]
    centroids: np.ndarray

    def assign(
        self, vectors: np.ndarray, languages: list[str]
    ) -> tuple[list[int | None], list[float | None]]:
        if self.space is None or not self.ids or len(vectors) == 0:
            return [None] * len(vectors), [None] * len(vectors)
        return assign(self.space.centre(vectors, languages), self.ids, self.centroids)


def load_assigner(s: Session) -> TopicAssigner:
    raw = s.execute(
        select(workspace_meta.c.value).where(workspace_meta.c.key == SPACE_KEY)
    ).scalar()
    rows = s.execute(
        select(text_topics.c.id, text_topics.c.centroid).where(text_topics.c.merged_into.is_(None))
    ).all()
    space = TopicSpace.from_json(orjson.loads(raw)) if raw else None
    if not rows:
        return TopicAssigner(space, [], np.zeros((0, 1), dtype=np.float32))
    return TopicAssigner(
        space,
        [int(r.id) for r in rows],
        np.vstack([np.frombuffer(r.centroid, "<f4") for r in rows]),
    )


@dataclass
class DiscoveryReport:
    texts: int
    topics: int
    kept: int  # existing topics (named or pinned) carried over
    silhouette: float


def do_discover_topics(
    s: Session, *, actor: str, k: int | None = None, seed: int = 7
) -> DiscoveryReport:
    """Cluster the analysed texts into topics, keep what people named or pinned, name the rest
    by keyphrases in each language, and assign every text."""
    rows = s.execute(
        select(
            text_items.c.id,
            text_items.c.language,
            text_items.c.source,
            text_items.c.ref,
            text_items.c.field,
            text_vectors.c.vector,
        )  # fmt: skip
        .join(
            text_vectors,
            (text_vectors.c.text_hash == text_items.c.text_hash)
            & (text_vectors.c.encoder == "use"),
        )
        .where(text_items.c.flag.is_(None) | (text_items.c.flag == "truncated"))
    ).all()
    if len(rows) < 10:
        raise InvalidInput(
            f"topic discovery needs at least 10 analysed texts; there are {len(rows)}. "
            "Run `cxm text enrich` after texts have arrived."
        )
    rng = np.random.default_rng(seed)
    if len(rows) > DISCOVERY_SAMPLE:
        rows = [rows[i] for i in sorted(rng.choice(len(rows), DISCOVERY_SAMPLE, replace=False))]
    vectors = np.vstack([np.frombuffer(r.vector, "<f4") for r in rows])
    languages = [r.language for r in rows]
    space = fit_space(vectors, languages)
    centred = space.centre(vectors, languages)
    found = cluster(centred, k=k, seed=seed)

    texts = item_texts(s, [(r.source, int(r.ref), r.field) for r in rows])
    groups: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r, label in zip(rows, found.labels, strict=True):
        text = texts.get((r.source, int(r.ref), r.field))
        if text:
            groups[int(label)][r.language].append(text)
    phrases = _phrases(groups, {lang for lang in languages})

    # Reading and clustering take a while, and the worker commits meanwhile. On SQLite a
    # transaction that read before such a commit cannot write any more ("database is locked"),
    # so the read ends here and the writing begins a transaction that takes the write lock
    # first (a no-op on PostgreSQL). Anything the caller left pending is committed with it.
    s.commit()
    with write_intent():
        existing = (
            s.execute(select(text_topics).where(text_topics.c.merged_into.is_(None)))
            .mappings()
            .all()
        )
    curated = [t for t in existing if t["pinned"] or t["label"]]
    old_ids = [int(t["id"]) for t in curated]
    old = (
        np.vstack([np.frombuffer(t["centroid"], "<f4") for t in curated])
        if curated
        else np.zeros((0, centred.shape[1]), dtype=np.float32)
    )
    kept = match_to_existing(found.centroids, old_ids, old)

    now = utcnow()
    keep_ids = set(kept.values()) | {int(t["id"]) for t in curated if t["pinned"]}
    # Topics nobody curated are replaced; their texts are reassigned below.
    stale = text_topics.c.id.notin_(keep_ids) if keep_ids else text_topics.c.id.is_not(None)
    s.execute(delete(text_topics).where(stale))
    s.execute(update(text_items).values(topic_id=None, topic_similarity=None))
    for cluster_index in range(len(found.centroids)):
        values = {
            "keyphrases": orjson.dumps(phrases.get(cluster_index, {})).decode(),
            "centroid": found.centroids[cluster_index].astype("<f4").tobytes(),
            "size": int((found.labels == cluster_index).sum()),
            "updated_at": now,
        }
        if cluster_index in kept:
            s.execute(
                update(text_topics).where(text_topics.c.id == kept[cluster_index]).values(**values)
            )
        else:
            s.execute(insert(text_topics).values(pinned=False, created_at=now, **values))
    s.execute(delete(workspace_meta).where(workspace_meta.c.key == SPACE_KEY))
    s.execute(
        insert(workspace_meta).values(key=SPACE_KEY, value=orjson.dumps(space.to_json()).decode())
    )
    reassign_all(s)
    topics = len(found.centroids) + len(keep_ids - set(kept.values()))
    record_action(
        s, actor=actor, action="text.topics_discovered", subject=None,
        details={"texts": len(rows), "topics": topics, "kept": len(keep_ids)},
    )  # fmt: skip
    publish(s, TopicsDiscovered(topics=topics, kept=len(keep_ids)))
    return DiscoveryReport(len(rows), topics, len(keep_ids), round(found.silhouette, 4))


def _phrases(
    groups: dict[int, dict[str, list[str]]], languages: set[str]
) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for lang in sorted(languages):
        per = {g: by_lang.get(lang, []) for g, by_lang in groups.items()}
        for g, phrases in keyphrases(per, lang).items():
            if phrases:
                out[g][lang] = phrases
    return out


def reassign_all(s: Session, batch: int = 5000) -> int:
    """Assign every analysed text to its nearest topic again (after discovery or a merge)."""
    assigner = load_assigner(s)
    last = 0
    done = 0
    while True:
        rows = s.execute(
            select(text_items.c.id, text_items.c.language, text_vectors.c.vector)
            .join(
                text_vectors,
                (text_vectors.c.text_hash == text_items.c.text_hash)
                & (text_vectors.c.encoder == "use"),
            )
            .where(text_items.c.id > last)
            .order_by(text_items.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return done
        vectors = np.vstack([np.frombuffer(r.vector, "<f4") for r in rows])
        ids, sims = assigner.assign(vectors, [r.language for r in rows])
        s.connection().execute(
            update(text_items)
            .where(text_items.c.id == bindparam("item"))
            .values(topic_id=bindparam("topic"), topic_similarity=bindparam("sim")),
            [
                {"item": r.id, "topic": t, "sim": sim}
                for r, t, sim in zip(rows, ids, sims, strict=True)
            ],
        )
        last = int(rows[-1].id)
        done += len(rows)


def _topic(s: Session, topic_id: int) -> dict[str, Any]:
    row = s.execute(select(text_topics).where(text_topics.c.id == topic_id)).mappings().first()
    if row is None:
        raise NotFound(f"there is no topic {topic_id}; `cxm text topics` lists them")
    if row["merged_into"] is not None:
        raise InvalidInput(f"topic {topic_id} was merged into topic {row['merged_into']}")
    return dict(row)


def do_rename_topic(s: Session, *, actor: str, topic_id: int, label: str) -> None:
    label = label.strip()
    if not label or len(label) > 200:
        raise InvalidInput("a topic name must have 1 to 200 characters")
    before = _topic(s, topic_id)
    s.execute(
        update(text_topics)
        .where(text_topics.c.id == topic_id)
        .values(label=label, updated_at=utcnow())
    )
    record_action(s, actor=actor, action="text.topic_renamed", subject=str(topic_id),
                  details={"from": before["label"], "to": label})  # fmt: skip
    publish(s, TopicChanged(topic_id=topic_id, change="renamed"))


def do_pin_topic(s: Session, *, actor: str, topic_id: int, pinned: bool = True) -> None:
    _topic(s, topic_id)
    s.execute(
        update(text_topics)
        .where(text_topics.c.id == topic_id)
        .values(pinned=pinned, updated_at=utcnow())
    )
    record_action(s, actor=actor, action="text.topic_pinned" if pinned else "text.topic_unpinned",
                  subject=str(topic_id))  # fmt: skip
    publish(s, TopicChanged(topic_id=topic_id, change="pinned" if pinned else "unpinned"))


def do_merge_topics(s: Session, *, actor: str, into: int, others: list[int]) -> None:
    """Merge ``others`` into ``into``: their texts move, the centroid is the size-weighted mean."""
    if not others or into in others:
        raise InvalidInput("name one topic to keep and at least one other topic to merge into it")
    target = _topic(s, into)
    merged = [_topic(s, t) for t in others]
    sizes = np.array([target["size"]] + [m["size"] for m in merged], dtype=np.float64)
    cents = np.vstack([np.frombuffer(t["centroid"], "<f4") for t in [target, *merged]])
    centroid = (cents * np.maximum(sizes, 1)[:, None]).sum(axis=0)
    centroid = centroid / np.linalg.norm(centroid)
    phrases: dict[str, list[str]] = orjson.loads(target["keyphrases"])
    for m in merged:
        for lang, words in orjson.loads(m["keyphrases"]).items():
            phrases[lang] = list(dict.fromkeys(phrases.get(lang, []) + words))[:8]
    now = utcnow()
    s.execute(
        update(text_topics).where(text_topics.c.id == into).values(
            centroid=centroid.astype("<f4").tobytes(), size=int(sizes.sum()),
            keyphrases=orjson.dumps(phrases).decode(), updated_at=now,
        )
    )  # fmt: skip
    s.execute(
        update(text_topics)
        .where(text_topics.c.id.in_(others))
        .values(merged_into=into, updated_at=now)
    )
    s.execute(update(text_items).where(text_items.c.topic_id.in_(others)).values(topic_id=into))
    record_action(s, actor=actor, action="text.topics_merged", subject=str(into),
                  details={"merged": others})  # fmt: skip
    publish(s, TopicChanged(topic_id=into, change="merged"))

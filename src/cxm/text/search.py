"""Semantic search over the analysed texts: a question in any of the languages finds texts
with the same meaning in all of them (multilingual USE vectors, cosine similarity).

Multilingual vectors still sit closer to texts in the same language; once topics have been
discovered, the topic model's per-language means are subtracted from the query and from every
text (see ``cxm.text.topics``), so a Polish question ranks a Russian answer by its meaning, not
below every Polish text. The vectors of every analysed text are held in memory as float16
(1 KB a text: a million texts take 1 GB) and reloaded when texts or the topic model change.
Identical texts are one hit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.errors import InvalidInput
from cxm.store.tables import workspace_meta
from cxm.text.encoders import encoder
from cxm.text.language import detect_languages
from cxm.text.tables import text_items, text_vectors
from cxm.text.topics import TopicSpace

MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class Hit:
    item_id: int
    similarity: float
    copies: int  # analysed texts with exactly these words


class _Index:
    def __init__(self) -> None:
        self.key: tuple[str, int, int, int] | None = None
        self.space: TopicSpace | None = None
        self.ids = np.zeros(0, dtype=np.int64)
        self.copies = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, 512), dtype=np.float16)
        self.lock = threading.Lock()


_indexes: dict[str, _Index] = {}
_indexes_lock = threading.Lock()


def _index_for(s: Session) -> _Index:
    url = str(s.get_bind().engine.url)
    with _indexes_lock:
        index = _indexes.setdefault(url, _Index())
    c = text_items.c
    count, last = s.execute(select(func.count(), func.max(c.id))).one()
    raw_space = s.execute(
        select(workspace_meta.c.value).where(workspace_meta.c.key == "text.topic_space")
    ).scalar()
    key = (url, int(count or 0), int(last or 0), hash(raw_space))
    with index.lock:
        if index.key != key:
            space = TopicSpace.from_json(orjson.loads(raw_space)) if raw_space else None
            rows = s.execute(
                select(func.min(c.id), func.count(), text_vectors.c.vector, c.language)
                .join(
                    text_vectors,
                    (text_vectors.c.text_hash == c.text_hash) & (text_vectors.c.encoder == "use"),
                )
                .where(c.flag.is_(None) | (c.flag == "truncated"))
                .group_by(c.text_hash, text_vectors.c.vector, c.language)
            ).all()
            index.ids = np.array([r[0] for r in rows], dtype=np.int64)
            index.copies = np.array([r[1] for r in rows], dtype=np.int64)
            vectors = (
                np.vstack([np.frombuffer(r[2], "<f4") for r in rows])
                if rows
                else np.zeros((0, 512), dtype=np.float32)
            )
            if space is not None and rows:
                vectors = space.centre(vectors, [r[3] for r in rows])
            index.matrix = vectors.astype(np.float16)
            index.space = space
            index.key = key
        return index


def search_texts(
    s: Session, query: str, *, limit: int = 20, min_similarity: float = 0.2
) -> list[Hit]:
    """The analysed texts nearest in meaning to ``query``, best first.

    >>> [h.item_id for h in search_texts(session, "rachunek za wysoki")]   # doctest: +SKIP
    """
    query = query.strip()
    if not query:
        raise InvalidInput("give a search query (a few words, in any language)")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"a search query has at most {MAX_QUERY_CHARS} characters")
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be 1 to 200")
    index = _index_for(s)
    if len(index.ids) == 0:
        return []
    q = encoder("use").encode([query]).astype(np.float32)
    if index.space is not None:
        q = index.space.centre(q, [detect_languages([query])[0].code])
    q = q[0]
    sims = (
        index.matrix.astype(np.float32) @ q
        if len(index.ids) < 200_000
        else index.matrix @ q.astype(np.float16)
    )
    top = np.argsort(-sims)[:limit]
    return [
        Hit(int(index.ids[i]), round(float(sims[i]), 4), int(index.copies[i]))
        for i in top
        if sims[i] >= min_similarity
    ]

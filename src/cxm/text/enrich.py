"""Enrichment: every free text that enters cxm is analysed once and stored with the model
version, in the background (the worker) and in batch (``cxm text enrich``).

Texts come from two places:

- event properties named in ``CXM_TEXT_FIELDS`` (``text``, ``comment``, ``message`` …) of every
  event in the log, read after the ``text-enrich`` high-water mark;
- comments of anonymous survey responses, which have no event (mark ``text-enrich-survey``).

A batch is analysed outside any transaction (the models take time) and written in one short
transaction that also moves the mark; if another run moved the mark meanwhile, this run's batch
is dropped (that run wrote it), so two runs never write a text twice. ``full=True`` starts from
the beginning and replaces stored analyses (after a model change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxm.ingest.queries import event_properties
from cxm.ingest.tables import events
from cxm.journeys.map import JourneyMap
from cxm.journeys.service import current_journey_map
from cxm.store.marks import read_mark as _mark
from cxm.store.marks import write_mark as _set_mark
from cxm.store.metadata import utcnow
from cxm.surveys.tables import survey_responses
from cxm.text.analysis import TextAnalysis, analyse_texts
from cxm.text.sentiment import SentimentModel
from cxm.text.tables import text_items, text_vectors
from cxm.text.topic_store import TopicAssigner, load_assigner

EVENT_MARK = "text-enrich"
SURVEY_MARK = "text-enrich-survey"
EMOTION_VERSION = "proto-1"
SessionFactory = Callable[[], AbstractContextManager[Session]]
Progress = Callable[[int], None]


@dataclass
class EnrichReport:
    texts: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    routed_to_e5: int = 0
    position: int = 0
    skipped_batches: int = 0  # another run got there first


@dataclass(frozen=True)
class _Found:
    source: str
    ref: int
    field: str
    text: str
    occurred_at: datetime
    channel: str | None
    event: str | None
    touchpoint: str | None


def model_version(model: SentimentModel) -> str:
    return f"sentiment={model.version};emotion={EMOTION_VERSION};language=lingua"


def pending_texts(session: Session, *, full: bool = False) -> int:
    """Events a run will read: after the mark, or all of them with ``full``."""
    mark = 0 if full else _mark(session, EVENT_MARK)
    return int(session.execute(select(func.count()).where(events.c.seq > mark)).scalar() or 0)


def do_enrich_texts(
    *,
    session: SessionFactory,
    model: SentimentModel,
    fields: tuple[str, ...],
    batch_events: int = 2000,
    max_batches: int | None = None,
    full: bool = False,
    progress: Progress | None = None,
) -> EnrichReport:
    """Analyse and store the texts of events (and anonymous answers) not analysed yet."""
    report = EnrichReport()
    if full:
        with session() as s:
            _set_mark(s, EVENT_MARK, 0)
            _set_mark(s, SURVEY_MARK, 0)
    version = model_version(model)
    for source in ("event", "survey"):
        batches = 0
        while max_batches is None or batches < max_batches:
            with session() as s:
                mark_name = EVENT_MARK if source == "event" else SURVEY_MARK
                mark = _mark(s, mark_name)
                journey = current_journey_map(s)
                if source == "event":
                    found, last, scanned = _event_texts(s, mark, batch_events, fields, journey)
                else:
                    found, last, scanned = _survey_texts(s, mark, batch_events)
                assigner = load_assigner(s)
            if scanned == 0:
                break
            batches += 1
            analyses = analyse_texts(
                [f.text for f in found],
                model=model,
                known_vectors=_vector_lookup(session),
                known=_analysis_lookup(session, version),
            )
            with session() as s:
                if _mark(s, mark_name, lock=True) != mark:
                    report.skipped_batches += 1
                    continue
                _store(s, found, analyses, version, assigner, replace=full)
                _set_mark(s, mark_name, last)
            report.position = last
            _tally(report, analyses)
            if progress is not None:
                progress(scanned)
    return report


def _tally(report: EnrichReport, analyses: list[TextAnalysis]) -> None:
    report.texts += len(analyses)
    for a in analyses:
        if a.flag:
            report.flagged[a.flag] = report.flagged.get(a.flag, 0) + 1
        report.by_language[a.language] = report.by_language.get(a.language, 0) + 1
        if a.sentiment is not None and a.sentiment.model == "full":
            report.routed_to_e5 += 1


def _event_texts(
    s: Session, mark: int, limit: int, fields: tuple[str, ...], journey: JourneyMap | None
) -> tuple[list[_Found], int, int]:
    rows = s.execute(
        select(
            events.c.seq,
            events.c.type,
            events.c.event,
            events.c.channel,
            events.c.timestamp,
            events.c.payload,
        )  # fmt: skip
        .where(events.c.seq > mark)
        .order_by(events.c.seq)
        .limit(limit)
    ).all()
    found = []
    for r in rows:
        props = event_properties(r.payload)
        for name in fields:
            value = props.get(name)
            if not isinstance(value, str):
                continue
            touchpoint = journey.match(r.type, r.event, r.channel) if journey else None
            found.append(
                _Found(
                    "event",
                    int(r.seq),
                    name,
                    value,
                    r.timestamp,
                    r.channel,
                    r.event,
                    touchpoint.id if touchpoint else None,
                )  # fmt: skip
            )
    return found, (int(rows[-1].seq) if rows else mark), len(rows)


def _survey_texts(s: Session, mark: int, limit: int) -> tuple[list[_Found], int, int]:
    r = survey_responses.c
    rows = s.execute(
        select(r.id, r.comment, r.answered_at, r.touchpoint)
        .where(r.id > mark, r.invitation_id.is_(None))
        .order_by(r.id)
        .limit(limit)
    ).all()
    found = [
        _Found(
            "survey",
            int(x.id),
            "comment",
            x.comment,
            x.answered_at,
            "survey",
            "Survey Answered",
            x.touchpoint,
        )  # fmt: skip
        for x in rows
        if isinstance(x.comment, str)
    ]
    return found, (int(rows[-1].id) if rows else mark), len(rows)


def _vector_lookup(session: SessionFactory) -> Callable[[list[str]], dict[str, np.ndarray]]:
    def lookup(hashes: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with session() as s:
            for chunk in _chunks(sorted(set(hashes)), 500):
                rows = s.execute(
                    select(text_vectors.c.text_hash, text_vectors.c.vector).where(
                        text_vectors.c.encoder == "use", text_vectors.c.text_hash.in_(chunk)
                    )
                )
                for h, blob in rows:
                    out[h] = np.frombuffer(blob, dtype="<f4")
        return out

    return lookup


def _analysis_lookup(
    session: SessionFactory, version: str
) -> Callable[[list[str]], dict[str, TextAnalysis]]:
    """Analyses stored under ``version`` (the same models), by text hash: a text seen before is
    not analysed again. One whose USE vector is missing is analysed again."""
    c, v = text_items.c, text_vectors.c
    columns = (
        c.text_hash, c.chars, c.language, c.language_confidence, c.pii, c.flag,
        c.sentiment, c.sentiment_score, c.sentiment_confidence, c.sentiment_model,
        c.emotion, c.emotion_score, v.vector,
    )  # fmt: skip
    joined = text_items.outerjoin(text_vectors, (v.text_hash == c.text_hash) & (v.encoder == "use"))

    def lookup(hashes: list[str]) -> dict[str, TextAnalysis]:
        out: dict[str, TextAnalysis] = {}
        with session() as s:
            for chunk in _chunks(sorted(set(hashes)), 500):
                query = (
                    select(*columns)
                    .select_from(joined)
                    .where(c.model_version == version, c.text_hash.in_(chunk))
                    .distinct()
                )
                for r in s.execute(query):
                    if r.text_hash in out or (r.sentiment is not None and r.vector is None):
                        continue
                    out[r.text_hash] = TextAnalysis.from_readings(
                        r.text_hash,
                        tuple(r.pii.split(",")) if r.pii else (),
                        np.frombuffer(r.vector, dtype="<f4") if r.vector is not None else None,
                        r,
                    )
        return out

    return lookup


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _store(
    s: Session,
    found: list[_Found],
    analyses: list[TextAnalysis],
    version: str,
    assigner: TopicAssigner,
    *,
    replace: bool,
) -> None:
    if not found:
        return
    now = utcnow()
    with_vectors = [(f, a) for f, a in zip(found, analyses, strict=True) if a.vector is not None]
    topics, similarity = assigner.assign(
        np.vstack([_vector(a) for _, a in with_vectors]) if with_vectors else np.zeros((0, 1)),
        [a.language for _, a in with_vectors],
    )
    topic_of = {
        id(a): (t, sim) for (_, a), t, sim in zip(with_vectors, topics, similarity, strict=True)
    }
    rows = []
    for f, a in zip(found, analyses, strict=True):
        topic, sim = topic_of.get(id(a), (None, None))
        rows.append(
            {
                "source": f.source,
                "ref": f.ref,
                "field": f.field,
                "occurred_at": f.occurred_at,
                "channel": f.channel,
                "event": f.event,
                "touchpoint": f.touchpoint,
                "text_hash": a.text_hash,
                **a.readings(),
                "topic_id": topic,
                "topic_similarity": sim,
                "pii": ",".join(a.pii),
                "model_version": version,
                "enriched_at": now,
            }  # fmt: skip
        )
    conn = s.connection()
    if replace:
        for source in {f.source for f in found}:
            refs = sorted({f.ref for f in found if f.source == source})
            conn.execute(
                delete(text_items).where(text_items.c.source == source, text_items.c.ref.in_(refs))
            )
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(text_items).on_conflict_do_nothing(
            index_elements=["source", "ref", "field"]
        ),
        rows,
    )
    vectors = {a.text_hash: _vector(a) for _, a in with_vectors}
    if vectors:
        conn.execute(
            dialect.insert(text_vectors).on_conflict_do_nothing(
                index_elements=["text_hash", "encoder"]
            ),
            [
                {"text_hash": h, "encoder": "use", "vector": v.astype("<f4").tobytes()}
                for h, v in vectors.items()
            ],
        )


def _vector(a: TextAnalysis) -> np.ndarray:
    assert a.vector is not None  # only texts that were encoded reach here
    return a.vector

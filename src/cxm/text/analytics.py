"""``ws.text``: the text analytics of one workspace, for the CLI, the API, the pages and
notebooks.

>>> ws = cxm.open("./cxm-data")                                  # doctest: +SKIP
>>> ws.text.enrich()                                             # doctest: +SKIP
>>> [t.name for t in ws.text.topics()][:3]                       # doctest: +SKIP
['billing, invoice, refund', 'router, internet, restart', ...]
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.config import Settings
from cxm.journeys.service import current_journey_map
from cxm.text.analysis import TextAnalysis, analyse_texts
from cxm.text.enrich import EnrichReport, do_enrich_texts
from cxm.text.queries import (
    TopicDetail,
    TopicRow,
    Trend,
    Verbatim,
    list_topics,
    text_summary,
    topic_detail,
    trending_complaints,
    verbatims,
)
from cxm.text.search import search_texts
from cxm.text.sentiment import SentimentModel, sentiment_model
from cxm.text.tables import text_items, text_topics
from cxm.text.topic_store import (
    DiscoveryReport,
    do_discover_topics,
    do_merge_topics,
    do_pin_topic,
    do_rename_topic,
)


class TextAnalytics:
    def __init__(
        self,
        *,
        session: Callable[[], AbstractContextManager[Session]],
        settings: Settings,
        models_dir: Path,
    ) -> None:
        self._session = session
        self.settings = settings
        self.models_dir = models_dir

    @property
    def model(self) -> SentimentModel:
        return sentiment_model(
            self.settings.text_model, self.settings.text_cascade_threshold, self.models_dir
        )

    def model_card(self) -> dict[str, Any]:
        """Which sentiment model reads this workspace's texts, and how well it was measured:
        the workspace's own (``cxm text train``: its held-out figures) or the one shipped with
        cxm (its benchmark figures, docs/text.md); and what runs e5 here."""
        from cxm.text.e5 import engine
        from cxm.text.sentiment import FILES

        model = self.model
        metrics = dict(model.full.metrics)
        own = (self.models_dir / FILES["full"]).exists() and "bench" not in metrics
        card: dict[str, Any] = {
            "version": model.version,
            "model": model.choice,
            "source": "workspace" if own else "shipped",
            "trained": metrics.get("version"),
            "trained_on": metrics.get("trained_on"),
            "labels": metrics.get("labels", {}),
            "languages": metrics.get("languages", {}),
            "own_combiners": sorted(model.by_language),
            "measured": metrics.get("held_out") if own else metrics.get("bench"),
            "e5": {"engine": "openvino", "precision": engine().precision},
            # e5 fine-tuned for sentiment (``cxm text train --tune``), averaged with the full
            # stage; None where the model has none.
            "tuned_e5": (
                {"rank": model.tuned.rank, **model.tuned.metrics}
                if model.tuned is not None
                else None
            ),
        }
        if model.choice == "cascade":
            card["threshold"] = model.threshold
        return card

    def analyse(self, texts: list[str]) -> list[TextAnalysis]:
        """Analyse texts without storing them."""
        return analyse_texts(texts, model=self.model)

    def enrich(
        self, *, full: bool = False, max_batches: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> EnrichReport:  # fmt: skip
        """Analyse and store every text not analysed yet (``full``: all again)."""
        return do_enrich_texts(
            session=self._session, model=self.model, fields=self.settings.text_fields,
            full=full, max_batches=max_batches, progress=progress,
        )  # fmt: skip

    def summary(self) -> dict[str, Any]:
        with self._session() as s:
            return text_summary(s)

    def topics(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[TopicRow]:
        with self._session() as s:
            return list_topics(s, since=since, until=until)

    def topic(self, topic_id: int, *, now: datetime, weeks: int = 26) -> TopicDetail:
        with self._session() as s:
            return topic_detail(s, topic_id, journey=current_journey_map(s), now=now, weeks=weeks)

    def discover_topics(self, *, actor: str, k: int | None = None) -> DiscoveryReport:
        with self._session() as s:
            return do_discover_topics(s, actor=actor, k=k)

    def discover_topics_if_none(
        self, *, actor: str, min_texts: int = 200
    ) -> DiscoveryReport | None:
        """Discover topics once a workspace has ``min_texts`` analysed texts and no topics yet
        (the worker does this, so topics appear without anyone asking); None otherwise."""
        with self._session() as s:
            if s.execute(select(func.count()).select_from(text_topics)).scalar():
                return None
            texts = s.execute(
                select(func.count()).where(text_items.c.sentiment.is_not(None))
            ).scalar()
            if int(texts or 0) < min_texts:
                return None
            return do_discover_topics(s, actor=actor)

    def rename_topic(self, topic_id: int, label: str, *, actor: str) -> None:
        with self._session() as s:
            do_rename_topic(s, actor=actor, topic_id=topic_id, label=label)

    def pin_topic(self, topic_id: int, *, pinned: bool = True, actor: str) -> None:
        with self._session() as s:
            do_pin_topic(s, actor=actor, topic_id=topic_id, pinned=pinned)

    def merge_topics(self, into: int, others: list[int], *, actor: str) -> None:
        with self._session() as s:
            do_merge_topics(s, actor=actor, into=into, others=others)

    def trending(self, *, now: datetime, days: int = 14) -> list[Trend]:
        with self._session() as s:
            return trending_complaints(s, now=now, days=days)

    def verbatims(self, *, can_see_pii: bool, **filters: Any) -> list[Verbatim]:
        with self._session() as s:
            return verbatims(s, can_see_pii=can_see_pii, **filters)

    def search(
        self, query: str, *, can_see_pii: bool, limit: int = 20
    ) -> list[tuple[float, int, Verbatim]]:
        """(similarity, copies, verbatim) of the texts nearest in meaning to ``query``."""
        with self._session() as s:
            hits = search_texts(s, query, limit=limit)
            ids = [h.item_id for h in hits]
            found = {v.id: v for v in verbatims(s, can_see_pii=can_see_pii, ids=ids, limit=200)}
        return [(h.similarity, h.copies, found[h.item_id]) for h in hits if h.item_id in found]

"""Reading the texts themselves back from where they live (event payloads, anonymous survey
answers): the analysis tables hold no copy, so erasing the source erases the text."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxm.ingest.tables import events
from cxm.surveys.tables import survey_responses

TextKey = tuple[str, int, str]  # (source, ref, field)


def item_texts(s: Session, keys: Iterable[TextKey]) -> dict[TextKey, str]:
    wanted = list(dict.fromkeys(keys))
    out: dict[TextKey, str] = {}
    by_seq: dict[int, list[str]] = {}
    survey_ids: list[int] = []
    for source, ref, field in wanted:
        if source == "event":
            by_seq.setdefault(ref, []).append(field)
        else:
            survey_ids.append(ref)
    seqs = sorted(by_seq)
    for i in range(0, len(seqs), 500):
        chunk = seqs[i : i + 500]
        for seq, payload in s.execute(
            select(events.c.seq, events.c.payload).where(events.c.seq.in_(chunk))
        ):
            try:
                props = orjson.loads(payload).get("properties") or {}
            except (orjson.JSONDecodeError, AttributeError):
                continue
            for field in by_seq[int(seq)]:
                value = props.get(field) if isinstance(props, dict) else None
                if isinstance(value, str):
                    out[("event", int(seq), field)] = value
    for i in range(0, len(survey_ids), 500):
        chunk = survey_ids[i : i + 500]
        for rid, comment in s.execute(
            select(survey_responses.c.id, survey_responses.c.comment).where(
                survey_responses.c.id.in_(chunk)
            )
        ):
            if isinstance(comment, str):
                out[("survey", int(rid), "comment")] = comment
    return out

"""Saving segments.

>>> with ws.session() as session:                                          # doctest: +SKIP
...     do_save_segment(session=session, actor="user:ania",
...                     data={"name": "krakow-fibre", "traits": {"plan": "fibre"}})
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.domain_events import publish
from cxm.errors import Conflict, InvalidInput
from cxm.segments.definitions import segment_from_data
from cxm.segments.models import Segment, SegmentSaved
from cxm.segments.tables import segments
from cxm.store.metadata import utcnow


def do_save_segment(
    *,
    session: Session,
    actor: str,
    data: Any,
    replace: bool = False,
    name: str | None = None,
    now: datetime | None = None,
) -> Segment:
    """Check a definition and store it; raises SegmentDefinitionInvalid listing every problem.

    Without ``replace`` an existing segment of the same name is a Conflict; with it the
    definition is replaced. ``name``, when given (the URL's), must be the definition's name.
    """
    if name is not None and isinstance(data, dict):
        data = {"name": name} | data
    definition = segment_from_data(data)
    if name is not None and definition.name != name:
        raise InvalidInput(
            f"the definition is named '{definition.name}' but is saved as '{name}'; "
            "make the two the same"
        )
    now = now or utcnow()
    text = orjson.dumps(definition.to_dict()).decode()
    existing = session.execute(
        select(segments.c.created_at).where(segments.c.name == definition.name)
    ).first()
    if existing is not None and not replace:
        raise Conflict(
            f"a segment '{definition.name}' exists already; pick another name, or replace it "
            f"(PUT /api/segments/{definition.name}, cxm segments create --replace)"
        )
    if existing is None:
        try:
            with session.begin_nested():
                session.execute(
                    insert(segments).values(
                        name=definition.name,
                        definition=text,
                        created_at=now,
                        updated_at=now,
                        actor=actor,
                    )
                )
        except IntegrityError as exc:
            raise Conflict(
                f"the segment '{definition.name}' was created at the same time; send it again"
            ) from exc
        created_at = now
    else:
        session.execute(
            update(segments)
            .where(segments.c.name == definition.name)
            .values(definition=text, updated_at=now, actor=actor)
        )
        created_at = existing.created_at
    record_action(
        session,
        actor=actor,
        action="segment.created" if existing is None else "segment.replaced",
        subject=definition.name,
        details=definition.to_dict(),
    )
    publish(session, SegmentSaved(segment=definition.name, created=existing is None))
    return Segment(definition=definition, created_at=created_at, updated_at=now, actor=actor)

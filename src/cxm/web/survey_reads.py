"""Two reads of the Surveys page that :mod:`cxm.surveys` does not offer yet.

The score distribution (answers per headline score) and the newest comments of identified
customers. They are plain aggregate selects on the surveys' own tables, kept here so that the
page does not load every response; they belong in ``cxm.surveys.queries`` and should move
there (with the same signatures) when that package is next changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cxm.surveys.tables import survey_responses, survey_versions


@dataclass(frozen=True)
class Verbatim:
    """A comment an identified customer left, with the score it came with."""

    profile_id: str
    score: float | None
    comment: str
    language: str
    touchpoint: str | None
    answered_at: datetime


def score_distribution(session: Session, survey_id: str, *, kind: str) -> dict[int, int]:
    """How many answers gave each headline score, over the survey's versions of ``kind``.

    Versions of another kind (a survey changed from CSAT to NPS) have another scale, so they
    are left out.
    """
    r, v = survey_responses.c, survey_versions.c
    rows = session.execute(
        select(r.score, func.count())
        .select_from(
            survey_responses.join(
                survey_versions, and_(v.survey_id == r.survey_id, v.version == r.version)
            )
        )
        .where(r.survey_id == survey_id, v.kind == kind, r.score.is_not(None))
        .group_by(r.score)
    )
    counts: dict[int, int] = {}
    for score, n in rows:
        key = int(round(float(score)))
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def recent_verbatims(session: Session, survey_id: str, *, limit: int = 10) -> list[Verbatim]:
    """The newest comments of identified customers, newest first.

    Anonymous answers (no profile, no invitation) and employees' answers (a department, no
    profile) are never returned, whatever the survey's current settings.
    """
    r = survey_responses.c
    rows = session.execute(
        select(r.profile_id, r.score, r.comment, r.language, r.touchpoint, r.answered_at)
        .where(
            r.survey_id == survey_id,
            r.comment.is_not(None),
            r.comment != "",
            r.profile_id.is_not(None),
            r.invitation_id.is_not(None),
        )
        .order_by(r.answered_at.desc(), r.id.desc())
        .limit(limit)
    )
    return [
        Verbatim(
            profile_id=row.profile_id,
            score=row.score,
            comment=row.comment,
            language=row.language,
            touchpoint=row.touchpoint,
            answered_at=row.answered_at,
        )
        for row in rows
    ]

"""A person's data as a machine-readable archive (the right of access and to portability).

``export_subject`` writes a zip of JSON files: everything the store holds on the person (see
:mod:`cxm.privacy.subject`), their rows in the lake, the features the churn model reads about
them now, and the audit entries about them, with a README naming each file. The export is
itself recorded (``privacy_requests``, audit ``privacy.export``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, insert, or_, select
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.audit.tables import audit_log
from cxm.automation.tables import automation_firings, automation_jobs, automation_messages
from cxm.cases.tables import case_activity, cases, data_requests
from cxm.identity.tables import identifiers, identity_pairs, merges, profiles
from cxm.ingest.tables import events
from cxm.insights.tables import churn_scores, experience_scores
from cxm.privacy.subject import Subject
from cxm.privacy.tables import privacy_requests
from cxm.profiles.tables import trait_observations
from cxm.surveys.tables import survey_invitations, survey_responses
from cxm.text.tables import text_items

CHUNK = 500
README = """This archive holds what cxm keeps about one person, as JSON.

profile.json        the customer profile(s): the live one and any merged into it
identifiers.json    e-mails, phones, user and device ids linked to them
traits.json         every trait observation (what was said about them, when, by which source)
events.jsonl        every interaction recorded, one JSON object per line, as received
cases.json          cases, what happened in them, and each time they were asked for data
surveys.json        survey invitations and answers linked to them
texts.json          what cxm read in their texts (language, sentiment, topic, kinds of
                    personal data found); the texts themselves are in events.jsonl
automation.json     automation rules that acted for them, their actions and in-app messages
scores.json         churn risk and likely NPS group with their reasons, and the features
                    the churn model reads about them now
identity.json       how their profiles were merged and any pairs reviewed by people
lake.jsonl          their rows in the analytics lake (copies of events.jsonl, by customer)
audit.json          the audit log's entries about them
"""


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _rows(
    session: Session, table: Table, column: Any, values: Sequence[Any]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in _chunks(values):
        out += [dict(r._mapping) for r in session.execute(select(table).where(column.in_(part)))]
    return out


def _json(value: Any) -> bytes:
    # Column names come as SQLAlchemy's str subclass: NON_STR_KEYS writes them as text.
    return orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def collect(session: Session, subject: Subject) -> dict[str, Any]:
    """Every store row about the person, by file name (without the lake and features)."""
    ids = subject.profile_ids
    event_rows = _rows(session, events, events.c.seq, subject.seqs)
    for row in event_rows:
        row["payload"] = orjson.loads(row["payload"]) if row.get("payload") else None
    return {
        "profile.json": _rows(session, profiles, profiles.c.id, ids),
        "identifiers.json": _rows(session, identifiers, identifiers.c.profile_id, ids),
        "traits.json": _rows(session, trait_observations, trait_observations.c.profile_id, ids),
        "events.jsonl": event_rows,
        "cases.json": {
            "cases": _rows(session, cases, cases.c.id, subject.case_ids),
            "activity": _rows(session, case_activity, case_activity.c.case_id, subject.case_ids),
            "data_requests": _rows(session, data_requests, data_requests.c.profile_id, ids),
        },
        "surveys.json": {
            "invitations": _rows(
                session, survey_invitations, survey_invitations.c.id, subject.invitation_ids
            ),
            "responses": _rows(
                session, survey_responses, survey_responses.c.id, subject.response_ids
            ),
        },  # fmt: skip
        "texts.json": _rows(session, text_items, text_items.c.id, subject.text_ids),
        "automation.json": {
            "firings": _rows(session, automation_firings, automation_firings.c.profile_id, ids),
            "jobs": _rows(session, automation_jobs, automation_jobs.c.profile_id, ids),
            "messages": _rows(session, automation_messages, automation_messages.c.profile_id, ids),
        },
        "scores.json": {
            "churn": _rows(session, churn_scores, churn_scores.c.profile_id, ids),
            "experience": _rows(session, experience_scores, experience_scores.c.profile_id, ids),
        },
        "identity.json": {
            "merges": [
                dict(r._mapping)
                for r in session.execute(
                    select(merges).where(
                        or_(merges.c.winner_id.in_(ids), merges.c.loser_id.in_(ids))
                    )
                )
            ],
            "review_pairs": [
                dict(r._mapping)
                for r in session.execute(
                    select(identity_pairs).where(
                        or_(
                            identity_pairs.c.profile_a.in_(ids), identity_pairs.c.profile_b.in_(ids)
                        )
                    )
                )
            ],
        },
        "audit.json": _rows(session, audit_log, audit_log.c.subject, ids),
    }


def archive(files: dict[str, Any]) -> bytes:
    """The zip: JSON files (``.jsonl`` one object per line) and the README."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", README)
        for name, content in files.items():
            if name.endswith(".jsonl"):
                data = b"".join(
                    orjson.dumps(r, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n"
                    for r in content
                )
            else:
                data = _json(content)
            zf.writestr(name, data)
    return buffer.getvalue()


def record_export(
    session: Session, subject: Subject, *, actor: str, reason: str, counts: dict[str, int],
    now: datetime,
) -> int:  # fmt: skip
    request_id = int(
        session.execute(
            insert(privacy_requests)
            .values(kind="export", profile_id=subject.profile_id, actor=actor, reason=reason,
                    requested_at=now, completed_at=now, report=orjson.dumps(counts).decode())
            .returning(privacy_requests.c.id)
        ).scalar_one()
    )  # fmt: skip
    record_action(session, actor=actor, action="privacy.export", subject=subject.profile_id,
                  details={"request": request_id, "reason": reason, "counts": counts})  # fmt: skip
    return request_id


def count_rows(files: dict[str, Any]) -> dict[str, int]:
    """How many rows each file holds (nested files: summed over their parts)."""
    counts: dict[str, int] = {}
    for name, content in files.items():
        if isinstance(content, dict):
            counts[name] = sum(len(v) if isinstance(v, list) else 1 for v in content.values())
        else:
            counts[name] = len(content)
    return counts

"""Erasure (the right to be forgotten) that reaches every copy, and proves it.

``do_erase`` removes one person (see :mod:`cxm.privacy.subject`) in this order:

1. **tombstones** for each identifier only they held (a keyed hash, no identifier): from
   that commit on, ingest refuses events that carry one (``cxm.privacy.tombstones``), so
   re-sending their old events does not recreate them;
2. the profile projector catches up, so events that arrived just before are placed on them;
3. one transaction deletes their rows from every table: events (the log's only deletion),
   profiles and identifiers, traits, merges and review pairs, cases and their activity and
   requests for data, survey invitations and linked answers, analysed texts and the vectors no
   other text shares, automation firings, jobs, messages, churn and experience scores; audit
   entries about them keep their place in the hash chain with their details redacted;
4. the lake is rebuilt from the store (its Parquet files rewritten without them);
5. SQLite's write-ahead log is checkpointed (deleted pages are zeroed: ``secure_delete``);
6. every store table, the lake and the audit details are searched for their identifiers and
   profile ids: the report says what was removed and that nothing was found.

Shared identifiers (a family's phone, in ``noisy_identifiers``) are neither deleted nor
tombstoned: they are also someone else's. Anonymous survey answers were never linked to the
person and stay. Models keep no rows: the churn and experience models are refit on the next
insights run without the person, and aggregates (topics, drivers) are recomputed then.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Table, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.audit.tables import audit_log
from cxm.automation.tables import (
    automation_firings,
    automation_jobs,
    automation_messages,
    automation_segment_state,
)
from cxm.cases.tables import case_activity, cases, data_requests
from cxm.identity.tables import identifiers, identity_pairs, merges, profiles
from cxm.ingest.tables import events
from cxm.insights.tables import churn_scores, experience_scores
from cxm.privacy.subject import Subject, find_subject
from cxm.privacy.tables import erasure_tombstones, privacy_requests
from cxm.profiles.tables import profile_changes, profile_events, trait_observations
from cxm.store.engine import write_intent
from cxm.store.metadata import utcnow
from cxm.surveys.tables import survey_invitations, survey_responses
from cxm.text.tables import text_items, text_vectors

if TYPE_CHECKING:
    from cxm.workspace import Workspace

CHUNK = 500
# Where a person's identifiers could still be written after their rows are gone: each column
# is searched for every identifier and profile id once the erasure is done.
TRACE_COLUMNS: tuple[tuple[Table, str], ...] = (
    (events, "payload"), (events, "user_id"), (events, "anonymous_id"),
    (identifiers, "value"), (profiles, "id"), (profiles, "search_text"),
    (trait_observations, "value"), (trait_observations, "profile_id"),
    (merges, "link_value"), (merges, "loser_identifiers"), (merges, "evidence"),
    (identity_pairs, "evidence"), (cases, "profile_id"), (cases, "title"),
    (case_activity, "detail"), (data_requests, "profile_id"),
    (survey_invitations, "profile_id"), (survey_responses, "profile_id"),
    (survey_responses, "comment"), (automation_firings, "profile_id"),
    (automation_jobs, "context"), (automation_jobs, "result"),
    (automation_messages, "message"), (churn_scores, "profile_id"),
    (experience_scores, "profile_id"), (audit_log, "subject"), (audit_log, "details"),
)  # fmt: skip


def identifier_digest(secret: bytes, kind: str, value: str) -> str:
    """The tombstone of an identifier: HMAC-SHA256 keyed with the workspace's secret, so the
    table holds no identifier and cannot be reversed by hashing guesses without the key."""
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass
class ErasureReport:
    request_id: int
    profile_id: str
    removed: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    redacted_audit_entries: int = 0
    tombstones: int = 0
    shared_identifiers_kept: int = 0
    lake_rows_before: int = 0
    lake_rows_after: int = 0
    traces: dict[str, int] = field(default_factory=dict)  # place -> matches left (should be {})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def _delete_in(session: Session, table: Table, column: Any, values: Sequence[Any]) -> int:
    removed = 0
    for part in _chunks(values):
        result = session.execute(delete(table).where(column.in_(part)))
        removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return removed


def _store_tombstones(
    session: Session, secret: bytes, subject: Subject, request_id: int, now: datetime
) -> int:
    known = set(session.execute(select(erasure_tombstones.c.digest)).scalars())
    rows = []
    for kind, value in subject.identifiers:
        digest = identifier_digest(secret, kind, value)
        if digest not in known:
            known.add(digest)
            rows.append({"digest": digest, "kind": kind, "request_id": request_id,
                         "erased_at": now})  # fmt: skip
    if rows:
        session.execute(insert(erasure_tombstones), rows)
    return len(rows)


def _delete_rows(session: Session, subject: Subject) -> dict[str, int]:
    """Delete the person's rows everywhere in the store; returns rows removed per table."""
    ids, seqs = subject.profile_ids, subject.seqs
    removed: dict[str, int] = {}

    def gone(name: str, count: int) -> None:
        if count:
            removed[name] = removed.get(name, 0) + count

    gone("case_activity", _delete_in(session, case_activity, case_activity.c.case_id,
                                     subject.case_ids))  # fmt: skip
    gone("data_requests", _delete_in(session, data_requests, data_requests.c.profile_id, ids))
    gone("cases", _delete_in(session, cases, cases.c.id, subject.case_ids))
    gone("survey_responses", _delete_in(session, survey_responses, survey_responses.c.id,
                                        subject.response_ids))  # fmt: skip
    gone("survey_invitations", _delete_in(session, survey_invitations, survey_invitations.c.id,
                                          subject.invitation_ids))  # fmt: skip
    gone("text_items", _delete_in(session, text_items, text_items.c.id, subject.text_ids))
    still_used = set()
    for part in _chunks(subject.text_hashes):
        still_used |= set(
            session.execute(
                select(text_items.c.text_hash).where(text_items.c.text_hash.in_(part))
            ).scalars()
        )
    unused = [h for h in subject.text_hashes if h not in still_used]
    gone("text_vectors", _delete_in(session, text_vectors, text_vectors.c.text_hash, unused))
    for table in (automation_messages, automation_jobs, automation_firings,
                  automation_segment_state, churn_scores, experience_scores,
                  trait_observations, profile_changes):  # fmt: skip
        gone(str(table.name), _delete_in(session, table, table.c.profile_id, ids))
    gone("profile_events", _delete_in(session, profile_events, profile_events.c.seq, seqs))
    gone("events", _delete_in(session, events, events.c.seq, seqs))
    for part in _chunks(ids):
        pairs = session.execute(
            delete(identity_pairs).where(
                or_(identity_pairs.c.profile_a.in_(part), identity_pairs.c.profile_b.in_(part))
            )
        )
        gone("identity_pairs", int(pairs.rowcount or 0))  # type: ignore[attr-defined]
        merged = session.execute(
            delete(merges).where(or_(merges.c.winner_id.in_(part), merges.c.loser_id.in_(part)))
        )
        gone("merges", int(merged.rowcount or 0))  # type: ignore[attr-defined]
    gone("identifiers", _delete_in(session, identifiers, identifiers.c.profile_id, ids))
    # Profiles last; a merged-away profile points at the live one.
    session.execute(update(profiles).where(profiles.c.id.in_(ids)).values(merged_into=None))
    gone("profiles", _delete_in(session, profiles, profiles.c.id, ids))
    return removed


def _audit_entries_about(session: Session, subject: Subject) -> list[int]:
    found: set[int] = set()
    for part in _chunks(subject.profile_ids):
        found |= set(
            session.execute(select(audit_log.c.id).where(audit_log.c.subject.in_(part))).scalars()
        )
    for value in subject.searchable:
        found |= set(
            session.execute(
                select(audit_log.c.id).where(audit_log.c.details.contains(value, autoescape=True))
            ).scalars()
        )
    return sorted(found)


def find_traces(session: Session, values: Sequence[str]) -> dict[str, int]:
    """How many rows of each searched column still mention any of ``values``."""
    traces: dict[str, int] = {}
    for table, column in TRACE_COLUMNS:
        col = table.c[column]
        for value in values:
            n = session.execute(
                select(func.count()).select_from(table).where(col.contains(value, autoescape=True))
            ).scalar()
            if n:
                key = f"{table.name!s}.{column}"
                traces[key] = traces.get(key, 0) + int(n)
    return traces


def lake_rows(ws: Workspace, profile_ids: Sequence[str], values: Sequence[str]) -> int:
    """Rows of the lake that belong to the person or mention one of their identifiers."""
    from cxm.analytics import events_table

    ev = events_table()
    condition = ev.customer_id.isin(list(profile_ids))
    for value in values:
        condition = condition | ev.properties.contains(value)
    result = ws.query_engine().execute(ev.filter(condition).count())
    return int(result) if not hasattr(result, "iloc") else int(result.iloc[0, 0])


def do_erase(ws: Workspace, *, ref: str, actor: str, reason: str) -> ErasureReport:
    """Erase the person ``ref`` names everywhere; see the module docstring."""
    from cxm.audit import redact_entries

    if not reason.strip():
        from cxm.errors import InvalidInput

        raise InvalidInput("say why (the request, its date or reference): it is kept in the log")
    now = utcnow()
    secret = ws.secret_key  # read (or made) before the write transaction: it opens its own
    ws.catch_up()
    ws.sync_lake()
    with write_intent(), ws.session() as s:
        subject = find_subject(s, ref)
        request_id = int(
            s.execute(
                insert(privacy_requests)
                .values(kind="erasure", profile_id=subject.profile_id, actor=actor,
                        reason=reason.strip(), requested_at=now, report="{}")
                .returning(privacy_requests.c.id)
            ).scalar_one()
        )  # fmt: skip
        tombstones = _store_tombstones(s, secret, subject, request_id, now)
    report = ErasureReport(request_id=request_id, profile_id=subject.profile_id,
                           tombstones=tombstones,
                           shared_identifiers_kept=len(subject.shared))  # fmt: skip
    values = subject.searchable
    report.lake_rows_before = lake_rows(ws, subject.profile_ids, values)
    # Events that arrived before the tombstones and are not placed yet: place them, then
    # read the person again so their rows are all found.
    ws.catch_up()
    with write_intent(), ws.session() as s:
        subject = find_subject(s, subject.profile_id)
        values = sorted(set(values) | set(subject.searchable))
        report.removed = _delete_rows(s, subject)
        about = _audit_entries_about(s, subject)
        report.redacted_audit_entries = redact_entries(
            s, about, reason=f"erasure request {request_id}"
        )
        record_action(s, actor=actor, action="privacy.erasure", subject=f"request:{request_id}",
                      details={"request": request_id, "removed": report.removed,
                               "tombstones": tombstones, "redacted_entries": about})  # fmt: skip
    ws.lake.rebuild(ws.engine)
    ws.lake.purge_retired()
    _flush_deleted_pages(ws)
    report.lake_rows_after = lake_rows(ws, subject.profile_ids, values)
    with ws.session() as s:
        report.traces = find_traces(s, values)
        s.execute(
            update(privacy_requests)
            .where(privacy_requests.c.id == request_id)
            .values(completed_at=utcnow(), report=orjson.dumps(report.to_dict()).decode())
        )
    return report


def _flush_deleted_pages(ws: Workspace) -> None:
    """SQLite: move the write-ahead log into the database file and empty it, so the deleted
    rows' old pages are gone from both (``secure_delete`` zeroes freed pages)."""
    if ws.engine.dialect.name != "sqlite":
        return
    with ws.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

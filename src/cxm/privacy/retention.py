"""Retention: personal data kept no longer than the workspace's policy says (storage
limitation, GDPR art. 5(1)(e)).

The policy is ``CXM_RETENTION``, days per kind of data (``customers=1095,events=730``); a kind
not named is kept. The worker applies it every ``CXM_RETENTION_INTERVAL_S``; ``cxm privacy
retention [--dry-run]`` applies it (or counts what it would remove) at once. The kinds:

- ``customers``: a customer not seen for that many days and with no open or pending case is
  erased everywhere, as by an erasure request (:mod:`cxm.privacy.erasure`), but without
  tombstones: a former customer who comes back is welcome, not refused;
- ``events``: raw events older than that are deleted from the log and the lake, with the texts
  analysed from them. Consent events are kept (they prove a lawful basis as long as it is
  relied on); so are profiles, traits, cases, survey scores and aggregates, which are the
  customer memory, not the raw log. Only events profiles already reflect are deleted;
- ``survey_comments``: the free text of survey answers older than that is removed: the
  comment, the answers to text questions, the comment in the answer's ``Survey Answered``
  event and the analysed texts; the scores and choices stay for the metrics;
- ``messages``: automation actions (their job rows, with the trigger's event copied in) and
  in-app messages older than that are deleted; the firings stay, for frequency caps and the
  campaign figures.

Every run is recorded in ``privacy_requests`` (kind ``retention``) and the audit log with the
counts removed, never an identifier; audit entries about erased customers are redacted as for
an erasure, and the chain still verifies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.automation.audience import CONSENT_EVENTS
from cxm.automation.tables import automation_jobs, automation_messages
from cxm.cases.tables import case_activity, cases
from cxm.identity.tables import profiles
from cxm.ingest.tables import events
from cxm.privacy.erasure import CHUNK, _audit_entries_about, _delete_in, _delete_rows
from cxm.privacy.subject import Subject, find_subject
from cxm.privacy.tables import privacy_requests
from cxm.profiles.tables import profile_events
from cxm.store.engine import write_intent
from cxm.store.metadata import utcnow
from cxm.surveys.tables import survey_responses
from cxm.text.tables import text_items, text_vectors

if TYPE_CHECKING:
    from cxm.workspace import Workspace

OPEN_CASE = ("open", "pending")
FINISHED_JOBS = ("done", "dead", "cancelled")


@dataclass
class RetentionReport:
    """What one run removed (or, in a dry run, would remove), per kind of data."""

    ran_at: str
    dry_run: bool
    cutoffs: dict[str, str] = field(default_factory=dict)  # kind → oldest date kept
    found: dict[str, int] = field(default_factory=dict)  # kind → how many fall past it
    removed: dict[str, int] = field(default_factory=dict)  # table → rows deleted
    redacted_entries: list[int] = field(default_factory=list)  # audit entries about the erased
    request_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_retention(
    ws: Workspace, *, actor: str, now: datetime | None = None, dry_run: bool = False
) -> RetentionReport:
    """Apply the workspace's retention policy once; see the module docstring."""
    policy: dict[str, int] = dict(ws.settings.retention)
    now = now or utcnow()
    report = RetentionReport(ran_at=now.isoformat(), dry_run=dry_run)
    if not policy:
        return report
    cutoffs = {kind: now - timedelta(days=days) for kind, days in policy.items()}
    report.cutoffs = {kind: at.isoformat() for kind, at in cutoffs.items()}
    ws.catch_up()
    lake_changed = False
    with write_intent(), ws.session() as s:
        if "customers" in cutoffs:
            subjects = _inactive_customers(s, cutoffs["customers"])
            report.found["customers"] = len(subjects)
            if subjects and not dry_run:
                _erase_customers(s, subjects, report)
                lake_changed = True
        if "events" in cutoffs:
            seqs = _old_events(s, cutoffs["events"])
            report.found["events"] = len(seqs)
            if seqs and not dry_run:
                _delete_events(s, seqs, report)
                lake_changed = True
        if "survey_comments" in cutoffs:
            ids = _old_comments(s, cutoffs["survey_comments"])
            report.found["survey_comments"] = len(ids)
            if ids and not dry_run:
                lake_changed = _remove_comments(s, ids, report) or lake_changed
        if "messages" in cutoffs:
            report.found["messages"] = _old_messages(s, cutoffs["messages"], report, dry_run)
        if not dry_run and any(report.found.values()):
            report.request_id = _record(s, report, actor=actor, now=now)
    if lake_changed:
        ws.lake.rebuild(ws.engine)
        ws.lake.purge_retired()
        if ws.engine.dialect.name == "sqlite":
            with ws.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return report


def _inactive_customers(s: Session, cutoff: datetime) -> list[Subject]:
    p = profiles.c
    open_case = exists().where(cases.c.profile_id == p.id, cases.c.status.in_(OPEN_CASE))
    seen = func.coalesce(p.last_seen, p.created_at)
    ids = s.execute(
        select(p.id).where(p.merged_into.is_(None), seen < cutoff, ~open_case).order_by(p.id)
    ).scalars()
    return [find_subject(s, str(pid)) for pid in ids]


def _erase_customers(s: Session, subjects: list[Subject], report: RetentionReport) -> None:
    from cxm.audit import redact_entries

    redacted: list[int] = []
    for subject in subjects:
        for table, n in _delete_rows(s, subject).items():
            report.removed[table] = report.removed.get(table, 0) + n
        redacted.extend(_audit_entries_about(s, subject))
    report.redacted_entries = sorted(set(redacted))
    redact_entries(s, report.redacted_entries, reason="retention: customer inactive")


def _old_events(s: Session, cutoff: datetime) -> list[int]:
    from cxm.profiles.projector import projected_position

    reflected = projected_position(s.connection())
    e = events.c
    return [
        int(seq)
        for seq in s.execute(
            select(e.seq)
            .where(
                e.timestamp < cutoff,
                e.seq <= reflected,
                or_(e.event.is_(None), e.event.not_in(CONSENT_EVENTS)),
            )
            .order_by(e.seq)
        ).scalars()
    ]


def _delete_events(s: Session, seqs: list[int], report: RetentionReport) -> None:
    texts = _texts_of(s, "event", seqs)
    for start in range(0, len(seqs), CHUNK):
        part = seqs[start : start + CHUNK]
        s.execute(update(case_activity).where(case_activity.c.seq.in_(part)).values(seq=None))
    _delete_texts(s, texts, report)
    _count(report, "profile_events", _delete_in(s, profile_events, profile_events.c.seq, seqs))
    _count(report, "events", _delete_in(s, events, events.c.seq, seqs))


def _old_comments(s: Session, cutoff: datetime) -> list[int]:
    r = survey_responses.c
    return [
        int(i)
        for i in s.execute(
            select(r.id).where(r.answered_at < cutoff, r.comment.is_not(None)).order_by(r.id)
        ).scalars()
    ]


def _remove_comments(s: Session, ids: list[int], report: RetentionReport) -> bool:
    """Remove the free text of responses ``ids``; True when an event was rewritten."""
    from cxm.surveys.queries import get_survey
    from cxm.surveys.responses import ANSWERED_EVENT, answer_message_id

    r = survey_responses.c
    text_questions: dict[tuple[str, int], set[str]] = {}
    event_ids: list[str] = []
    for start in range(0, len(ids), CHUNK):
        rows = s.execute(
            select(r.id, r.survey_id, r.version, r.answers, r.invitation_id).where(
                r.id.in_(ids[start : start + CHUNK])
            )
        ).all()
        for row in rows:
            key = (str(row.survey_id), int(row.version))
            if key not in text_questions:
                definition = get_survey(s, key[0], version=key[1]).definition
                text_questions[key] = {q.id for q in definition.questions if q.type == "text"}
            answers = orjson.loads(row.answers)
            kept = {k: v for k, v in answers.items() if k not in text_questions[key]}
            s.execute(
                update(survey_responses)
                .where(r.id == row.id)
                .values(comment=None, answers=orjson.dumps(kept).decode())
            )
            if row.invitation_id is not None:
                event_ids.append(answer_message_id(str(row.invitation_id)))
    _count(report, "survey_responses.comment", len(ids))
    texts = _texts_of(s, "survey", ids)
    rewritten = 0
    for start in range(0, len(event_ids), CHUNK):
        found = s.execute(
            select(events.c.seq, events.c.payload).where(
                events.c.event == ANSWERED_EVENT,
                events.c.message_id.in_(event_ids[start : start + CHUNK]),
            )
        ).all()
        texts.extend(_texts_of(s, "event", [int(seq) for seq, _ in found]))
        for seq, payload in found:
            data = orjson.loads(payload)
            if (data.get("properties") or {}).pop("comment", None) is not None:
                s.execute(
                    update(events)
                    .where(events.c.seq == seq)
                    .values(payload=orjson.dumps(data).decode())
                )
                rewritten += 1
    _delete_texts(s, texts, report)
    _count(report, "events.comment", rewritten)
    return rewritten > 0


def _old_messages(s: Session, cutoff: datetime, report: RetentionReport, dry_run: bool) -> int:
    jobs = and_(automation_jobs.c.updated_at < cutoff, automation_jobs.c.status.in_(FINISHED_JOBS))
    messages = automation_messages.c.created_at < cutoff
    if dry_run:
        n_jobs = s.execute(select(func.count()).select_from(automation_jobs).where(jobs)).scalar()
        n_messages = s.execute(
            select(func.count()).select_from(automation_messages).where(messages)
        ).scalar()
        return int(n_jobs or 0) + int(n_messages or 0)
    gone_messages = _rows(s.execute(delete(automation_messages).where(messages)))
    gone_jobs = _rows(s.execute(delete(automation_jobs).where(jobs)))
    _count(report, "automation_messages", gone_messages)
    _count(report, "automation_jobs", gone_jobs)
    return gone_messages + gone_jobs


def _texts_of(s: Session, source: str, refs: list[int]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for start in range(0, len(refs), CHUNK):
        found.extend(
            (int(i), str(h))
            for i, h in s.execute(
                select(text_items.c.id, text_items.c.text_hash).where(
                    text_items.c.source == source,
                    text_items.c.ref.in_(refs[start : start + CHUNK]),
                )
            )
        )
    return found


def _delete_texts(s: Session, texts: list[tuple[int, str]], report: RetentionReport) -> None:
    """Delete analysed texts, and the vectors no remaining text shares."""
    if not texts:
        return
    _count(report, "text_items", _delete_in(s, text_items, text_items.c.id, [i for i, _ in texts]))
    hashes = sorted({h for _, h in texts})
    used: set[str] = set()
    for start in range(0, len(hashes), CHUNK):
        part = hashes[start : start + CHUNK]
        used |= set(
            s.execute(select(text_items.c.text_hash).where(text_items.c.text_hash.in_(part)))
            .scalars()
        )  # fmt: skip
    unused = [h for h in hashes if h not in used]
    _count(report, "text_vectors", _delete_in(s, text_vectors, text_vectors.c.text_hash, unused))


def _rows(result: Any) -> int:
    return int(result.rowcount or 0)


def _count(report: RetentionReport, table: str, n: int) -> None:
    if n:
        report.removed[table] = report.removed.get(table, 0) + n


def _record(s: Session, report: RetentionReport, *, actor: str, now: datetime) -> int:
    request_id = int(
        s.execute(
            insert(privacy_requests)
            .values(kind="retention", profile_id="*", actor=actor,
                    reason="retention policy " + ",".join(
                        f"{k}={v}" for k, v in sorted(report.cutoffs.items())),
                    requested_at=now, completed_at=utcnow(), report="{}")
            .returning(privacy_requests.c.id)
        ).scalar_one()
    )  # fmt: skip
    report.request_id = request_id
    s.execute(
        update(privacy_requests)
        .where(privacy_requests.c.id == request_id)
        .values(report=orjson.dumps(report.to_dict()).decode())
    )
    record_action(s, actor=actor, action="privacy.retention", subject=f"request:{request_id}",
                  details={"request": request_id, "found": report.found,
                           "removed": report.removed, "cutoffs": report.cutoffs,
                           "redacted_entries": report.redacted_entries})  # fmt: skip
    return request_id

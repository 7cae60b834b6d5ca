"""The audit log's hash chain on both stores: sealed entries verify; a changed, deleted or
re-hashed entry is found; a redaction verifies only when an erasure names it; entries written
after the seal are sealed at the end of the chain."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import delete, select, update

from cxm.audit import record_action, redact_entries, seal_chain, verify_chain
from cxm.audit.tables import audit_log
from cxm.store.metadata import utcnow
from cxm.workspace import Workspace

LATER = timedelta(seconds=10)


def _log(workspace: Workspace, n: int) -> list[int]:
    with workspace.session() as s:
        for i in range(n):
            record_action(s, actor="test", action="thing.done", subject=f"p_{i}",
                          details={"i": i, "email": f"c{i}@example.pl"})  # fmt: skip
        return list(s.execute(select(audit_log.c.id).order_by(audit_log.c.id)).scalars())


def _sealed(workspace: Workspace) -> None:
    with workspace.session() as s:
        seal_chain(s, now=utcnow() + LATER)


def test_a_sealed_log_verifies_and_keeps_growing(workspace: Workspace) -> None:
    _log(workspace, 5)
    with workspace.session() as s:
        assert seal_chain(s) == 0  # too fresh: a late transaction may still commit before them
        assert seal_chain(s, now=utcnow() + LATER) == 5
        first = verify_chain(s)
    assert first.ok and first.sealed == 5 and first.unsealed == 0 and first.head_seal == 5
    _log(workspace, 3)
    _sealed(workspace)
    with workspace.session() as s:
        second = verify_chain(s)
        rows = s.execute(select(audit_log).order_by(audit_log.c.seal)).all()
    assert second.ok and second.sealed == 8 and second.head_hash != first.head_hash
    assert rows[5].prev_hash == first.head_hash  # the new entries follow the old head


@pytest.mark.parametrize("tamper", ["details", "actor", "delete", "rehash"])
def test_tampering_is_found(workspace: Workspace, tamper: str) -> None:
    ids = _log(workspace, 6)
    _sealed(workspace)
    victim = ids[2]
    with workspace.session() as s:
        if tamper == "details":
            s.execute(update(audit_log).where(audit_log.c.id == victim)
                      .values(details=orjson.dumps({"i": 99}).decode()))  # fmt: skip
        elif tamper == "actor":
            s.execute(update(audit_log).where(audit_log.c.id == victim).values(actor="nobody"))
        elif tamper == "delete":
            s.execute(delete(audit_log).where(audit_log.c.id == victim))
        else:  # a forger recomputes the entry's own hash, but cannot fix the next entry's link
            s.execute(update(audit_log).where(audit_log.c.id == victim)
                      .values(actor="nobody", hash="f" * 64))  # fmt: skip
        report = verify_chain(s)
    assert not report.ok
    expected = {
        "details": f"entry {victim}'s subject or details were changed",
        "actor": f"entry {victim} (position 3) was changed after it was sealed",
        "delete": "entries at positions 3–3 of the chain are gone",
        "rehash": f"entry {ids[3]} (position 4) does not follow the one before it",
    }[tamper]
    assert expected in report.problems, report.problems


def test_a_redaction_verifies_only_when_an_erasure_names_it(workspace: Workspace) -> None:
    ids = _log(workspace, 4)
    with workspace.session() as s:
        assert redact_entries(s, [ids[1]], reason="erasure request 7") == 1
        record_action(s, actor="test", action="privacy.erasure", subject="request:7",
                      details={"request": 7, "redacted_entries": [ids[1]]})  # fmt: skip
        redact_entries(s, [ids[3]], reason="someone hiding something")
    _sealed(workspace)
    with workspace.session() as s:
        report = verify_chain(s)
        kept = s.execute(select(audit_log).where(audit_log.c.id == ids[1])).one()
    assert kept.subject is None and "c1@example.pl" not in kept.details
    assert report.redacted == 2
    assert report.problems == [f"entry {ids[3]} was redacted, but no erasure names it"]

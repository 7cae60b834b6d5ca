"""Domain events: what happened, announced after the change is committed.

``do_*`` functions call :func:`publish` inside their transaction; listeners run only after that
transaction commits (never for a rolled-back change). Listeners run in-process, in the
committing thread; a failing listener is logged and does not undo the change.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class SourceCreated(DomainEvent):
...     name = "source-created"
...     source: str
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_PENDING = "cxm_domain_events"

Listener = Callable[["DomainEvent"], None]
_listeners: dict[type[DomainEvent], list[Listener]] = defaultdict(list)


@dataclass(frozen=True)
class DomainEvent:
    """Base of all domain events; subclasses are frozen dataclasses with a kebab-case name."""

    name: ClassVar[str] = "domain-event"


def subscribe(kind: type[DomainEvent], listener: Listener) -> Callable[[], None]:
    """Call ``listener`` for every committed event of ``kind``; returns an unsubscribe."""
    _listeners[kind].append(listener)
    return lambda: _listeners[kind].remove(listener)


def publish(session: Session, domain_event: DomainEvent) -> None:
    """Announce ``domain_event`` once the session's transaction commits."""
    session.info.setdefault(_PENDING, []).append(domain_event)


def dispatch(events: Iterable[DomainEvent]) -> None:
    """Deliver already-committed events (for code that commits on a Core connection)."""
    for domain_event in events:
        for kind, listeners in list(_listeners.items()):
            if isinstance(domain_event, kind):
                for listener in list(listeners):
                    try:
                        listener(domain_event)
                    except Exception:
                        log.exception("listener %r failed on %s", listener, domain_event.name)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    dispatch(session.info.pop(_PENDING, []))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)

"""What each action does when its job runs: a signed webhook, an e-mail over SMTP, a case for
the owning department, an in-app message. Templates are Jinja in a sandbox, chosen by the
customer's language (Polish, English or Russian, falling back to the first one written).

An action either returns what it did (stored on the job) or raises :class:`ActionFailed`;
``permanent=True`` means trying again cannot help (a 400 from the receiver, no e-mail
address), so the job goes straight to the dead letters.

Every action is safe to run twice (a worker killed mid-run repeats its job): webhooks carry
``Idempotency-Key: cxm-job-<id>``, e-mails the ``Message-ID`` ``<cxm-job-<id>@…>``, cases the
reference ``AUTO-<job id>``, messages one row per job.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import httpx
import orjson
from jinja2 import TemplateError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxm.automation.audience import Customer
from cxm.automation.rules import TEMPLATES, Action
from cxm.automation.tables import automation_messages
from cxm.cases import CasePolicy, do_open_case
from cxm.errors import Conflict, NotFound
from cxm.identity.tables import identifiers
from cxm.store.metadata import utcnow
from cxm.surveys import do_invite, get_survey

WEBHOOK_TIMEOUT_S = 10.0


class ActionFailed(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Delivery:
    """What actions need from outside: SMTP, the webhook secret, the case policy, and a way to
    hand an event to ingest (its own transaction; returns what ingest said)."""

    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    smtp_from: str
    webhook_secret: bytes
    case_policy: CasePolicy
    ingest: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def render(template: Any, customer: Customer, context: dict[str, Any]) -> str:
    """Fill a template (text, or text per language) for ``customer``."""
    if isinstance(template, dict):
        text = (
            template.get(customer.language) or template.get("en") or next(iter(template.values()))
        )
    else:
        text = template
    try:
        return TEMPLATES.from_string(str(text)).render(**customer.context(), **context)
    except TemplateError as exc:
        raise ActionFailed(f"the template cannot be filled: {exc}", permanent=True) from exc


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=`` HMAC of ``timestamp.body``, as the receiver recomputes it to trust a call."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def run_action(
    session: Session | None,
    *,
    action: Action,
    job_id: int,
    rule: str,
    customer: Customer,
    context: dict[str, Any],
    delivery: Delivery,
) -> dict[str, Any]:
    if action.kind == "webhook":
        return _webhook(action.options, job_id, rule, customer, context, delivery)
    if action.kind == "email":
        return _email(action.options, job_id, customer, context, delivery)
    if session is None:
        raise ActionFailed(f"the {action.kind} action needs the store", permanent=True)
    if action.kind == "case":
        return _case(session, action.options, job_id, rule, customer, context, delivery)
    if action.kind == "nudge":
        return _nudge(session, action.options, job_id, rule, customer, context)
    if action.kind == "survey":
        return _survey(session, action.options, rule, customer)
    raise ActionFailed(f"unknown action {action.kind!r}", permanent=True)


def _webhook(
    options: dict[str, Any],
    job_id: int,
    rule: str,
    customer: Customer,
    context: dict[str, Any],
    delivery: Delivery,
) -> dict[str, Any]:
    secret = delivery.webhook_secret
    if options.get("secret_env"):
        value = os.environ.get(options["secret_env"])
        if not value:
            raise ActionFailed(f"the environment variable {options['secret_env']} is not set")
        secret = value.encode()
    body = orjson.dumps(
        {
            "rule": rule,
            "job": job_id,
            "profile_id": customer.profile_id,
            "name": customer.display_name,
            "language": customer.language,
            "event": context.get("event"),
            **({"alert": context["alert"]} if "alert" in context else {}),
            "sent_at": utcnow().isoformat(),
        },
        default=str,
    )
    stamp = str(int(time.time()))
    headers = {
        "content-type": "application/json",
        "user-agent": "cxm-automation",
        "x-cxm-timestamp": stamp,
        "x-cxm-signature": sign(secret, stamp, body),
        "idempotency-key": f"cxm-job-{job_id}",
    }
    try:
        response = httpx.post(options["url"], content=body, headers=headers,
                              timeout=WEBHOOK_TIMEOUT_S)  # fmt: skip
    except httpx.HTTPError as exc:
        raise ActionFailed(f"POST {options['url']} failed: {exc!r}") from exc
    if response.is_success:
        return {"status": response.status_code}
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 425, 429)
    raise ActionFailed(
        f"POST {options['url']} answered {response.status_code}: {response.text[:200]}",
        permanent=permanent,
    )


def _email(
    options: dict[str, Any],
    job_id: int,
    customer: Customer,
    context: dict[str, Any],
    delivery: Delivery,
) -> dict[str, Any]:
    to = str(options.get("to", "trait:email"))
    key = to.removeprefix("trait:")
    address = customer.traits.get(key) if to.startswith("trait:") else to
    if not isinstance(address, str) or "@" not in parseaddr(address)[1]:
        raise ActionFailed(f"the customer has no e-mail address in trait {key!r}", permanent=True)
    if not delivery.smtp_host:
        raise ActionFailed("no SMTP server is configured (CXM_SMTP_HOST)")
    message = EmailMessage()
    message["From"] = delivery.smtp_from
    message["To"] = address
    message["Subject"] = render(options["subject"], customer, context).strip()
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(delivery.smtp_from)[1].partition("@")[2] or "cxm.local"
    message["Message-ID"] = f"<cxm-job-{job_id}@{domain}>"
    message["X-Cxm-Job"] = str(job_id)
    message.set_content(render(options["body"], customer, context))
    try:
        with smtplib.SMTP(delivery.smtp_host, delivery.smtp_port, timeout=30) as smtp:
            if delivery.smtp_starttls:
                smtp.starttls()
            if delivery.smtp_user:
                smtp.login(delivery.smtp_user, delivery.smtp_password or "")
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise ActionFailed(f"the SMTP server refused {address}: {exc}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ActionFailed(
            f"sending to {delivery.smtp_host}:{delivery.smtp_port} failed: {exc!r}"
        ) from exc
    if refused:
        raise ActionFailed(f"the SMTP server refused {sorted(refused)}", permanent=True)
    return {"to": address, "message_id": message["Message-ID"], "language": customer.language}


def _case(
    session: Session,
    options: dict[str, Any],
    job_id: int,
    rule: str,
    customer: Customer,
    context: dict[str, Any],
    delivery: Delivery,
) -> dict[str, Any]:
    ref = f"AUTO-{job_id}"
    note = render(options["note"], customer, context) if options.get("note") else None
    try:
        with session.begin_nested():
            case = do_open_case(
                session=session,
                actor=f"automation:{rule}",
                policy=delivery.case_policy,
                profile_id=customer.profile_id,
                title=render(options["title"], customer, context).strip()[:300],
                priority=options.get("priority", "normal"),
                department=options.get("department"),
                ref=ref,
                note=note,
            )
    except Conflict:
        return {"case": ref, "existed": True}  # a repeated run: the case is there already
    return {"case": case.ref}


def plan_event(
    session: Session, *, action: Action, job_id: int, customer: Customer
) -> dict[str, Any]:
    """The identify event an ingesting action sends (``trait``: set a trait, which puts the
    customer into every segment defined on it). Its messageId is the job's, so sending it
    twice stores it once."""
    return {
        "type": "identify",
        "messageId": f"automation-job-{job_id}",
        "timestamp": utcnow().isoformat(),
        **identity_of(session, customer.profile_id),
        "traits": {action.options["key"]: action.options["value"]},
    }


def identity_of(session: Session, profile_id: str) -> dict[str, Any]:
    """How an event names this customer so the identity rules place it on their profile."""
    rows = session.execute(
        select(identifiers.c.kind, identifiers.c.value)
        .where(identifiers.c.profile_id == profile_id)
        .order_by(identifiers.c.first_seq)
    ).all()
    held: dict[str, str] = {}
    for kind, value in rows:
        held.setdefault(kind, value)
    if "user_id" in held:
        return {"userId": held["user_id"]}
    if "anonymous_id" in held:
        return {"anonymousId": held["anonymous_id"]}
    for kind in ("email", "phone"):
        if kind in held:
            return {"anonymousId": f"{kind}:{held[kind]}",
                    "context": {"traits": {kind: held[kind]}}}  # fmt: skip
    raise ActionFailed(f"the profile {profile_id} holds no identifier to address it by",
                       permanent=True)  # fmt: skip


def _survey(
    session: Session, options: dict[str, Any], rule: str, customer: Customer
) -> dict[str, Any]:
    """A survey invitation through the surveys capability: its fatigue rule applies (a customer
    invited lately is not invited again), which also makes a repeated run harmless."""
    try:
        survey = get_survey(session, options["survey"])
    except NotFound as exc:
        raise ActionFailed(str(exc), permanent=True) from exc
    languages = survey.definition.languages
    language = customer.language if customer.language in languages else languages[0]
    outcome = do_invite(
        session=session,
        actor=f"automation:{rule}",
        survey=options["survey"],
        profile_id=customer.profile_id,
        touchpoint=options.get("touchpoint"),
        case_ref=None,
        language=language,
        now=utcnow(),
    )
    if outcome.status == "rejected":
        raise ActionFailed(f"the invitation was rejected: {outcome.reason}", permanent=True)
    return {"survey": options["survey"], "status": outcome.status, "reason": outcome.reason,
            "invitation": outcome.invitation_id}  # fmt: skip


def _nudge(
    session: Session,
    options: dict[str, Any],
    job_id: int,
    rule: str,
    customer: Customer,
    context: dict[str, Any],
) -> dict[str, Any]:
    conn = session.connection()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    text = render(options["message"], customer, context)
    conn.execute(
        dialect.insert(automation_messages)
        .values(
            profile_id=customer.profile_id,
            rule=rule,
            job_id=job_id,
            channel=options.get("channel", "app"),
            language=customer.language,
            message=text,
            created_at=utcnow(),
            seen_at=None,
        )
        .on_conflict_do_nothing(index_elements=["job_id"])
    )
    return {"channel": options.get("channel", "app"), "language": customer.language}

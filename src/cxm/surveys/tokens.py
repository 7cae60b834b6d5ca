"""Invitation tokens: a random invitation id signed (HMAC-SHA256) with the workspace's secret.

The id is 128 random bits, so a token cannot be guessed, and it says nothing about the person;
the signature lets a forged or mistyped token be refused before the store is asked.

>>> token = sign_invitation(b"k" * 32, "inv_abc")
>>> read_invitation_token(b"k" * 32, token)
'inv_abc'
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, Signer
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxm.store.tables import workspace_meta
from cxm.surveys.models import InvitationInvalid

_SALT = "cxm.surveys.invitation"
_MAX_TOKEN = 200


def new_invitation_id() -> str:
    return "inv_" + secrets.token_urlsafe(16)


def _signer(secret: bytes) -> Signer:
    return Signer(secret, salt=_SALT, digest_method=hashlib.sha256, sep=".")


def sign_invitation(secret: bytes, invitation_id: str) -> str:
    return _signer(secret).sign(invitation_id).decode()


def read_invitation_token(secret: bytes, token: str) -> str:
    """The invitation id a token holds; raises InvitationInvalid when cxm did not sign it."""
    refused = InvitationInvalid(
        "this survey link is not valid: it may be mistyped or cut short; "
        "open the link from the invitation again"
    )
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
        raise refused
    try:
        invitation_id = _signer(secret).unsign(token).decode()
    except (BadSignature, UnicodeError):
        raise refused from None
    # Base64 leaves a few bits of the last character unused, so other spellings of the same
    # signature decode alike; only the exact token cxm issued is accepted.
    if not hmac.compare_digest(sign_invitation(secret, invitation_id), token):
        raise refused
    return invitation_id


def workspace_secret(session: Session) -> bytes:
    """The workspace's secret key (the one ``Workspace.secret_key`` reads), created if missing."""
    select_value = select(workspace_meta.c.value).where(workspace_meta.c.key == "secret_key")
    value = session.execute(select_value).scalar()
    if value is None:
        try:
            with session.begin_nested():
                value = secrets.token_hex(32)
                session.execute(insert(workspace_meta).values(key="secret_key", value=value))
        except IntegrityError:
            value = session.execute(select_value).scalar_one()
    return bytes.fromhex(value)

"""The signed ``cxm_session`` cookie: who is signed in, and the CSRF secret of the browser.

The cookie holds ``{"tid": <api token id or null>, "csrf": <random>}`` signed with the
workspace secret. Before sign-in it carries only the CSRF value, so the login form is
protected the same way as every other form (double submit: the value from the signed cookie
must come back in the ``csrf_token`` field or the ``X-CSRF-Token`` header).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "cxm_session"
LANG_COOKIE = "cxm_lang"
SESSION_SALT = "cxm-web-session"
SESSION_MAX_AGE_S = 12 * 3600
LANG_MAX_AGE_S = 365 * 24 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class WebSession:
    csrf: str
    token_id: int | None = None
    user_id: int | None = None

    @classmethod
    def anonymous(cls) -> WebSession:
        return cls(csrf=secrets.token_urlsafe(32))

    def signed_in(self, token_id: int) -> WebSession:
        """A fresh session for ``token_id``; the CSRF value is rotated at sign-in."""
        return WebSession(csrf=secrets.token_urlsafe(32), token_id=token_id)

    def signed_in_user(self, user_id: int) -> WebSession:
        """A fresh session for a user who signed in with a password."""
        return WebSession(csrf=secrets.token_urlsafe(32), user_id=user_id)


def _serializer(secret_key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SESSION_SALT)


def load_session(request: Request, secret_key: bytes) -> WebSession | None:
    """The session in the request's cookie, or None when absent, tampered with or expired."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data: Any = _serializer(secret_key).loads(raw, max_age=SESSION_MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
        return None
    token_id, user_id = data.get("tid"), data.get("uid")
    for value in (token_id, user_id):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return None
    return WebSession(csrf=data["csrf"], token_id=token_id, user_id=user_id)


def store_session(
    response: Response, request: Request, secret_key: bytes, session: WebSession
) -> None:
    payload = {"tid": session.token_id, "uid": session.user_id, "csrf": session.csrf}
    response.set_cookie(
        SESSION_COOKIE,
        _serializer(secret_key).dumps(payload),
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def store_language(response: Response, request: Request, lang: str) -> None:
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=LANG_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def csrf_matches(session: WebSession | None, submitted: str | None) -> bool:
    """True when ``submitted`` equals the CSRF value of the signed session."""
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())


def safe_next(target: str | None, default: str = "/overview") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 32 for ch in target):
        return default
    return target

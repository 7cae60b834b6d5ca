"""Cross-origin access for the tracking API only.

Browser SDKs (analytics.js and peers) post events from the customer's own site, so ``/v1/*``
answers any origin: a write key only lets its holder add events, never read. The REST API and
the dashboard stay same-origin.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/v1/"
_PREFLIGHT_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"authorization, content-type, content-encoding"),
    (b"access-control-max-age", b"86400"),
    (b"content-length", b"0"),
]


class TrackingCors:
    """ASGI middleware: answers preflights and tags responses under ``/v1/``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send(
                {"type": "http.response.start", "status": 204, "headers": _PREFLIGHT_HEADERS}
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["access-control-allow-origin"] = "*"
            await send(message)

        await self.app(scope, receive, tagged)

"""Real receivers for automation tests: an SMTP server (aiosmtpd) and an HTTP server, both on
127.0.0.1, each keeping what it received. The HTTP one answers what the test tells it to
(``answers``: a list of status codes consumed in order, then ``default``)."""

from __future__ import annotations

import email
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from helpers import free_port


@dataclass
class SmtpSink:
    messages: list[Message] = field(default_factory=list)
    port: int = 0
    _controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def start(self) -> SmtpSink:
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class HttpSink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[int] = []
        self.default = 200
        self.delays: list[float] = []  # seconds to wait before answering, consumed in order
        self.port = free_port()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                sink.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if sink.delays:
                    time.sleep(sink.delays.pop(0))
                status = sink.answers.pop(0) if sink.answers else sink.default
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 400 else b"no")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the alerting tests and benchmark:
it records what it accepts, can be stopped and started on the same port, refuses chosen
recipients for good, and can hold one message until the test lets it go. With a TLS
context it requires STARTTLS before anything else, or speaks TLS from the first byte."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from waiting import wait_for


@dataclass
class Received:
    message: EmailMessage
    recipients: list[str]
    time: float  # time.time() when accepted

    @property
    def key(self) -> str:
        return str(self.message["X-Yuqing-Key"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None
        return str(body.get_content())  # type: ignore[attr-defined]


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.sink.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        hold = self.sink.hold
        if hold is not None and hold(len(self.sink.received) + 1):
            # Not accepted: the test decides what happens to the client meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, self.sink.release.wait)
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.received.append(Received(parsed, list(envelope.rcpt_tos), time.time()))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MailSink:
    """``login``: (username, password) the server requires (over plain text unless ``tls``).
    ``tls``: the server's certificate, required by STARTTLS, or from the first byte
    (port 465 style) if ``implicit``."""

    def __init__(
        self,
        port: int | None = None,
        login: tuple[str, str] | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        implicit: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.login = login
        self.tls, self.implicit = tls, implicit
        self.logins: list[tuple[Any, str]] = []  # (client address, username) of each AUTH
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.hold: Callable[[int], bool] | None = None  # message number -> hold it?
        self.release = threading.Event()
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> MailSink:
        options: dict[str, Any] = {}
        if self.login:
            options = {
                "authenticator": self._authenticate,
                "auth_required": True,
                # aiosmtpd only sees its own STARTTLS: TLS from the first byte looks clear.
                "auth_require_tls": self.tls is not None and not self.implicit,
            }
        if self.tls is not None and self.implicit:
            options["ssl_context"] = self.tls
        elif self.tls is not None:
            options |= {"tls_context": self.tls, "require_starttls": True}
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **options
        )
        self._controller.start()
        return self

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        given = (data.login.decode(), data.password.decode())
        with self.lock:
            self.logins.append((session.peer, given[0]))
        # handled=False: aiosmtpd then answers a refusal with 535 (by default it stays silent).
        ok = isinstance(data, LoginPassword) and given == self.login
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def keys(self) -> list[str]:
        with self.lock:
            return [r.key for r in self.received]

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        wait_for(f"{count} messages", lambda: len(self.received) >= count, timeout)

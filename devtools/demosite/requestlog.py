"""Every request the site answers, so tests can assert politeness and "never fetched twice"."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request; ``at`` is ``time.monotonic()`` when it arrived."""

    method: str
    path: str
    query: str
    status: int
    headers: dict[str, str]
    at: float

    @property
    def target(self) -> str:
        """Path plus query string, as the client asked for it."""
        return f"{self.path}?{self.query}" if self.query else self.path


class RequestLog:
    """Thread-safe record of requests, filled by wrapping the WSGI app with ``wrap``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def wrap(self, app: WSGIApplication) -> WSGIApplication:
        """WSGI middleware recording each request once its status is known."""

        def logged(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            arrived = time.monotonic()

            def recording_start(
                status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
            ) -> Callable[[bytes], object]:
                self._append(environ, int(status.split()[0]), arrived)
                return start_response(status, headers, exc_info)

            return app(environ, recording_start)

        return logged

    def _append(self, environ: WSGIEnvironment, status: int, arrived: float) -> None:
        headers = {
            key[5:].replace("_", "-").title(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        entry = LoggedRequest(
            method=environ["REQUEST_METHOD"],
            # WSGI hands the raw path bytes over as latin-1.
            path=environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"),
            query=environ.get("QUERY_STRING", ""),
            status=status,
            headers=headers,
            at=arrived,
        )
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        """A snapshot, oldest first."""
        with self._lock:
            return list(self._entries)

    def count(self, path: str) -> int:
        """How many times ``path`` (without query) was requested."""
        return sum(1 for e in self.entries() if e.path == path)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

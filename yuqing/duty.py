"""Work that exactly one process may do at a time, under a lease in the store.

Every ``yuqing run`` with mail asks for the lease ``mail``; the one that holds it runs the
outbox sender and the alerting tick, the others stand by and ask again every few
seconds. The holder renews it well before it ends; if the holder dies, its lease ends
``ttl`` seconds after its last renewal and a standby takes over within ``ttl + every``.
A holder that cannot renew (the store is out of reach) stops its work before its lease
could have ended, so two processes never work at once (the outbox's conditional claims
make a moment of overlap harmless anyway: no email goes out twice).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from store import Store, StoreError

log = logging.getLogger(__name__)
Work = Callable[[threading.Event], list[threading.Thread]]


def holder_id() -> str:
    """This process, as lease holders are named (host, pid and a random part, since a
    pid can come back after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Duty:
    """Runs ``start(stop)`` (which starts threads and returns them) while this process
    holds the lease ``name``, and stops them (setting ``stop``) when it loses it."""

    def __init__(
        self,
        store: Store,
        name: str,
        start: Work,
        now: Callable[[], datetime],
        *,
        ttl: float = 20.0,
        every: float = 5.0,
        on_change: Callable[[str, str], None] | None = None,
        join_seconds: float = 60.0,
    ) -> None:
        if every * 2 >= ttl:
            raise ValueError("renew at least twice per lease (every < ttl / 2)")
        self.store, self.name, self.start, self.now = store, name, start, now
        self.ttl, self.every, self.join_seconds = ttl, every, join_seconds
        self.holder = holder_id()
        self.on_change = on_change or (lambda state, holder: None)
        self.held = threading.Event()
        self._work_stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def run(self, stop: threading.Event) -> None:
        """Hold or wait for the lease until ``stop`` is set; then stop the work and give
        the lease up, so a standby takes over at once."""
        renewed = 0.0  # time.monotonic() of the last renewal
        try:
            while not stop.is_set():
                asked = time.monotonic()
                try:
                    now = self.now()
                    lease = self.store.leases.acquire(
                        self.name, self.holder, now + timedelta(seconds=self.ttl), now
                    )
                except StoreError as e:
                    log.warning("lease %s: %s", self.name, e)
                    lease = None
                    # Out of reach, the lease may still be ours for a while: stop working
                    # while it surely is, not after another process took over.
                    if self.held.is_set() and asked - renewed < self.ttl - self.every:
                        stop.wait(self.every)
                        continue
                if lease is not None:
                    renewed = asked
                    if not self.held.is_set():
                        self._begin()
                elif self.held.is_set():
                    self._end("lost")
                stop.wait(self.every)
        finally:
            if self.held.is_set():
                self._end("released")
                try:
                    self.store.leases.release(self.name, self.holder)
                except StoreError as e:
                    log.warning("lease %s not released: %s", self.name, e)

    def _begin(self) -> None:
        self.held.set()
        self._work_stop = threading.Event()
        self._threads = self.start(self._work_stop)
        self.on_change("taken", self.holder)

    def _end(self, why: str) -> None:
        self._work_stop.set()
        for thread in self._threads:
            thread.join(self.join_seconds)
        self._threads = []
        self.held.clear()
        self.on_change(why, self.holder)

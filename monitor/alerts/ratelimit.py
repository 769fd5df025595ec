"""Per-destination rate limits, counted as the platforms count them.

A destination with a limit of N messages per W seconds has a bucket of N tokens; a send
takes one, and each token comes back W seconds after it was taken. That is the
platforms' own rule (at most N in any W seconds: WeCom and DingTalk 20 a minute per
robot, Feishu 5 a second and 100 a minute, an SMS number 1 a minute and 5 an hour),
where a bucket refilling at N/W per second would let 2N through in some window and, on
DingTalk, get the robot blocked for ten minutes.

The sender asks :meth:`Limiter.wait` before sending; a destination without a token
keeps its deliveries queued (and merges them, see :mod:`monitor.alerts.outbox`) rather
than dropping any. A platform that answers "rate limited" anyway (another sender, a
restart) blocks the destination until it says. State lives in the process and is
seeded from the outbox's recent sends when a destination is first seen.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from monitor.alerts.channels.base import Limit


class Limiter:
    """Send times per destination key, against each destination's limits."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}
        self._lock = threading.Lock()

    def known(self, destination: str) -> bool:
        with self._lock:
            return destination in self._sent

    def seed(self, destination: str, times: Iterable[float]) -> None:
        """Sends to ``destination`` before this process knew of them (from the store)."""
        with self._lock:
            self._sent.setdefault(destination, deque()).extend(sorted(times))

    def wait(self, destination: str, limits: Iterable[Limit], now: float) -> float:
        """Seconds until ``destination`` may be sent to (0: now)."""
        with self._lock:
            sent = self._sent.get(destination, deque())
            wait = max(0.0, self._blocked.get(destination, 0.0) - now)
            longest = 0.0
            for limit in limits:
                longest = max(longest, limit.seconds)
                recent = [t for t in sent if t > now - limit.seconds]
                if len(recent) >= limit.count:
                    # The oldest token still out comes back first.
                    wait = max(wait, recent[-limit.count] + limit.seconds - now)
            while sent and sent[0] <= now - longest:  # forget what no limit looks at
                sent.popleft()
            return wait

    def take(self, destination: str, now: float) -> None:
        """Record a send to ``destination`` at ``now``."""
        with self._lock:
            self._sent.setdefault(destination, deque()).append(now)

    def give_back(self, destination: str, at: float) -> None:
        """Undo :meth:`take` of ``at``: the message never reached the platform."""
        with self._lock:
            sent = self._sent.get(destination)
            if sent and at in sent:
                sent.remove(at)

    def block(self, destination: str, until: float) -> None:
        """The platform refused for its rate limit: nothing more until ``until``."""
        with self._lock:
            self._blocked[destination] = max(self._blocked.get(destination, 0.0), until)

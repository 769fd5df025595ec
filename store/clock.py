"""Business time: one clock per process, made by the composition root and passed down.

Everything that stamps or compares business time (first seen, deadlines, leases, reports)
asks a :class:`Clock`, never ``datetime.now`` itself, so a test or the demo can move time
for the whole system at once (:class:`ManualClock`, :class:`ScaledClock`). Times are
aware; the store keeps them in UTC and shows them in the clock's zone.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


class Clock:
    """The real time, in ``zone`` (an IANA name or a tzinfo). Calling it is :meth:`now`,
    so it serves wherever a ``Callable[[], datetime]`` is expected."""

    def __init__(self, zone: str | tzinfo = DEFAULT_ZONE) -> None:
        self.zone: tzinfo = ZoneInfo(zone) if isinstance(zone, str) else zone

    def now(self) -> datetime:
        return datetime.now(self.zone)

    def __call__(self) -> datetime:
        return self.now()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.zone})"

    def __deepcopy__(self, memo: dict[int, object]) -> Clock:
        # One clock per process, shared: Scrapy deep-copies its settings, which hold it.
        return self


class ManualClock(Clock):
    """Stands still until moved: :meth:`set` or :meth:`advance` (for tests)."""

    def __init__(self, start: datetime, zone: str | tzinfo | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's time must be aware (give it a zone)")
        super().__init__(zone or start.tzinfo)
        self._now = start.astimezone(self.zone)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(self.zone)

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (seconds or a timedelta); the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now


class ScaledClock(Clock):
    """Runs ``factor`` times faster than real time from ``start`` (default: now), for a
    demo that shows an hour of news in minutes."""

    def __init__(
        self, factor: float, start: datetime | None = None, zone: str | tzinfo = DEFAULT_ZONE
    ) -> None:
        if factor <= 0:
            raise ValueError("a clock's speed must be positive")
        super().__init__(zone)
        self.factor = factor
        self._origin = (start or datetime.now(self.zone)).astimezone(self.zone)
        self._real = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._real) * self.factor
        return self._origin + timedelta(seconds=elapsed)

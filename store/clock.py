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

    @property
    def speed(self) -> float:
        """Business seconds per real second: whatever waits in real time (a schedule, a
        lease's heartbeat) divides its business-time span by this."""
        return 1.0

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
    demo that shows an hour of news in minutes.

    With ``anchor`` (a real instant) it is instead the business time of every process
    that shares the anchor: business and real time coincide at ``anchor`` and business
    time runs ``factor`` times faster from there. The service, its crawl processes and
    the demo world agree on "now" that way (``[clock] speed`` and ``origin``)."""

    def __init__(
        self,
        factor: float,
        start: datetime | None = None,
        zone: str | tzinfo = DEFAULT_ZONE,
        anchor: datetime | None = None,
    ) -> None:
        if factor <= 0:
            raise ValueError("a clock's speed must be positive")
        super().__init__(zone)
        self.factor = factor
        self._anchor = anchor
        self._origin = (start or datetime.now(self.zone)).astimezone(self.zone)
        self._real = time.monotonic()

    @property
    def speed(self) -> float:
        return self.factor

    def now(self) -> datetime:
        if self._anchor is not None:
            real = datetime.now(self.zone)
            return self._anchor.astimezone(self.zone) + (real - self._anchor) * self.factor
        elapsed = (time.monotonic() - self._real) * self.factor
        return self._origin + timedelta(seconds=elapsed)

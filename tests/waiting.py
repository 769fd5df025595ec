"""Waiting on a condition, the one way tests wait: poll ``check`` until it gives something
truthy, fail naming ``what`` after ``timeout`` seconds. Never a fixed sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
_IDLE = threading.Event()  # never set: waiting on it is a pause that reads as one


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 60.0) -> T:
    """``check()``'s first truthy result, polled every few milliseconds (backing off to a
    quarter second); AssertionError naming ``what`` when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        _IDLE.wait(pause)
        pause = min(pause * 2, 0.25)

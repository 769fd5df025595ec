""" "Run now": a run of one source outside its schedule, started by the API.

It goes the scheduler's way (:func:`crawler.scheduler.launch`, a crawl process that takes
the source's lease), in a background thread so the caller need not wait.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from datetime import datetime

from crawler.scheduler import launch
from store import Store

log = logging.getLogger(__name__)


def store_env(store: Store) -> dict[str, str]:
    """Environment that makes a crawl process open ``store`` (whatever the
    configuration file says)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["YUQING_STORE"] = store.url
    prefix = getattr(store, "prefix", None)
    if prefix is not None:
        env["YUQING_STORE_PREFIX"] = str(prefix)
    return env


def in_progress(store: Store, source_id: str, now: datetime) -> bool:
    """Whether a live run (its lease not yet run out) holds the source."""
    last = next(iter(store.runs.recent(source_id, 1)), None)
    return last is not None and last.outcome == "running" and last.lease_until > now


class RunNow:
    """Starts runs on demand, at most one per source from this process at a time (the
    store's lease keeps other processes out)."""

    def __init__(self, store: Store, command: Sequence[str], args: Sequence[str] = ()) -> None:
        self.store, self.command, self.args = store, list(command), list(args)
        self.starting: set[str] = set()  # launched, until their process has finished
        self._lock = threading.Lock()

    def busy(self, source_id: str, now: datetime) -> bool:
        with self._lock:
            if source_id in self.starting:
                return True
        return in_progress(self.store, source_id, now)

    def start(self, source_id: str, now: datetime) -> bool:
        """Launch a run of ``source_id``; False if one is already in progress."""
        with self._lock:
            if source_id in self.starting or in_progress(self.store, source_id, now):
                return False
            self.starting.add(source_id)
        thread = threading.Thread(
            target=self._run, args=(source_id,), name=f"run-now:{source_id}", daemon=True
        )
        thread.start()
        return True

    def _run(self, source_id: str) -> None:
        try:
            summary = launch(self.command, source_id, self.args, store_env(self.store))
            log.info("run now %s: %s", source_id, summary.get("outcome"))
        except Exception:  # logged; the run's record in the store says the rest
            log.exception("run now of %s failed", source_id)
        finally:
            with self._lock:
                self.starting.discard(source_id)

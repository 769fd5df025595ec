"""The matcher for the library's current version, swapped when a new one is saved.

A new version is compiled off to the side (in the polling thread) and replaces
the old matcher with one reference assignment, so every item is matched against
exactly one complete library — the old or the new — and none waits or is skipped.
"""

from __future__ import annotations

import logging
import threading

from keywords.model import Library
from monitor.matcher import Matcher
from store import Item, Store

log = logging.getLogger(__name__)


class LiveMatcher:
    """Follows ``store``'s keyword library; ``poll_seconds`` is how often it looks."""

    def __init__(self, store: Store, poll_seconds: float = 5.0) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self._matcher = Matcher(Library(), 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    @property
    def matcher(self) -> Matcher:
        """The matcher to use now (read once per item: it may be replaced any time)."""
        return self._matcher

    def refresh(self) -> bool:
        """Compile the newest version if it is not the one in use; True if swapped."""
        head = self.store.library.head()
        if head is None or head.version == self._matcher.version:
            return False
        # Saved versions were validated on save; a version that still fails to compile
        # (e.g. written by a newer yuqing) keeps the current matcher running.
        try:
            matcher = Matcher(Library.model_validate(head.data), head.version)
        except ValueError:
            log.exception(
                "library version %s cannot be compiled; keeping %s",
                head.version,
                self._matcher.version,
            )
            return False
        self._matcher = matcher
        log.info("keyword library version %s in use (%s rules)", head.version, len(matcher.rules))
        return True

    def start(self) -> None:
        """Poll for new versions in a background thread until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._poll, name="library-poll", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:
                log.exception("checking the keyword library failed; will retry")

    def match_item(self, item: Item) -> Item:
        """Fill ``item.rules`` and ``item.hits`` from the current library."""
        result = self._matcher.match(item.title, item.body)
        item.rules = result.rules
        item.hits = result.hits
        return item

"""The matcher for the library's current version, swapped when a new one is saved.

Compiled matchers are kept by library version: :meth:`LiveMatcher.refresh` (one read of
the library's head) compiles only when a new version was saved. A crawl refreshes when it
starts, so a keyword change is live from the next crawl on without a restart; the API's
live test refreshes per request. The new matcher is compiled off to the side and replaces
the old one with one reference assignment, so every item is matched against exactly one
complete library — the old or the new — and none waits or is skipped.
"""

from __future__ import annotations

import logging

from analysis.item import Analyzer, item_facts, with_places
from keywords.matcher import Matcher
from keywords.model import Library
from keywords.places import divisions, names
from store import Item, Store

log = logging.getLogger(__name__)


class LiveMatcher:
    """Follows ``store``'s keyword library (its newest version when made, then at each
    :meth:`refresh`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._matcher = Matcher(Library(), 0)
        self._analyzer: Analyzer | None = None  # made when first needed: ~1 s
        self._places: tuple[object, ...] = ()
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
        places = (*matcher.library.places, *matcher.library.divisions)
        if places != self._places:  # operators' places changed: recognise them from now on
            self._places, self._analyzer = places, None
        log.info("keyword library version %s in use (%s rules)", head.version, len(matcher.rules))
        return True

    def __deepcopy__(self, memo: dict[int, object]) -> LiveMatcher:
        # Shared, never copied: Scrapy deep-copies its settings, which hold it.
        return self

    @property
    def analyzer(self) -> Analyzer:
        analyzer = self._analyzer
        if analyzer is None:
            library = self._matcher.library
            analyzer = self._analyzer = with_places(divisions(library), names(library))
        return analyzer

    def match_item(self, item: Item, home: str = "") -> Item:
        """Analyse ``item`` (places, sentiment; ``home`` is its source's home region) and
        fill ``item.rules`` and ``item.hits`` from the current library. ``home`` is a code
        or a place name (a source's region as operators typed it)."""
        analyzer = self.analyzer
        analyzer.analyze(item, analyzer.home(home) if home else "")
        result = self._matcher.match(item.title, item.body, facts=item_facts(item))
        item.rules = result.rules
        item.hits = result.hits
        return item

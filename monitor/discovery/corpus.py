"""Which items discovery reads: those first seen in a span from the watched regions (items
whose text names a word of a region group of the library) or from chosen sources."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import ahocorasick_rs

from keywords.model import Library
from rules.tokens import index_text
from store import Store
from store.frequencies import document_text
from store.model import ItemText


def normal_word(text: str) -> str:
    """A library word in the form stored texts hold it."""
    return index_text(text).strip()


@dataclass
class Watch:
    """The scope: items naming any of ``regions`` (normalised region words; none means
    every region) and, if ``sources`` is not empty, only from those sources."""

    regions: list[str] = field(default_factory=list)
    sources: frozenset[str] = frozenset()
    groups: list[str] = field(default_factory=list)  # the region groups, for display

    @classmethod
    def of_library(cls, library: Library, sources: frozenset[str] = frozenset()) -> Watch:
        groups = [g for g in library.groups if g.category == "region" and g.enabled]
        words = sorted({normal_word(t) for g in groups for t in g.texts()} - {""})
        return cls(words, sources, [g.name for g in groups])

    def __post_init__(self) -> None:
        self._regions = ahocorasick_rs.AhoCorasick(self.regions) if self.regions else None

    def covers(self, item: ItemText, text: str) -> bool:
        if self.sources and item.source_id not in self.sources:
            return False
        return self._regions is None or bool(self._regions.find_matches_as_indexes(text))


def documents(
    store: Store, watch: Watch, since: datetime, until: datetime
) -> Iterator[tuple[ItemText, str]]:
    """The watched items first seen in ``[since, until)`` with the text discovery reads."""
    for item in store.items.scan(since, until):
        text = document_text(item)
        if watch.covers(item, text):
            yield item, text

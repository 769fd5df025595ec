"""Document frequencies of phrases over stored items in a span: what discovery's baseline
needs (how many items held each candidate term, per day) without a caller reading every
item itself where the backend can count (Elasticsearch aggregations).

The text of an item is its normalised title and the first ``lead`` characters of its
normalised body (:func:`document_text`); an item is counted only if that text names one
of the ``scope`` words (when any are given) and it comes from one of ``sources`` (when
any are given).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ahocorasick_rs
import numpy as np
import numpy.typing as npt

from store.model import ItemText

# Bodies are read up to here: news puts the who/where/what first, and the tail of a page
# is where boilerplate (copyright, related links) lives.
LEAD = 600


def document_text(item: ItemText, lead: int = LEAD) -> str:
    return f"{item.norm_title}\n{item.norm_body[:lead]}"


@dataclass
class Frequencies:
    docs: int  # items in scope
    df: dict[str, int]  # phrase -> items holding it (phrases held by none left out)
    daily: dict[str, dict[str, int]]  # phrase -> "YYYY-MM-DD" (store's zone) -> items
    events: dict[str, int] = field(default_factory=dict)  # asked-for event id -> items


class Counting:
    """Counts phrases over items given one at a time (oldest first, so a day's items come
    together): the embedded backend's way, and the reference the others must agree with."""

    FLUSH = 1 << 21  # phrase indexes buffered before numpy counts them

    def __init__(
        self,
        phrases: Sequence[str],
        *,
        scope: Sequence[str] = (),
        sources: Iterable[str] = (),
        events: Iterable[str] = (),
        lead: int = LEAD,
        all_events: bool = False,
    ) -> None:
        self.phrases = list(phrases)
        self.automaton = ahocorasick_rs.AhoCorasick(self.phrases) if self.phrases else None
        self.scope = ahocorasick_rs.AhoCorasick(list(scope)) if scope else None
        self.sources = frozenset(sources)
        self.wanted = frozenset(events)
        self.all_events = all_events  # count every event, not only the ``events`` asked
        self.lead = lead
        # Each item's distinct phrase indexes go to a flat int32 buffer counted per day by
        # numpy: a Python step per match would cost most of a run at 100k items.
        self._buffer = array("i")
        self._day = ""
        self._daily: dict[str, npt.NDArray[np.int64]] = {}
        self.events: Counter[str] = Counter()
        self.docs = 0

    def add(self, item: ItemText) -> str | None:
        """Count ``item`` if in scope; its text, or None when out of scope."""
        if self.sources and item.source_id not in self.sources:
            return None
        text = document_text(item, self.lead)
        if self.scope is not None and not self.scope.find_matches_as_indexes(text):
            return None
        self.docs += 1
        if item.event_id and (self.all_events or item.event_id in self.wanted):
            self.events[item.event_id] += 1
        if self.automaton is None:
            return text
        day = item.first_seen.date().isoformat()
        if day != self._day:
            self._flush()
            self._day = day
        found = self.automaton.find_matches_as_indexes(text, overlapping=True)
        self._buffer.extend({m[0] for m in found})
        if len(self._buffer) >= self.FLUSH:
            self._flush()
        return text

    def _flush(self) -> None:
        if not self._buffer:
            return
        counts = np.bincount(
            np.frombuffer(self._buffer, dtype=np.int32), minlength=len(self.phrases)
        ).astype(np.int64)
        if self._day in self._daily:
            self._daily[self._day] += counts
        else:
            self._daily[self._day] = counts
        self._buffer = array("i")

    def result(self) -> Frequencies:
        self._flush()
        df: dict[str, int] = {}
        daily: dict[str, dict[str, int]] = {}
        for day, counts in sorted(self._daily.items()):
            for index in np.flatnonzero(counts):
                phrase, n = self.phrases[index], int(counts[index])
                df[phrase] = df.get(phrase, 0) + n
                daily.setdefault(phrase, {})[day] = n
        return Frequencies(self.docs, df, daily, dict(self.events))

"""Clustering reposts of one story into an event.

A body's near-duplicate fingerprint is a MinHash of its character shingles cut into LSH
bands: two bodies sharing half their shingles share a band key with probability ~0.64,
at 70% ~0.99, at 30% ~0.12. Stored as ``Item.fingerprint``, the keys find candidates
(``store.items.find_similar``), which are then confirmed on the texts themselves:

* most shingles of the shorter body occur in the longer one (:data:`THRESHOLD`), and
* aligned, the two differ only by additions and removals, never by a substitution inside
  the shared text. A repost adds a lead, a tail or a paragraph and may drop a word;
  template-made notices (任免通知, 公交线路, 活动通知) differ by swapped names, places, numbers
  and topics. On the demo site every repost pair passes and every one of the 155 unrelated
  pairs above the threshold has at least one substitution.

``Item.event_id`` is the id of the event's first item (its own id for a first report).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import sys
import zlib
from collections import OrderedDict
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scrapy.crawler import Crawler
from twisted.internet import task
from twisted.internet.base import DelayedCall
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.records import Crawled
from crawler.storage import store_of
from store import ConflictError, Item

SHINGLE = 4  # characters; Chinese words are 1-4 characters, so 4-grams span word pairs
NUM_PERM, BANDS = 64, 16
ROWS = NUM_PERM // BANDS
# Bodies with fewer shingles (about characters) are too short to tell a repost from a
# template; a two-sentence incident report has about 80.
MIN_SHINGLES = 40
# Overlap coefficient (shared shingles / shingles of the shorter body) from which two bodies
# may be one story. Demo reposts score 0.84-1.0; 0.6 leaves room for a longer added passage.
THRESHOLD = 0.6
# Of two bodies, the shorter must hold at least this share of the longer one's shingles,
# so a one-paragraph summary does not join the long report that quotes it.
MIN_LENGTH_RATIO = 0.3
RECENT = 2000  # items of this run kept in memory (not yet searchable in the store)
# Items extracted in one turn of the reactor ask the store for their candidates in one
# round trip, at most this many at a time.
ASK_AT_ONCE = 100

_SPACE = re.compile(r"\s+")
_WORDY = re.compile(r"\w")
# Universal hashing (a*x + b) mod p, one (a, b) per permutation; fixed so that every
# process computes the same keys.
_PRIME = np.uint64((1 << 61) - 1)
_A, _B = np.random.default_rng(20210205).integers(1, 1 << 31, size=(2, NUM_PERM), dtype=np.uint64)


def shingles(text: str) -> set[str]:
    """Character shingles of ``text`` with white space removed."""
    compact = _SPACE.sub("", text)
    return {compact[i : i + SHINGLE] for i in range(len(compact) - SHINGLE + 1)}


def _mod_prime(v: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """``v % _PRIME`` for values below 2**64, in place (``v`` is overwritten and returned)
    and without a division: 2**61 is 1 modulo the Mersenne prime 2**61 - 1, so the high
    bits fold onto the low ones, leaving at most _PRIME + 7. In place, a body's matrix of
    shingles x permutations is not copied at every step (half the time of a fingerprint's
    arithmetic)."""
    high = v >> np.uint64(61)
    v &= _PRIME
    v += high
    np.subtract(v, _PRIME, out=v, where=v >= _PRIME)
    return v


def fingerprint(text: str) -> list[str]:
    """LSH band keys of the normalised body ``text``; empty for bodies too short to judge."""
    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return []
    # crc32 < 2**32 and a, b < 2**31 keep a*x + b below 2**64: no overflow in uint64.
    hashed = np.fromiter(map(zlib.crc32, map(str.encode, grams)), np.uint64, len(grams))
    products = hashed[:, None] * _A
    products += _B
    values = _mod_prime(products).min(axis=0)
    return [
        f"m{band:02d}"
        + hashlib.blake2b(
            values[band * ROWS : (band + 1) * ROWS].tobytes(), digest_size=8
        ).hexdigest()
        for band in range(BANDS)
    ]


def overlap(a: set[str], b: set[str]) -> float:
    """Shared shingles over the shingles of the smaller set, 0 when the sizes are too far
    apart for one to be an edit of the other."""
    if not a or not b:
        return 0.0
    small, large = sorted((len(a), len(b)))
    if small < MIN_LENGTH_RATIO * large:
        return 0.0
    return len(a & b) / small


def substitutions(a: str, b: str) -> list[tuple[str, str]]:
    """Text replaced inside the span the two bodies share (edits at either end and
    punctuation-only swaps do not count)."""
    x, y = sorted((_SPACE.sub("", a), _SPACE.sub("", b)), key=len)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, x, y, autojunk=False).get_opcodes():
        if op == "replace" and i1 > 0 and i2 < len(x):
            old, new = x[i1:i2], y[j1:j2]
            if _WORDY.search(old) or _WORDY.search(new):
                out.append((old, new))
    return out


def best_match(body: str, candidates: list[Item]) -> tuple[Item | None, float]:
    """The candidate telling the same story as ``body`` with the highest overlap (or None),
    and that overlap."""
    grams = shingles(body)
    scored = sorted(
        ((overlap(grams, shingles(c.norm_body)), c) for c in candidates),
        key=lambda pair: pair[0],
        reverse=True,
    )
    for score, candidate in scored:
        if score < THRESHOLD:
            break
        if not substitutions(body, candidate.norm_body):
            return candidate, score
    return None, 0.0


def same_story(a: str, b: str) -> bool:
    """Whether two normalised bodies tell one story (see the module docstring)."""
    return overlap(shingles(a), shingles(b)) >= THRESHOLD and not substitutions(a, b)


class EventPipeline:
    """Sets ``fingerprint`` and ``event_id`` of each item. Items of the current run are
    matched from memory too: the store may not show them to searches yet.

    Two processes crawling two sites can each store a copy of one story before either copy
    is searchable. So when the run ends (after the store step's last write, and after
    ``YUQING_EVENT_SETTLE_SECONDS`` for Elasticsearch to refresh), each item that started an
    event looks again, and events found to be one are merged into the earliest-seen one.
    Whichever process looks last sees the other's copy, so the merge happens once.

    The store is asked for the candidates of all items that reach this step in one turn of
    the reactor at once (``find_similar_many``: one round trip on Elasticsearch, not one
    per item); they are then matched one after the other, as they came, so each sees the
    ones before it in memory. Nothing waits for more items than are already there.
    """

    def __init__(self, crawler: Crawler, window: timedelta, settle: float) -> None:
        self.crawler = crawler
        self.window = window
        self.settle = settle
        self.recent: OrderedDict[str, Item] = OrderedDict()
        self.by_key: dict[str, set[str]] = {}  # band key -> ids in ``recent``
        # Items that started an event: what the end-of-run look needs, not the whole item.
        self.founders: list[tuple[str, list[str], datetime]] = []
        # Items waiting for their candidates from the store (see _ask).
        self.waiting: list[tuple[Crawled, Deferred[Crawled]]] = []
        self.asking: DelayedCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        return cls(
            crawler,
            timedelta(days=settings.getint("YUQING_EVENT_WINDOW_DAYS", 7)),
            settings.getfloat("YUQING_EVENT_SETTLE_SECONDS", 1.5),
        )

    def process_item(self, crawled: Crawled) -> Crawled | Deferred[Crawled]:
        item = crawled.item
        if item is None:
            return crawled
        item.fingerprint = fingerprint(item.norm_body)
        item.event_id = item.id
        if not item.fingerprint:
            return crawled
        done: Deferred[Crawled] = Deferred()
        self.waiting.append((crawled, done))
        if len(self.waiting) >= ASK_AT_ONCE:
            self._ask()
        elif self.asking is None:
            from twisted.internet import reactor

            clock: Any = reactor  # the installed reactor; its module-level type is an interface
            self.asking = clock.callLater(0, self._ask)
        return done

    def _ask(self) -> None:
        """Match the waiting items: their stored candidates in one request, then each in
        turn against those and the run's earlier items."""
        if self.asking is not None and self.asking.active():
            self.asking.cancel()
        self.asking = None
        batch, self.waiting = self.waiting, []
        if not batch:
            return
        queries = []
        for crawled, _ in batch:
            assert crawled.item is not None
            queries.append((crawled.item.fingerprint, crawled.item.first_seen - self.window))
        try:
            stored = store_of(self.crawler).items.find_similar_many(queries)
        except Exception:
            failure = Failure()  # each item fails as its own store call would have
            for _, done in batch:
                done.errback(failure)
            return
        for (crawled, _), found in zip(batch, stored, strict=True):
            assert crawled.item is not None
            self._match(crawled, [c for c in found if c.id != crawled.item.id])
        for crawled, done in batch:
            done.callback(crawled)

    def _match(self, crawled: Crawled, stored: list[Item]) -> None:
        item = crawled.item
        assert item is not None
        local_ids = set().union(*(self.by_key.get(k, ()) for k in item.fingerprint))
        local = [self.recent[i] for i in local_ids]
        match, score = best_match(item.norm_body, local + stored)
        crawled.extras["similarity"] = score
        if match is not None:
            item.event_id = match.event_id or match.id
        elif not crawled.page.known:
            self.founders.append((item.id, item.fingerprint, item.first_seen))
        self._remember(item)

    def _remember(self, item: Item) -> None:
        self.recent[item.id] = item
        for key in item.fingerprint:
            self.by_key.setdefault(key, set()).add(item.id)
        if len(self.recent) > RECENT:
            _, old = self.recent.popitem(last=False)
            for key in old.fingerprint:
                ids = self.by_key[key]
                ids.discard(old.id)
                if not ids:
                    del self.by_key[key]

    def _similar(self, item_id: str, keys: list[str], seen: datetime) -> list[Item]:
        found = store_of(self.crawler).items.find_similar(keys, since=seen - self.window)
        return [c for c in found if c.id != item_id]

    def close_spider(self) -> Deferred[None] | None:
        self._ask()  # nothing should wait by now; if it does, it is matched first
        if not self.founders:
            return None
        # Only a crawl on Elasticsearch imports its client (store.open_store): the
        # embedded store's crawls are spared the import.
        elastic = sys.modules.get("store.elastic")
        if elastic is not None and isinstance(store_of(self.crawler), elastic.ElasticStore):
            # A delay of the reactor, not a sleep: a worker's other crawls go on meanwhile.
            from twisted.internet import reactor

            return task.deferLater(reactor, self.settle, self._merge_founders)
        self._merge_founders()
        return None

    def _merge_founders(self) -> None:
        for item_id, keys, seen in self.founders:
            self._merge(item_id, keys, seen)

    def _merge(self, item_id: str, keys: list[str], seen: datetime) -> None:
        # Its own event is its id unless another process merged it meanwhile.
        candidates = [c for c in self._similar(item_id, keys, seen) if c.event_id != item_id]
        if not candidates:
            return
        item = store_of(self.crawler).items.get(item_id)
        if item is None:
            return
        candidates = [c for c in candidates if c.event_id != item.event_id]
        same = [c for c in candidates if same_story(item.norm_body, c.norm_body)]
        if not same:
            return
        earliest = min([item, *same], key=lambda i: (i.first_seen, i.id))
        target = earliest.event_id or earliest.id
        repo = store_of(self.crawler).items
        for other in [item, *same]:
            if other.event_id == target:
                continue
            current = repo.get(other.id)
            if current is not None and current.version is not None:
                # A conflict means the other process is merging it right now: its choice of
                # the earliest item is the same as ours.
                with suppress(ConflictError):
                    repo.update(other.id, {"event_id": target}, current.version)
            other.event_id = target

"""The records the store keeps and the queries it answers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

from w3lib.url import canonicalize_url

TimeField = Literal["publish_time", "first_seen"]
SortKey = Literal["relevance", "publish_time", "first_seen"]
MAX_WINDOW = 10_000  # deepest page reachable by offset, the same on both backends


def canonical_url(url: str) -> str:
    """The URL that identifies a page: sorted query, no fragment, normalised escapes."""
    return canonicalize_url(url, keep_fragments=False)


def item_id(url: str) -> str:
    """Stable id of the item at ``url``; re-crawling the page yields the same id."""
    return hashlib.sha1(canonical_url(url).encode("utf-8")).hexdigest()


@dataclass
class Item:
    """One collected page. ``first_seen`` is set once, when the page is first stored."""

    url: str
    title: str
    body: str
    first_seen: datetime
    source_id: str = ""
    publish_time: datetime | None = None
    author: str = ""
    site_source: str = ""
    tags: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    event_id: str | None = None
    # The monitor's normalised text (what rules are matched against), stored so the
    # same rule can run as a query over stored items (backtests).
    norm_title: str = ""
    norm_body: str = ""
    fingerprint: list[str] = field(default_factory=list)  # near-duplicate lookup keys
    version: str | None = None  # opaque token for optimistic concurrency, set by the store

    @cached_property
    def id(self) -> str:
        # Canonicalising a URL costs more than storing the row: compute it once.
        return item_id(self.url)


MUTABLE_FIELDS = frozenset({"tags", "rules", "hits", "event_id"})


@dataclass
class ItemQuery:
    """A search over items. ``q`` uses the expression language of :mod:`store.query`."""

    q: str = ""
    since: datetime | None = None
    until: datetime | None = None
    time_field: TimeField = "first_seen"
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    event_id: str | None = None
    sort: SortKey = "relevance"
    descending: bool = True
    page: int = 1
    size: int = 20
    highlight: bool = True
    # Match ``q`` against the normalised copies (norm_title/norm_body) instead of the
    # originals: how rules run over stored items. Words must be given normalised.
    normalized: bool = False


@dataclass
class Found:
    item: Item
    score: float | None
    highlights: dict[str, list[str]]  # field -> HTML-escaped fragments with <mark>...</mark>


@dataclass
class SearchResult:
    total: int
    hits: list[Found]


@dataclass
class Facets:
    per_day: dict[str, int]  # "YYYY-MM-DD" in the store's time zone -> count
    per_source: dict[str, int]


@dataclass
class LibraryVersion:
    """One saved state of the keyword library. Versions count up from 1; each names
    its parent, so two editors saving on top of the same version cannot both win."""

    version: int
    parent: int | None
    author: str
    created: datetime
    message: str
    data: dict[str, Any]  # the library in its export form
    summary: dict[str, Any] = field(default_factory=dict)  # what changed, for lists


@dataclass
class AuditEntry:
    """One append-only record of who changed what (before/after as data)."""

    actor: str
    action: str
    target: str
    time: datetime
    before: Any = None
    after: Any = None
    id: str = ""

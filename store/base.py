"""The storage interface: what the rest of yuqing may ask of a store.

Two backends implement it — SQLite (embedded default) and Elasticsearch — and
one contract test-suite runs against both. Keep it narrow and shaped by use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from store.errors import QueryError
from store.model import (
    MAX_WINDOW,
    AuditEntry,
    Facets,
    Item,
    ItemQuery,
    LibraryVersion,
    SearchResult,
)
from store.query import Node, ParseError, parse

MAX_PAGE_SIZE = 500


class ItemRepo(ABC):
    """Collected pages, addressed by the id derived from their canonical URL."""

    @abstractmethod
    def upsert_many(self, items: Iterable[Item]) -> int:
        """Insert or update items in bulk; keeps an existing ``first_seen``. Returns count."""

    @abstractmethod
    def get(self, item_id: str) -> Item | None:
        """The item with ``item_id`` (with its ``version``), or None."""

    @abstractmethod
    def update(self, item_id: str, changes: dict[str, Any], if_version: str) -> Item:
        """Change mutable fields if the item is still at ``if_version``.

        Raises :class:`~store.errors.ConflictError` if someone wrote first and
        :class:`~store.errors.NotFound` if there is no such item.
        """

    @abstractmethod
    def search(self, query: ItemQuery) -> SearchResult:
        """Items matching ``query``, one page, with highlights."""

    @abstractmethod
    def facets(self, query: ItemQuery) -> Facets:
        """Counts per day and per source over everything ``query`` matches."""

    @abstractmethod
    def count(self) -> int:
        """Number of stored items."""

    @abstractmethod
    def find_similar(self, keys: list[str], since: datetime, limit: int = 20) -> list[Item]:
        """Items first seen at or after ``since`` sharing any of the fingerprint
        ``keys``, those sharing the most first (candidates for one event)."""


class LibraryRepo(ABC):
    """Saved versions of the keyword library; never changed once written."""

    @abstractmethod
    def head(self) -> LibraryVersion | None:
        """The newest version, or None before the first save."""

    @abstractmethod
    def get(self, version: int) -> LibraryVersion | None: ...

    @abstractmethod
    def history(self, limit: int = 50) -> list[LibraryVersion]:
        """Newest first, without ``data`` (it can be large)."""

    @abstractmethod
    def commit(self, version: LibraryVersion) -> LibraryVersion:
        """Store ``version``, which must be ``parent + 1`` of the current head.

        Raises :class:`~store.errors.ConflictError` if someone saved first.
        """


class AuditRepo(ABC):
    """The append-only audit log: there is no way to change or remove an entry."""

    @abstractmethod
    def append(self, entry: AuditEntry) -> AuditEntry:
        """Record ``entry``; returns it with its id."""

    @abstractmethod
    def list(
        self, *, target: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Newest first."""


class Store(ABC):
    """A backend: one object per process, safe to share between threads."""

    url: str
    items: ItemRepo
    library: LibraryRepo
    audit: AuditRepo

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """A small status report for ``yuqing status`` and the health endpoint."""


def check_query(query: ItemQuery) -> Node | None:
    """Validate a query before a backend runs it; returns the parsed expression."""
    if query.page < 1:
        raise QueryError("page must be 1 or more", "page")
    if not 1 <= query.size <= MAX_PAGE_SIZE:
        raise QueryError(f"size must be between 1 and {MAX_PAGE_SIZE}", "size")
    if query.page * query.size > MAX_WINDOW:
        raise QueryError(
            f"page x size may not exceed {MAX_WINDOW}: narrow the search instead", "page"
        )
    for name in ("since", "until"):
        value = getattr(query, name)
        if value is not None and value.tzinfo is None:
            raise QueryError(f"{name} needs a time zone", name)
    if query.since and query.until and query.since >= query.until:
        raise QueryError("since must be earlier than until", "since")
    if not query.q.strip():
        if query.sort == "relevance":
            query.sort = "first_seen"
        return None
    try:
        return parse(query.q)
    except ParseError as e:
        raise QueryError(e.message, "q", e.position) from e


def check_successor(version: LibraryVersion) -> None:
    """A new version must follow its parent directly."""
    expected = (version.parent or 0) + 1
    if version.version != expected:
        raise QueryError(
            f"version {version.version} cannot follow {version.parent}; expected {expected}",
            "version",
        )
    if version.created.tzinfo is None:
        raise QueryError("created needs a time zone", "created")

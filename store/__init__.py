"""Storage: one interface (:class:`Store`), two backends, chosen by URL.

>>> store = open_store("sqlite:///var/yuqing.db")        # embedded default
>>> store = open_store("http://127.0.0.1:9200")           # one node or a cluster
"""

from __future__ import annotations

from typing import Any

from store.base import ItemRepo, Store
from store.errors import (
    ConflictError,
    Invalid,
    NotFound,
    QueryError,
    SchemaMismatch,
    StoreError,
    StoreUnavailable,
)
from store.model import Facets, Found, Item, ItemQuery, SearchResult, canonical_url, item_id

__all__ = [
    "ConflictError",
    "Facets",
    "Found",
    "Invalid",
    "Item",
    "ItemQuery",
    "ItemRepo",
    "NotFound",
    "QueryError",
    "SchemaMismatch",
    "SearchResult",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "canonical_url",
    "item_id",
    "open_store",
]


def open_store(url: str, **options: Any) -> Store:
    """Open the store at ``url``: ``sqlite:///path`` (or a bare path) for the
    embedded backend, ``http(s)://host:port`` (comma-separated for several nodes)
    for Elasticsearch. ``options`` go to the backend's constructor."""
    if url.startswith(("http://", "https://")):
        from store.elastic import ElasticStore

        return ElasticStore(url, **options)
    from store.sqlite import SQLiteStore

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    if "://" in path:
        raise StoreError(f"unknown store URL {url!r}: use sqlite:///path or http(s)://host:port")
    return SQLiteStore(path, **options)

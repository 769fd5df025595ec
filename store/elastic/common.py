"""Constants and helpers the Elasticsearch repositories share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from elasticsearch import BadRequestError

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

# Stored in each index's _meta; bump it with a migration note when a mapping changes.
SCHEMA_VERSION = 1


def ensure_index_racing(store: ElasticStore, name: str, mapping: dict[str, Any]) -> str:
    """:meth:`ElasticStore.ensure_index` for indices created on first use, where another
    process may be creating the same index at the same moment."""
    try:
        return store.ensure_index(name, mapping)
    except BadRequestError as e:
        if e.error != "resource_already_exists_exception":
            raise
        return store.ensure_index(name, mapping)

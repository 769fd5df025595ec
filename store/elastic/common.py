"""Constants and helpers the Elasticsearch repositories share."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from elasticsearch import BadRequestError

from store.model import AuditEntry, HealthEvent

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


E = TypeVar("E", AuditEntry, HealthEvent)


class AppendLog(ABC, Generic[E]):
    """An append-only index (``name``), created on first use: documents are only ever
    created, each with a ``seq`` that orders those written within the same millisecond;
    lists come newest first."""

    name: str
    mapping: dict[str, Any]
    refresh_each = False  # make each write searchable at once, whatever the store's setting

    def __init__(self, store: ElasticStore) -> None:
        self.store: ElasticStore = store
        self.es = store.es

    @cached_property
    def index(self) -> str:
        return ensure_index_racing(self.store, self.name, self.mapping)

    @abstractmethod
    def _document(self, record: E) -> dict[str, Any]:
        """``record`` as stored, without ``seq``."""

    @abstractmethod
    def _record(self, source: dict[str, Any], doc_id: str) -> E: ...

    def _append(self, record: E) -> E:
        result = self.es.index(
            index=self.index,
            op_type="create",
            document={"seq": time.time_ns(), **self._document(record)},
            refresh=True if self.refresh_each else self.store.refresh,
        )
        record.id = result["_id"]
        return record

    def _list(self, filters: list[dict[str, Any]], limit: int) -> list[E]:
        found = self.es.search(
            index=self.index,
            size=limit,
            sort=[{"seq": "desc"}],
            query={"bool": {"filter": filters}},
        )["hits"]["hits"]
        return [self._record(h["_source"], h["_id"]) for h in found]

    def _time(self, text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(self.store.tz)

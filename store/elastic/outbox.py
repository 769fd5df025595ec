"""The email outbox in Elasticsearch: the idempotency key's hash is the document id
(created with ``op_type=create``); claims and outcomes are conditional writes."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from elasticsearch import ConflictError as EsConflict
from elasticsearch import NotFoundError

from store.base import OutboxRepo
from store.codec import from_doc, to_doc
from store.elastic.alerts import guard, refresh, version_of
from store.elastic.common import SCHEMA_VERSION, ensure_index_racing
from store.errors import ConflictError
from store.model import OutboxMessage, OutboxStatus, message_id

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

OUTBOX_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "key": {"type": "keyword"},
        "recipient": {"type": "keyword"},
        "subject": {"type": "text"},
        "text": {"type": "text", "index": False},
        "html": {"type": "text", "index": False},
        "created": {"type": "date"},
        "due": {"type": "date"},
        "kind": {"type": "keyword"},
        "alert_id": {"type": "keyword"},
        "status": {"type": "keyword"},
        "attempts": {"type": "integer"},
        "sent": {"type": "date"},
        "error": {"type": "text"},
    },
}


class ElasticOutbox(OutboxRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es

    @cached_property
    def index(self) -> str:
        return ensure_index_racing(self.store, "outbox", OUTBOX_MAPPING)

    def add(self, message: OutboxMessage) -> bool:
        try:
            result = self.es.index(
                index=self.index,
                id=message.id,
                op_type="create",
                document=to_doc(message),
            )
        except EsConflict:
            return False
        message.version = version_of(result)
        return True

    def get(self, key: str) -> OutboxMessage | None:
        try:
            doc = self.es.get(index=self.index, id=message_id(key))
        except NotFoundError:
            return None
        return from_doc(OutboxMessage, doc["_source"], self.store.tz, version_of(doc))

    def update(self, message: OutboxMessage) -> OutboxMessage:
        try:
            result = self.es.index(
                index=self.index,
                id=message.id,
                document=to_doc(message),
                **guard(message.version),
            )
        except (EsConflict, NotFoundError) as e:
            raise ConflictError(
                f"outbox message {message.key} changed since {message.version}"
            ) from e
        message.version = version_of(result)
        return message

    def _search(
        self, query: dict[str, Any], sort: list[dict[str, str]], limit: int
    ) -> list[OutboxMessage]:
        refresh(self.es, self.index)
        found = self.es.search(
            index=self.index, size=limit, sort=sort, seq_no_primary_term=True, query=query
        )["hits"]["hits"]
        return [from_doc(OutboxMessage, h["_source"], self.store.tz, version_of(h)) for h in found]

    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        return self._search(
            {
                "bool": {
                    "filter": [
                        {"terms": {"status": ["pending", "sending"]}},
                        {"range": {"due": {"lte": now.isoformat()}}},
                    ]
                }
            },
            [{"due": "asc"}],
            limit,
        )

    def list(self, *, status: OutboxStatus | None = None, limit: int = 100) -> list[OutboxMessage]:
        query = {"term": {"status": status}} if status else {"match_all": {}}
        return self._search(query, [{"created": "desc"}], limit)

    def counts(self) -> dict[str, int]:
        refresh(self.es, self.index)
        result = self.es.search(
            index=self.index, size=0, aggs={"s": {"terms": {"field": "status", "size": 10}}}
        )
        return {b["key"]: b["doc_count"] for b in result["aggregations"]["s"]["buckets"]}

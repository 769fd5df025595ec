"""The outbox in Elasticsearch: the idempotency key's hash is the document id (created
with ``op_type=create``); claims and outcomes are conditional writes. Fields added with
channels (``channel``, ``notice``, ...) are added to an older index's mapping on start."""

from __future__ import annotations

from datetime import datetime, tzinfo
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
        "channel": {"type": "keyword"},
        "notice": {"type": "object", "enabled": False},
        "link": {"type": "keyword"},
        "ack_token": {"type": "keyword", "index": False},
        "merged_into": {"type": "keyword"},
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
        return self.find(message_id(key))

    def find(self, message_id: str) -> OutboxMessage | None:
        try:
            doc = self.es.get(index=self.index, id=message_id)
        except NotFoundError:
            return None
        return _message(doc["_source"], self.store.tz, version_of(doc))

    def by_link(self, code: str) -> OutboxMessage | None:
        if not code:
            return None
        found = self._search({"term": {"link": code}}, [{"created": "desc"}], 1)
        return found[0] if found else None

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
        return [_message(h["_source"], self.store.tz, version_of(h)) for h in found]

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

    def list(
        self,
        *,
        status: OutboxStatus | None = None,
        alert_id: str | None = None,
        channel: str | None = None,
        limit: int = 100,
    ) -> list[OutboxMessage]:
        given = {"status": status, "alert_id": alert_id, "channel": channel}
        filters: list[dict[str, Any]] = []
        for name, value in given.items():
            if value is None:
                continue
            if name == "channel" and value == "email":
                # Emails queued before channels have no channel field.
                filters.append(
                    {
                        "bool": {
                            "should": [
                                {"term": {"channel": value}},
                                {"bool": {"must_not": {"exists": {"field": "channel"}}}},
                            ]
                        }
                    }
                )
            else:
                filters.append({"term": {name: value}})
        return self._search({"bool": {"filter": filters}}, [{"created": "desc"}], limit)

    def counts(self) -> dict[str, int]:
        refresh(self.es, self.index)
        result = self.es.search(
            index=self.index, size=0, aggs={"s": {"terms": {"field": "status", "size": 10}}}
        )
        return {b["key"]: b["doc_count"] for b in result["aggregations"]["s"]["buckets"]}


def _message(doc: dict[str, Any], tz: tzinfo, version: str) -> OutboxMessage:
    return from_doc(OutboxMessage, doc, tz, version)

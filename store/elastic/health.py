"""Source health events in Elasticsearch (documents are only ever created)."""

from __future__ import annotations

import time
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from store.base import HealthRepo
from store.elastic.common import SCHEMA_VERSION, ensure_index_racing
from store.model import HealthEvent

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

HEALTH_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "seq": {"type": "long"},
        "time": {"type": "date"},
        "source_id": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "message": {"type": "text"},
        "details": {"type": "object", "enabled": False},
    },
}


class ElasticHealth(HealthRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es

    @cached_property
    def index(self) -> str:
        # Created on first use: only crawler processes and the API ever touch it.
        return ensure_index_racing(self.store, "health", HEALTH_MAPPING)

    def append(self, event: HealthEvent) -> HealthEvent:
        result = self.es.index(
            index=self.index,
            op_type="create",
            document={
                # ``seq`` orders events written within the same millisecond.
                "seq": time.time_ns(),
                "time": event.time.isoformat(),
                "source_id": event.source_id,
                "kind": event.kind,
                "message": event.message,
                "details": event.details,
            },
            # Rare writes that operators and the alerting job look for right away.
            refresh=True,
        )
        event.id = result["_id"]
        return event

    def list(
        self, *, source_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[HealthEvent]:
        filters: list[dict[str, Any]] = []
        if source_id is not None:
            filters.append({"term": {"source_id": source_id}})
        if since is not None:
            filters.append({"range": {"time": {"gte": since.isoformat()}}})
        found = self.es.search(
            index=self.index,
            size=limit,
            sort=[{"seq": "desc"}],
            query={"bool": {"filter": filters}},
        )["hits"]["hits"]
        return [
            HealthEvent(
                source_id=h["_source"]["source_id"],
                time=datetime.fromisoformat(h["_source"]["time"]).astimezone(self.store.tz),
                kind=h["_source"]["kind"],
                message=h["_source"]["message"],
                details=h["_source"]["details"],
                id=h["_id"],
            )
            for h in found
        ]

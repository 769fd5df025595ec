"""Source health events in Elasticsearch (documents are only ever created)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.base import HealthRepo
from store.elastic.common import SCHEMA_VERSION, AppendLog
from store.model import HealthEvent

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


class ElasticHealth(AppendLog[HealthEvent], HealthRepo):
    name = "health"
    mapping = HEALTH_MAPPING
    refresh_each = True  # operators and the alerting job look for these right away

    def append(self, event: HealthEvent) -> HealthEvent:
        return self._append(event)

    def list(
        self, *, source_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[HealthEvent]:
        filters: list[dict[str, Any]] = []
        if source_id is not None:
            filters.append({"term": {"source_id": source_id}})
        if since is not None:
            filters.append({"range": {"time": {"gte": since.isoformat()}}})
        return self._list(filters, limit)

    def _document(self, event: HealthEvent) -> dict[str, Any]:
        return {
            "time": event.time.isoformat(),
            "source_id": event.source_id,
            "kind": event.kind,
            "message": event.message,
            "details": event.details,
        }

    def _record(self, source: dict[str, Any], doc_id: str) -> HealthEvent:
        return HealthEvent(
            source_id=source["source_id"],
            time=self._time(source["time"]),
            kind=source["kind"],
            message=source["message"],
            details=source["details"],
            id=doc_id,
        )

"""The append-only audit log in Elasticsearch (documents are only ever created)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.base import AuditRepo
from store.elastic.common import SCHEMA_VERSION
from store.model import (
    AuditEntry,
)

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

AUDIT_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "seq": {"type": "long"},
        "time": {"type": "date"},
        "actor": {"type": "keyword"},
        "action": {"type": "keyword"},
        "target": {"type": "keyword"},
        "before": {"type": "object", "enabled": False},
        "after": {"type": "object", "enabled": False},
    },
}


class ElasticAudit(AuditRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es
        self.index = store.ensure_index("audit", AUDIT_MAPPING)

    def append(self, entry: AuditEntry) -> AuditEntry:
        # ``seq`` orders entries written within the same millisecond.
        seq = time.time_ns()
        result = self.es.index(
            index=self.index,
            op_type="create",
            document={
                "seq": seq,
                "time": entry.time.isoformat(),
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "before": _wrap(entry.before),
                "after": _wrap(entry.after),
            },
            refresh=self.store.refresh,
        )
        entry.id = result["_id"]
        return entry

    def list(
        self, *, target: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        filters = [{"term": {k: v}} for k, v in (("target", target), ("actor", actor)) if v]
        found = self.es.search(
            index=self.index,
            size=limit,
            sort=[{"seq": "desc"}],
            query={"bool": {"filter": filters}},
        )["hits"]["hits"]
        return [
            AuditEntry(
                actor=h["_source"]["actor"],
                action=h["_source"]["action"],
                target=h["_source"]["target"],
                time=datetime.fromisoformat(h["_source"]["time"]).astimezone(self.store.tz),
                before=h["_source"]["before"]["value"],
                after=h["_source"]["after"]["value"],
                id=h["_id"],
            )
            for h in found
        ]


def _wrap(value: Any) -> dict[str, Any]:
    # Object fields must hold objects; before/after may be any JSON value.
    return {"value": value}

"""The append-only audit log in Elasticsearch (documents are only ever created)."""

from __future__ import annotations

from typing import Any

from store.base import AuditRepo
from store.elastic.common import SCHEMA_VERSION, AppendLog
from store.model import AuditEntry

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


class ElasticAudit(AppendLog[AuditEntry], AuditRepo):
    name = "audit"
    mapping = AUDIT_MAPPING

    def append(self, entry: AuditEntry) -> AuditEntry:
        return self._append(entry)

    def list(
        self, *, target: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        filters = [{"term": {k: v}} for k, v in (("target", target), ("actor", actor)) if v]
        return self._list(filters, limit)

    def _document(self, entry: AuditEntry) -> dict[str, Any]:
        return {
            "time": entry.time.isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            # Object fields must hold objects; before/after may be any JSON value.
            "before": {"value": entry.before},
            "after": {"value": entry.after},
        }

    def _record(self, source: dict[str, Any], doc_id: str) -> AuditEntry:
        return AuditEntry(
            actor=source["actor"],
            action=source["action"],
            target=source["target"],
            time=self._time(source["time"]),
            before=source["before"]["value"],
            after=source["after"]["value"],
            id=doc_id,
        )

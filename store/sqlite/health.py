"""Source health events in SQLite (append-only, like the audit log)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from store.base import HealthRepo
from store.model import HealthEvent
from store.sqlite.common import AppendLog, ms

SCHEMA = """
CREATE TABLE IF NOT EXISTS health_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS health_events_source ON health_events(source_id, id);
"""


class SQLiteHealth(AppendLog[HealthEvent], HealthRepo):
    table = "health_events"
    columns = ("time", "source_id", "kind", "message", "details")

    def append(self, event: HealthEvent) -> HealthEvent:
        return self._append(event)

    def list(
        self, *, source_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[HealthEvent]:
        return self._list([("source_id = ?", source_id), ("time >= ?", ms(since))], limit)

    def _values(self, event: HealthEvent) -> tuple[Any, ...]:
        details = json.dumps(event.details, ensure_ascii=False)
        return (ms(event.time), event.source_id, event.kind, event.message, details)

    def _record(self, row: tuple[Any, ...]) -> HealthEvent:
        time = self._time(row[1])
        return HealthEvent(row[2], time, row[3], row[4], json.loads(row[5]), str(row[0]))

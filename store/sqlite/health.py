"""Source health events in SQLite (append-only, like the audit log)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.base import HealthRepo
from store.model import HealthEvent
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

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


class SQLiteHealth(HealthRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def append(self, event: HealthEvent) -> HealthEvent:
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO health_events (time, source_id, kind, message, details) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    ms(event.time),
                    event.source_id,
                    event.kind,
                    event.message,
                    json.dumps(event.details, ensure_ascii=False),
                ),
            )
        event.id = str(cur.lastrowid)
        return event

    def list(
        self, *, source_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[HealthEvent]:
        clauses, params = ["1"], list[Any]()
        if source_id is not None:
            clauses.append("source_id = ?")
            params.append(source_id)
        if since is not None:
            clauses.append("time >= ?")
            params.append(ms(since))
        rows = self.store.connection().execute(
            "SELECT id, time, source_id, kind, message, details FROM health_events "
            f"WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
        out = []
        for row in rows:
            time = self.store.to_local(row[1])
            assert time is not None
            out.append(HealthEvent(row[2], time, row[3], row[4], json.loads(row[5]), str(row[0])))
        return out

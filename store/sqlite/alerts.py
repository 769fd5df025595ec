"""Alerts and their timelines in SQLite: one JSON document per alert beside the
columns it is filtered by, and an integer version checked on every write."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.base import AlertRepo, TimelineRepo
from store.codec import from_doc, to_doc
from store.errors import ConflictError, NotFound
from store.model import Alert, TimelineEntry
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    status TEXT NOT NULL,
    created INTEGER NOT NULL,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_created ON alerts(created);
CREATE TABLE IF NOT EXISTS alert_timeline (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_timeline_alert ON alert_timeline(alert_id, id);
CREATE TRIGGER IF NOT EXISTS alert_timeline_no_update BEFORE UPDATE ON alert_timeline
BEGIN SELECT RAISE(ABORT, 'the alert timeline is append-only'); END;
CREATE TRIGGER IF NOT EXISTS alert_timeline_no_delete BEFORE DELETE ON alert_timeline
BEGIN SELECT RAISE(ABORT, 'the alert timeline is append-only'); END;
"""


def _dumps(record: Any) -> str:
    return json.dumps(to_doc(record), ensure_ascii=False)


class SQLiteAlerts(AlertRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def create(self, alert: Alert) -> bool:
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?, ?, 1)",
                (alert.id, alert.rule, alert.status, ms(alert.created), _dumps(alert)),
            )
        if cur.rowcount == 0:
            return False
        alert.version = "1"
        return True

    def get(self, alert_id: str) -> Alert | None:
        row = (
            self.store.connection()
            .execute("SELECT doc, version FROM alerts WHERE id = ?", (alert_id,))
            .fetchone()
        )
        return None if row is None else self._alert(row)

    def update(self, alert: Alert) -> Alert:
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE alerts SET status = ?, doc = ?, version = version + 1 "
                "WHERE id = ? AND version = ?",
                (alert.status, _dumps(alert), alert.id, int(alert.version or 0)),
            )
            if cur.rowcount == 0:
                if db.execute("SELECT 1 FROM alerts WHERE id = ?", (alert.id,)).fetchone():
                    raise ConflictError(f"alert {alert.id} changed since version {alert.version}")
                raise NotFound(f"no alert {alert.id}")
        alert.version = str(int(alert.version or 0) + 1)
        return alert

    def list(
        self,
        *,
        status: Iterable[str] = (),
        rule: str | None = None,
        since: datetime | None = None,
        backfill: bool | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        clauses, params = ["1"], list[Any]()
        statuses = list(status)
        if statuses:
            clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
            params += statuses
        if rule is not None:
            clauses.append("rule = ?")
            params.append(rule)
        if since is not None:
            clauses.append("created >= ?")
            params.append(ms(since))
        if backfill is not None:
            # Alerts written before the field existed lack it: they were news.
            clauses.append("coalesce(json_extract(doc, '$.backfill'), 0) = ?")
            params.append(int(backfill))
        rows = self.store.connection().execute(
            f"SELECT doc, version FROM alerts WHERE {' AND '.join(clauses)} "
            "ORDER BY created DESC, id LIMIT ?",
            [*params, limit],
        )
        return [self._alert(row) for row in rows]

    def _alert(self, row: tuple[str, int]) -> Alert:
        return from_doc(Alert, json.loads(row[0]), self.store.tz, str(row[1]))


class SQLiteTimeline(TimelineRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def append(self, entry: TimelineEntry) -> TimelineEntry:
        doc = to_doc(entry)
        del doc["id"]
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO alert_timeline (alert_id, doc) VALUES (?, ?)",
                (entry.alert_id, json.dumps(doc, ensure_ascii=False)),
            )
        entry.id = str(cur.lastrowid)
        return entry

    def list(self, alert_id: str) -> list[TimelineEntry]:
        rows = self.store.connection().execute(
            "SELECT id, doc FROM alert_timeline WHERE alert_id = ? ORDER BY id", (alert_id,)
        )
        out = []
        for row in rows:
            entry = from_doc(TimelineEntry, json.loads(row[1]), self.store.tz, None)
            entry.id = str(row[0])
            out.append(entry)
        return out

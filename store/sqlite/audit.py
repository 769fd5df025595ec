"""The append-only audit log in SQLite (triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

import json
from typing import Any

from store.base import AuditRepo
from store.model import AuditEntry
from store.sqlite.common import AppendLog, ms

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS audit_target ON audit(target, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class SQLiteAudit(AppendLog[AuditEntry], AuditRepo):
    table = "audit"
    columns = ("time", "actor", "action", "target", "before", "after")

    def append(self, entry: AuditEntry) -> AuditEntry:
        return self._append(entry)

    def list(
        self, *, target: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        return self._list([("target = ?", target), ("actor = ?", actor)], limit)

    def _values(self, entry: AuditEntry) -> tuple[Any, ...]:
        return (
            ms(entry.time),
            entry.actor,
            entry.action,
            entry.target,
            json.dumps(entry.before, ensure_ascii=False),
            json.dumps(entry.after, ensure_ascii=False),
        )

    def _record(self, row: tuple[Any, ...]) -> AuditEntry:
        before, after = json.loads(row[5]), json.loads(row[6])
        return AuditEntry(row[2], row[3], row[4], self._time(row[1]), before, after, str(row[0]))

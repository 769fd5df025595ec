"""The append-only audit log in SQLite (triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from store.base import AuditRepo
from store.model import AuditEntry
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

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


class SQLiteAudit(AuditRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def append(self, entry: AuditEntry) -> AuditEntry:
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO audit (time, actor, action, target, before, after) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    ms(entry.time),
                    entry.actor,
                    entry.action,
                    entry.target,
                    json.dumps(entry.before, ensure_ascii=False),
                    json.dumps(entry.after, ensure_ascii=False),
                ),
            )
        entry.id = str(cur.lastrowid)
        return entry

    def list(
        self, *, target: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        clauses, params = ["1"], []
        if target is not None:
            clauses.append("target = ?")
            params.append(target)
        if actor is not None:
            clauses.append("actor = ?")
            params.append(actor)
        rows = self.store.connection().execute(
            "SELECT id, time, actor, action, target, before, after FROM audit "
            f"WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
        out = []
        for row in rows:
            time = self.store.to_local(row[1])
            assert time is not None
            out.append(
                AuditEntry(
                    row[2],
                    row[3],
                    row[4],
                    time,
                    json.loads(row[5]),
                    json.loads(row[6]),
                    str(row[0]),
                )
            )
        return out

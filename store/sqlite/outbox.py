"""The email outbox in SQLite; ``due`` and ``status`` are columns so senders find work
with an index, and every write is checked against the version it was read at."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from store.base import OutboxRepo
from store.codec import from_doc, to_doc
from store.errors import ConflictError
from store.model import OutboxMessage, OutboxStatus, message_id
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    due INTEGER NOT NULL,
    created INTEGER NOT NULL,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, due);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox(created);
"""


class SQLiteOutbox(OutboxRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def add(self, message: OutboxMessage) -> bool:
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, ?, 1)",
                (
                    message.id,
                    message.status,
                    ms(message.due),
                    ms(message.created),
                    json.dumps(to_doc(message), ensure_ascii=False),
                ),
            )
        if cur.rowcount == 0:
            return False
        message.version = "1"
        return True

    def get(self, key: str) -> OutboxMessage | None:
        row = (
            self.store.connection()
            .execute("SELECT doc, version FROM outbox WHERE id = ?", (message_id(key),))
            .fetchone()
        )
        return None if row is None else self._message(row)

    def update(self, message: OutboxMessage) -> OutboxMessage:
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE outbox SET status = ?, due = ?, doc = ?, version = version + 1 "
                "WHERE id = ? AND version = ?",
                (
                    message.status,
                    ms(message.due),
                    json.dumps(to_doc(message), ensure_ascii=False),
                    message.id,
                    int(message.version or 0),
                ),
            )
        if cur.rowcount == 0:
            raise ConflictError(f"outbox message {message.key} changed since {message.version}")
        message.version = str(int(message.version or 0) + 1)
        return message

    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        rows = self.store.connection().execute(
            "SELECT doc, version FROM outbox WHERE status IN ('pending', 'sending') AND due <= ? "
            "ORDER BY due LIMIT ?",
            (ms(now), limit),
        )
        return [self._message(row) for row in rows]

    def list(self, *, status: OutboxStatus | None = None, limit: int = 100) -> list[OutboxMessage]:
        where, params = ("status = ?", [status]) if status else ("1", [])
        rows = self.store.connection().execute(
            f"SELECT doc, version FROM outbox WHERE {where} ORDER BY created DESC LIMIT ?",
            [*params, limit],
        )
        return [self._message(row) for row in rows]

    def counts(self) -> dict[str, int]:
        rows = self.store.connection().execute("SELECT status, count(*) FROM outbox GROUP BY 1")
        return {status: n for status, n in rows}

    def _message(self, row: tuple[str, int]) -> OutboxMessage:
        return from_doc(OutboxMessage, json.loads(row[0]), self.store.tz, str(row[1]))

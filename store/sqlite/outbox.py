"""The outbox in SQLite; ``due`` and ``status`` are columns so senders find work with an
index, ``alert_id``, ``channel`` and ``link`` so an alert's deliveries and a short
acknowledge link are found without a scan; every write is checked against the version
it was read at."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
    version INTEGER NOT NULL,
    alert_id TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL DEFAULT 'email',
    link TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, due);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox(created);
"""
_COLUMNS = "id, status, due, created, doc, version, alert_id, channel, link"


def migrate(db: sqlite3.Connection) -> None:
    """Give an outbox written before channels its ``alert_id``, ``channel`` and ``link``
    columns (its rows are emails; their alert ids come from their documents)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
    if "alert_id" not in have:
        db.execute("ALTER TABLE outbox ADD COLUMN alert_id TEXT NOT NULL DEFAULT ''")
        db.execute("UPDATE outbox SET alert_id = coalesce(json_extract(doc, '$.alert_id'), '')")
    if "channel" not in have:
        db.execute("ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email'")
    if "link" not in have:
        db.execute("ALTER TABLE outbox ADD COLUMN link TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX IF NOT EXISTS outbox_alert ON outbox(alert_id)")
    db.execute("CREATE INDEX IF NOT EXISTS outbox_link ON outbox(link) WHERE link != ''")


class SQLiteOutbox(OutboxRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def add(self, message: OutboxMessage) -> bool:
        with self.store.transaction() as db:
            cur = db.execute(
                f"INSERT OR IGNORE INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (
                    message.id,
                    message.status,
                    ms(message.due),
                    ms(message.created),
                    json.dumps(to_doc(message), ensure_ascii=False),
                    message.alert_id,
                    message.channel,
                    message.link,
                ),
            )
        if cur.rowcount == 0:
            return False
        message.version = "1"
        return True

    def get(self, key: str) -> OutboxMessage | None:
        return self.find(message_id(key))

    def find(self, message_id: str) -> OutboxMessage | None:
        return self._one("id = ?", message_id)

    def by_link(self, code: str) -> OutboxMessage | None:
        return self._one("link = ? AND link != ''", code) if code else None

    def _one(self, where: str, value: str) -> OutboxMessage | None:
        row = (
            self.store.connection()
            .execute(f"SELECT doc, version FROM outbox WHERE {where}", (value,))
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

    def list(
        self,
        *,
        status: OutboxStatus | None = None,
        alert_id: str | None = None,
        channel: str | None = None,
        limit: int = 100,
    ) -> list[OutboxMessage]:
        given = [("status", status), ("alert_id", alert_id), ("channel", channel)]
        used = [(column, value) for column, value in given if value is not None]
        where = " AND ".join(f"{column} = ?" for column, _ in used) or "1"
        params: list[Any] = [value for _, value in used]
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

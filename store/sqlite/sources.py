"""The crawl source registry in SQLite, one JSON document per source."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from store.base import SourceRepo, audited_allow_private
from store.errors import ConflictError
from store.model import Source
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
"""


def migrate(db: sqlite3.Connection) -> None:
    """Give sources saved by an earlier yuqing their ``render`` (off) and ``allow_private``
    fields; ``allow_private`` is on where the source's audit says an admin allowed it
    (an earlier yuqing kept the permission there only). The version stays: the settings
    are the same."""
    rows = db.execute(
        "SELECT id, doc FROM sources WHERE json_extract(doc, '$.allow_private') IS NULL"
    ).fetchall()
    for source_id, text in rows:
        doc = json.loads(text)
        afters = [
            json.loads(after)
            for (after,) in db.execute(
                "SELECT after FROM audit WHERE target = ? AND after IS NOT NULL",
                (f"source:{source_id}",),
            )
        ]
        doc.setdefault("render", False)
        doc["allow_private"] = audited_allow_private(doc.get("start_urls") or [], afters)
        db.execute(
            "UPDATE sources SET doc = ? WHERE id = ?",
            (json.dumps(doc, ensure_ascii=False), source_id),
        )


class SQLiteSources(SourceRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def put(self, source: Source) -> Source:
        doc = json.dumps(_doc(source), ensure_ascii=False)
        with self.store.transaction() as db:
            row = db.execute("SELECT version FROM sources WHERE id = ?", (source.id,)).fetchone()
            current = None if row is None else str(row[0])
            if source.version is not None and source.version != current:
                raise ConflictError(f"source {source.id} changed since version {source.version}")
            version = 1 if row is None else row[0] + 1
            db.execute(
                "INSERT INTO sources VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, version = excluded.version",
                (source.id, doc, version),
            )
        source.version = str(version)
        return source

    def get(self, source_id: str) -> Source | None:
        row = (
            self.store.connection()
            .execute("SELECT doc, version FROM sources WHERE id = ?", (source_id,))
            .fetchone()
        )
        return None if row is None else self._source(row)

    def list(self) -> list[Source]:
        rows = self.store.connection().execute("SELECT doc, version FROM sources ORDER BY id")
        return [self._source(row) for row in rows]

    def delete(self, source_id: str) -> bool:
        with self.store.transaction() as db:
            return db.execute("DELETE FROM sources WHERE id = ?", (source_id,)).rowcount > 0

    def _source(self, row: tuple[str, int]) -> Source:
        data = json.loads(row[0])
        data["emergency_until"] = self.store.to_local(data["emergency_until"])
        return Source(**data, version=str(row[1]))


def _doc(source: Source) -> dict[str, Any]:
    data = asdict(source)
    del data["version"]
    data["emergency_until"] = ms(source.emergency_until)
    return data

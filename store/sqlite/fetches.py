"""Per-URL fetch records in SQLite, keyed like items by the canonical URL's hash."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from store.base import FetchRepo
from store.model import Fetch, item_id
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

BATCH = 500
SCHEMA = """
CREATE TABLE IF NOT EXISTS fetches (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    source_id TEXT NOT NULL,
    fetched INTEGER NOT NULL,
    status INTEGER NOT NULL,
    etag TEXT,
    last_modified TEXT,
    item_id TEXT,
    reason TEXT NOT NULL
);
"""


class SQLiteFetches(FetchRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def get_many(self, urls: Iterable[str]) -> dict[str, Fetch]:
        by_id = {item_id(url): url for url in urls}
        ids = list(by_id)
        found: dict[str, Fetch] = {}
        db = self.store.connection()
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            rows = db.execute(
                "SELECT id, url, source_id, fetched, status, etag, last_modified, item_id, reason "
                f"FROM fetches WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for row in rows:
                fetched = self.store.to_local(row[3])
                assert fetched is not None
                found[by_id[row[0]]] = Fetch(row[1], row[2], fetched, *row[4:])
        return found

    def put_many(self, fetches: Iterable[Fetch]) -> int:
        rows = [_row(f) for f in fetches]
        with self.store.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO fetches VALUES (?,?,?,?,?,?,?,?,?)", rows)
        return len(rows)


def _row(f: Fetch) -> tuple[object, ...]:
    return (
        f.id,
        f.url,
        f.source_id,
        ms(f.fetched),
        f.status,
        f.etag,
        f.last_modified,
        f.item_id,
        f.reason,
    )

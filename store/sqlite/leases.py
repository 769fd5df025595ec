"""Named leases in SQLite: ``BEGIN IMMEDIATE`` makes the read and the write one step for
every process sharing the file."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from store.base import LeaseRepo, check_lease
from store.model import Lease
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS service_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until INTEGER NOT NULL,
    acquired INTEGER NOT NULL
);
"""


class SQLiteLeases(LeaseRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def acquire(self, name: str, holder: str, until: datetime, now: datetime) -> Lease | None:
        check_lease(name, holder, until, now)
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT holder, until, acquired FROM service_leases WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and row[0] != holder and row[1] > ms(now):
                return None
            acquired = row[2] if row is not None and row[0] == holder else ms(now)
            db.execute(
                "INSERT OR REPLACE INTO service_leases VALUES (?, ?, ?, ?)",
                (name, holder, ms(until), acquired),
            )
        return self._lease(name, holder, ms(until), acquired)

    def release(self, name: str, holder: str) -> bool:
        with self.store.transaction() as db:
            cur = db.execute(
                "DELETE FROM service_leases WHERE name = ? AND holder = ?", (name, holder)
            )
        return cur.rowcount > 0

    def get(self, name: str) -> Lease | None:
        row = (
            self.store.connection()
            .execute("SELECT holder, until, acquired FROM service_leases WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else self._lease(name, *row)

    def _lease(self, name: str, holder: str, until: int | None, acquired: int | None) -> Lease:
        times = self.store.to_local(until), self.store.to_local(acquired)
        assert times[0] is not None and times[1] is not None
        return Lease(name, holder, times[0], times[1])

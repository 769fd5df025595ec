"""Discovery's memory in SQLite: dismissed suggestions, one row per term, and the latest
run's report in a one-row table."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from store.base import DiscoveryRepo, check_dismissal
from store.errors import QueryError
from store.model import DiscoveryReport, Dismissal
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS discovery_dismissals (
    term TEXT PRIMARY KEY,
    actor TEXT NOT NULL,
    time INTEGER NOT NULL,
    window_df INTEGER NOT NULL,
    score REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS discovery_reports (
    slot INTEGER PRIMARY KEY CHECK (slot = 1),
    time INTEGER NOT NULL,
    data TEXT NOT NULL
);
"""
_COLUMNS = "term, actor, time, window_df, score"


class SQLiteDiscovery(DiscoveryRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def dismiss(self, dismissal: Dismissal) -> Dismissal:
        check_dismissal(dismissal)
        with self.store.transaction() as db:
            db.execute(
                f"INSERT OR REPLACE INTO discovery_dismissals ({_COLUMNS}) VALUES (?,?,?,?,?)",
                (
                    dismissal.term,
                    dismissal.actor,
                    ms(dismissal.time),
                    dismissal.window_df,
                    dismissal.score,
                ),
            )
        got = self.dismissal(dismissal.term)
        assert got is not None
        return got

    def dismissal(self, term: str) -> Dismissal | None:
        row = (
            self.store.connection()
            .execute(f"SELECT {_COLUMNS} FROM discovery_dismissals WHERE term = ?", (term,))
            .fetchone()
        )
        return None if row is None else self._dismissal(row)

    def dismissals(self) -> list[Dismissal]:
        rows = (
            self.store.connection()
            .execute(f"SELECT {_COLUMNS} FROM discovery_dismissals ORDER BY time DESC, term")
            .fetchall()
        )
        return [self._dismissal(r) for r in rows]

    def undismiss(self, term: str) -> bool:
        with self.store.transaction() as db:
            cur = db.execute("DELETE FROM discovery_dismissals WHERE term = ?", (term,))
        return cur.rowcount > 0

    def save_report(self, report: DiscoveryReport) -> None:
        if report.time.tzinfo is None:
            raise QueryError("time needs a time zone", "time")
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO discovery_reports VALUES (1, ?, ?)",
                (ms(report.time), json.dumps(report.data, ensure_ascii=False)),
            )

    def latest_report(self) -> DiscoveryReport | None:
        row = (
            self.store.connection()
            .execute("SELECT time, data FROM discovery_reports WHERE slot = 1")
            .fetchone()
        )
        if row is None:
            return None
        time = self.store.to_local(row[0])
        assert time is not None
        return DiscoveryReport(time, json.loads(row[1]))

    def _dismissal(self, row: tuple[str, str, int, int, float]) -> Dismissal:
        time = self.store.to_local(row[2])
        assert time is not None
        return Dismissal(term=row[0], actor=row[1], time=time, window_df=row[3], score=row[4])

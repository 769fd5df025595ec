"""Crawl runs and per-source leases in SQLite; ``BEGIN IMMEDIATE`` makes taking a lease atomic
across processes sharing the file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.base import RunRepo
from store.errors import ConflictError
from store.model import CrawlRun
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    started INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_source ON runs(source_id, started);
CREATE TABLE IF NOT EXISTS leases (
    source_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    until INTEGER NOT NULL
);
"""
_TIMES = ("started", "lease_until", "finished")
_CHUNK = 500  # source ids per query of last_started and recent_many


class SQLiteRuns(RunRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def start(self, run: CrawlRun, *, not_since: datetime | None = None) -> CrawlRun | None:
        with self.store.transaction() as db:
            lease = db.execute(
                "SELECT run_id, until FROM leases WHERE source_id = ?", (run.source_id,)
            ).fetchone()
            if lease is not None and lease[1] > ms(run.started):
                return None
            if (
                not_since is not None
                and db.execute(
                    "SELECT 1 FROM runs WHERE source_id = ? AND started > ? LIMIT 1",
                    (run.source_id, ms(not_since)),
                ).fetchone()
            ):
                return None
            if lease is not None:
                row = db.execute("SELECT doc FROM runs WHERE id = ?", (lease[0],)).fetchone()
                if row is not None and json.loads(row[0])["outcome"] == "running":
                    db.execute(
                        "UPDATE runs SET doc = json_set(doc, '$.outcome', 'lost') WHERE id = ?",
                        (lease[0],),
                    )
            run.id = uuid.uuid4().hex
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?)",
                (run.id, run.source_id, ms(run.started), _doc(run)),
            )
            db.execute(
                "INSERT OR REPLACE INTO leases VALUES (?, ?, ?)",
                (run.source_id, run.id, ms(run.lease_until)),
            )
        return run

    def extend(self, run: CrawlRun, until: datetime) -> None:
        with self.store.transaction() as db:
            held = db.execute(
                "UPDATE leases SET until = ? WHERE source_id = ? AND run_id = ?",
                (ms(until), run.source_id, run.id),
            ).rowcount
            if not held:
                raise ConflictError(f"run {run.id} lost the lease on source {run.source_id}")
            run.lease_until = until
            db.execute("UPDATE runs SET doc = ? WHERE id = ?", (_doc(run), run.id))

    def finish(self, run: CrawlRun) -> CrawlRun:
        with self.store.transaction() as db:
            db.execute("UPDATE runs SET doc = ? WHERE id = ?", (_doc(run), run.id))
            db.execute(
                "DELETE FROM leases WHERE source_id = ? AND run_id = ?", (run.source_id, run.id)
            )
        return run

    def recent(self, source_id: str, limit: int = 20) -> list[CrawlRun]:
        rows = self.store.connection().execute(
            "SELECT doc FROM runs WHERE source_id = ? ORDER BY started DESC, rowid DESC LIMIT ?",
            (source_id, limit),
        )
        return [self._run(json.loads(row[0])) for row in rows]

    def between(
        self, source_id: str, since: datetime, until: datetime, limit: int = 10_000
    ) -> list[CrawlRun]:
        rows = self.store.connection().execute(
            "SELECT doc FROM runs WHERE source_id = ? AND started >= ? AND started < ? "
            "ORDER BY started DESC, rowid DESC LIMIT ?",
            (source_id, ms(since), ms(until), limit),
        )
        return [self._run(json.loads(row[0])) for row in rows]

    def last_started(self, source_ids: Iterable[str] | None = None) -> dict[str, datetime]:
        # One GROUP BY, answered from the (source_id, started) index; named sources go
        # in chunks that stay under SQLite's limit on bound parameters.
        db = self.store.connection()
        if source_ids is None:
            rows = list(db.execute("SELECT source_id, max(started) FROM runs GROUP BY source_id"))
        else:
            wanted, rows = sorted(set(source_ids)), []
            for at in range(0, len(wanted), _CHUNK):
                chunk = wanted[at : at + _CHUNK]
                rows += db.execute(
                    "SELECT source_id, max(started) FROM runs "
                    f"WHERE source_id IN ({','.join('?' * len(chunk))}) GROUP BY source_id",
                    chunk,
                )
        out: dict[str, datetime] = {}
        for source, started in rows:
            local = self.store.to_local(started)
            assert local is not None  # started is NOT NULL
            out[source] = local
        return out

    def recent_many(
        self, source_ids: Iterable[str] | None = None, limit: int = 20
    ) -> dict[str, list[CrawlRun]]:
        # Per source id, its newest ``limit`` rowids from the (source_id, started) index
        # (rowid breaks ties, as in recent()): a correlated LIMIT reads only those
        # index entries, however long a source's history; then just their documents.
        # Named sources go in chunks of _CHUNK ids (SQLite's bound-parameter limit).
        db = self.store.connection()
        query = (
            "WITH ids(id) AS ({ids}) SELECT r.source_id, r.doc FROM ids JOIN runs AS r "
            "ON r.rowid IN (SELECT rowid FROM runs WHERE source_id = ids.id "
            "ORDER BY started DESC, rowid DESC LIMIT ?) "
            "ORDER BY r.source_id, r.started DESC, r.rowid DESC"
        )
        out: dict[str, list[CrawlRun]] = {}
        if source_ids is None:
            every = "SELECT DISTINCT source_id FROM runs"
            rows = list(db.execute(query.format(ids=every), (limit,)))
        else:
            wanted, rows = sorted(set(source_ids)), []
            out = {source_id: [] for source_id in wanted}
            for at in range(0, len(wanted), _CHUNK):
                chunk = wanted[at : at + _CHUNK]
                values = f"VALUES {','.join(['(?)'] * len(chunk))}"
                rows += db.execute(query.format(ids=values), (*chunk, limit))
        for source, doc in rows:
            out.setdefault(source, []).append(self._run(json.loads(doc)))
        return out

    def started_per_source(self, since: datetime, until: datetime) -> dict[str, int]:
        rows = self.store.connection().execute(
            "SELECT source_id, count(*) FROM runs WHERE started >= ? AND started < ? "
            "GROUP BY source_id",
            (ms(since), ms(until)),
        )
        return {source: int(n) for source, n in rows}

    def _run(self, data: dict[str, Any]) -> CrawlRun:
        for name in _TIMES:
            data[name] = self.store.to_local(data[name])
        return CrawlRun(**data)


def _doc(run: CrawlRun) -> str:
    data = asdict(run)
    for name in _TIMES:
        data[name] = ms(data[name])
    return json.dumps(data, ensure_ascii=False)

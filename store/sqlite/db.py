"""The embedded backend: one SQLite file, FTS5 for Chinese full-text search.

Each Han character starts one token, the pair it makes with the next one (see
:func:`store.text.han_bigrams`), so a phrase query of characters is a substring search,
as on Elasticsearch, and a two-character word is a single token.
The full-text table is contentless: the originals live once, in ``items``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from store.base import Store
from store.errors import SchemaMismatch, StoreUnavailable
from store.sqlite import (
    alerts,
    audit,
    channels,
    daycounts,
    discovery,
    fetches,
    health,
    items,
    leases,
    library,
    outbox,
    policies,
    runs,
    sources,
    users,
)
from store.sqlite.common import statements

SCHEMA_VERSION = "1"
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class SQLiteStore(Store):
    """The embedded store at ``path`` (created with its folder if missing)."""

    def __init__(self, path: str | Path, *, tz: str = "Asia/Shanghai") -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.tz = ZoneInfo(tz)
        self._local = threading.local()
        self._owners: dict[sqlite3.Connection, threading.Thread] = {}  # open ones, by thread
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.transaction() as db:
                # executescript() would commit on its own; keep it all in one transaction.
                db.execute(_META)
                for module in (
                    items,
                    library,
                    audit,
                    sources,
                    runs,
                    fetches,
                    health,
                    alerts,
                    outbox,
                    policies,
                    users,
                    channels,
                    leases,
                    discovery,
                    daycounts,
                ):
                    for statement in statements(module.SCHEMA):
                        db.execute(statement)
                items.migrate(db)
                outbox.migrate(db)
                sources.migrate(db)
                row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if row is None:
                    db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                elif row[0] != SCHEMA_VERSION:
                    raise SchemaMismatch(
                        f"{self.path} holds schema version {row[0]}, this yuqing uses "
                        f"{SCHEMA_VERSION}; refusing to change it"
                    )
        except sqlite3.DatabaseError as e:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {e}") from e
        self.items = items.SQLiteItems(self)
        self.library = library.SQLiteLibrary(self)
        self.audit = audit.SQLiteAudit(self)
        self.sources = sources.SQLiteSources(self)
        self.runs = runs.SQLiteRuns(self)
        self.fetches = fetches.SQLiteFetches(self)
        self.health_events = health.SQLiteHealth(self)
        self.alerts = alerts.SQLiteAlerts(self)
        self.alert_timeline = alerts.SQLiteTimeline(self)
        self.outbox = outbox.SQLiteOutbox(self)
        self.alert_policies = policies.SQLitePolicies(self)
        self.emergencies = policies.SQLiteEmergencies(self)
        self.users = users.SQLiteUsers(self)
        self.tokens = users.SQLiteTokens(self)
        self.sessions = users.SQLiteSessions(self)
        self.channels = channels.SQLiteChannels(self)
        self.routing = channels.SQLiteRouting(self)
        self.leases = leases.SQLiteLeases(self)
        self.discovery = discovery.SQLiteDiscovery(self)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections must not cross threads)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # Each thread uses only its own connection; close() may run on another thread.
            db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.create_function("local_day", 1, self.local_day, deterministic=True)
            self._local.db = db
            with self._lock:
                # Threads come and go (the sender's pool for a burst, a console's "run now",
                # a pool's reader): a connection left open when its thread ended would keep
                # its file handle and page cache for the life of the process.
                for old, owner in list(self._owners.items()):
                    if not owner.is_alive():
                        old.close()
                        del self._owners[old]
                self._owners[db] = threading.current_thread()
        return db

    def local_day(self, ms: int | None) -> str | None:
        if ms is None:
            return None
        return datetime.fromtimestamp(ms / 1000, self.tz).strftime("%Y-%m-%d")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once, so concurrent writers queue, not deadlock."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for db in self._owners:
                db.close()
            self._owners.clear()
        self._local = threading.local()

    def health(self) -> dict[str, Any]:
        return {"backend": "sqlite", "url": self.display_url, "items": self.items.count()}

    def to_local(self, ms: int | None) -> datetime | None:
        return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).astimezone(self.tz)

"""The embedded backend: one SQLite file, FTS5 for Chinese full-text search.

Han characters are indexed one token each (see :func:`store.text.han_spaced`),
so a phrase query of characters is a substring search, as on Elasticsearch.
The full-text table is contentless: the originals live once, in ``items``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from store.base import AuditRepo, ItemRepo, LibraryRepo, Store, check_query, check_successor
from store.errors import ConflictError, NotFound, QueryError, SchemaMismatch, StoreUnavailable
from store.model import (
    MUTABLE_FIELDS,
    AuditEntry,
    Facets,
    Found,
    Item,
    ItemQuery,
    LibraryVersion,
    SearchResult,
)
from store.query import And, GroupRef, Near, Node, Not, Or, Scoped, Word, split_negatives
from store.text import han_spaced, highlight, positive_words

SCHEMA_VERSION = "1"
BATCH = 500
_COLUMNS = (
    "id, url, title, body, source_id, author, site_source, publish_time, first_seen, "
    "tags, rules, hits, event_id, version"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    source_id TEXT NOT NULL,
    author TEXT NOT NULL,
    site_source TEXT NOT NULL,
    publish_time INTEGER,
    first_seen INTEGER NOT NULL,
    tags TEXT NOT NULL,
    rules TEXT NOT NULL,
    hits TEXT NOT NULL,
    event_id TEXT,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS items_first_seen ON items(first_seen);
CREATE INDEX IF NOT EXISTS items_publish_time ON items(publish_time);
CREATE INDEX IF NOT EXISTS items_source ON items(source_id);
CREATE INDEX IF NOT EXISTS items_event ON items(event_id);
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5(
    title, body, content='', tokenize='unicode61 remove_diacritics 0'
);
CREATE TABLE IF NOT EXISTS library_versions (
    version INTEGER PRIMARY KEY,
    parent INTEGER,
    author TEXT NOT NULL,
    created INTEGER NOT NULL,
    message TEXT NOT NULL,
    data TEXT NOT NULL,
    summary TEXT NOT NULL
);
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


def _statements(script: str) -> list[str]:
    """Split a schema script into statements, keeping trigger bodies whole."""
    out: list[str] = []
    for part in script.split(";"):
        if (
            out
            and out[-1].lstrip().startswith("CREATE TRIGGER")
            and not out[-1].rstrip().endswith("END")
        ):
            out[-1] += ";" + part
        elif part.strip():
            out.append(part)
    return [s for s in out if s.strip()]


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


class SQLiteStore(Store):
    """The embedded store at ``path`` (created with its folder if missing)."""

    def __init__(self, path: str | Path, *, tz: str = "Asia/Shanghai") -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.tz = ZoneInfo(tz)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.transaction() as db:
                # executescript() would commit on its own; keep it all in one transaction.
                for statement in _statements(_SCHEMA):
                    db.execute(statement)
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
        self.items: SQLiteItems = SQLiteItems(self)
        self.library: SQLiteLibrary = SQLiteLibrary(self)
        self.audit: SQLiteAudit = SQLiteAudit(self)

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
            db.create_function("local_day", 1, self._local_day, deterministic=True)
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def _local_day(self, ms: int | None) -> str | None:
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
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

    def health(self) -> dict[str, Any]:
        return {"backend": "sqlite", "url": self.url, "items": self.items.count()}

    def to_local(self, ms: int | None) -> datetime | None:
        return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).astimezone(self.tz)


class SQLiteItems(ItemRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def upsert_many(self, items: Iterable[Item]) -> int:
        done = 0
        batch: list[Item] = []
        for item in items:
            batch.append(item)
            if len(batch) == BATCH:
                done += self._upsert(batch)
                batch = []
        if batch:
            done += self._upsert(batch)
        return done

    def _upsert(self, batch: list[Item]) -> int:
        # The last copy of a URL in one batch wins, as it would on Elasticsearch.
        rows = {item.id: _row(item) for item in batch}
        ids = list(rows)
        with self.store.transaction() as db:
            marks = ",".join("?" * len(ids))
            old = db.execute(
                f"SELECT id, rowid, title, body FROM items WHERE id IN ({marks})", ids
            ).fetchall()
            db.executemany(
                "INSERT INTO items_fts(items_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
                [(rowid, han_spaced(t), han_spaced(b)) for _, rowid, t, b in old],
            )
            # Rowids are given out here rather than read back, saving a query per batch;
            # the write lock taken by transaction() makes max(rowid) safe to use.
            rowid_of = {item: rowid for item, rowid, _, _ in old}
            (last,) = db.execute("SELECT coalesce(max(rowid), 0) FROM items").fetchone()
            for i in ids:
                if i not in rowid_of:
                    last += 1
                    rowid_of[i] = last
            db.executemany(
                f"INSERT INTO items (rowid, {_COLUMNS}) VALUES ({','.join('?' * 15)}) "
                "ON CONFLICT(id) DO UPDATE SET url=excluded.url, title=excluded.title, "
                "body=excluded.body, source_id=excluded.source_id, author=excluded.author, "
                "site_source=excluded.site_source, publish_time=excluded.publish_time, "
                "tags=excluded.tags, rules=excluded.rules, hits=excluded.hits, "
                "event_id=excluded.event_id, version=items.version + 1",
                [(rowid_of[i], *row) for i, row in rows.items()],
            )
            db.executemany(
                "INSERT INTO items_fts(rowid, title, body) VALUES (?, ?, ?)",
                [(rowid_of[i], han_spaced(r[2]), han_spaced(r[3])) for i, r in rows.items()],
            )
        return len(batch)

    def get(self, item_id: str) -> Item | None:
        row = (
            self.store.connection()
            .execute(f"SELECT {_COLUMNS} FROM items WHERE id = ?", (item_id,))
            .fetchone()
        )
        return None if row is None else self._item(row)

    def update(self, item_id: str, changes: dict[str, Any], if_version: str) -> Item:
        unknown = set(changes) - MUTABLE_FIELDS
        if unknown:
            raise QueryError(f"cannot change {', '.join(sorted(unknown))}", sorted(unknown)[0])
        values = {
            k: json.dumps(v, ensure_ascii=False) if k != "event_id" else v
            for k, v in changes.items()
        }
        sets = ", ".join(f"{k} = :{k}" for k in values)
        with self.store.transaction() as db:
            cur = db.execute(
                f"UPDATE items SET {sets}, version = version + 1 "
                "WHERE id = :_id AND version = :_version",
                {**values, "_id": item_id, "_version": int(if_version)},
            )
            if cur.rowcount == 0:
                exists = db.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone()
                if exists is None:
                    raise NotFound(f"no item {item_id}")
                raise ConflictError(f"item {item_id} changed since version {if_version}")
        item = self.get(item_id)
        assert item is not None
        return item

    def count(self) -> int:
        return int(self.store.connection().execute("SELECT count(*) FROM items").fetchone()[0])

    def search(self, query: ItemQuery) -> SearchResult:
        node = check_query(query)
        where, params = self._where(query, node)
        db = self.store.connection()
        total = db.execute(f"SELECT count(*) FROM {_from(node)} WHERE {where}", params).fetchone()
        order = _order(query, node)
        rows = db.execute(
            f"SELECT {_prefixed()}, {'bm25(items_fts)' if node else 'NULL'} "
            f"FROM {_from(node)} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, query.size, (query.page - 1) * query.size],
        ).fetchall()
        found = []
        for row in rows:
            item = self._item(row[:-1])
            marks: dict[str, list[str]] = {}
            if node is not None and query.highlight:
                for name in ("title", "body"):
                    fragments = highlight(getattr(item, name), positive_words(node, name))
                    if fragments:
                        marks[name] = fragments
            found.append(Found(item, None if row[-1] is None else -row[-1], marks))
        return SearchResult(int(total[0]), found)

    def facets(self, query: ItemQuery) -> Facets:
        node = check_query(query)
        where, params = self._where(query, node)
        db = self.store.connection()
        field = f"items.{query.time_field}"
        per_day = db.execute(
            f"SELECT local_day({field}) AS d, count(*) FROM {_from(node)} "
            f"WHERE {where} AND {field} IS NOT NULL GROUP BY d ORDER BY d",
            params,
        ).fetchall()
        per_source = db.execute(
            f"SELECT items.source_id, count(*) AS n FROM {_from(node)} WHERE {where} "
            "GROUP BY items.source_id ORDER BY n DESC, items.source_id",
            params,
        ).fetchall()
        return Facets(dict(per_day), dict(per_source))

    def _where(self, query: ItemQuery, node: Node | None) -> tuple[str, list[Any]]:
        clauses: list[str] = ["1"]
        params: list[Any] = []
        if node is not None:
            clauses.append("items_fts MATCH ?")
            params.append(to_fts(node))
        field = f"items.{query.time_field}"
        if query.since:
            clauses.append(f"{field} >= ?")
            params.append(_ms(query.since))
        if query.until:
            clauses.append(f"{field} < ?")
            params.append(_ms(query.until))
        if query.sources:
            clauses.append(f"items.source_id IN ({','.join('?' * len(query.sources))})")
            params.extend(query.sources)
        for name, wanted in (("tags", query.tags), ("rules", query.rules)):
            if wanted:
                clauses.append(
                    f"EXISTS (SELECT 1 FROM json_each(items.{name}) "
                    f"WHERE value IN ({','.join('?' * len(wanted))}))"
                )
                params.extend(wanted)
        if query.event_id:
            clauses.append("items.event_id = ?")
            params.append(query.event_id)
        return " AND ".join(clauses), params

    def _item(self, row: tuple[Any, ...]) -> Item:
        first_seen = self.store.to_local(row[8])
        assert first_seen is not None
        return Item(
            url=row[1],
            title=row[2],
            body=row[3],
            source_id=row[4],
            author=row[5],
            site_source=row[6],
            publish_time=self.store.to_local(row[7]),
            first_seen=first_seen,
            tags=json.loads(row[9]),
            rules=json.loads(row[10]),
            hits=json.loads(row[11]),
            event_id=row[12],
            version=str(row[13]),
        )


class SQLiteLibrary(LibraryRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def head(self) -> LibraryVersion | None:
        row = (
            self.store.connection()
            .execute("SELECT * FROM library_versions ORDER BY version DESC LIMIT 1")
            .fetchone()
        )
        return None if row is None else self._version(row)

    def get(self, version: int) -> LibraryVersion | None:
        row = (
            self.store.connection()
            .execute("SELECT * FROM library_versions WHERE version = ?", (version,))
            .fetchone()
        )
        return None if row is None else self._version(row)

    def history(self, limit: int = 50) -> list[LibraryVersion]:
        rows = self.store.connection().execute(
            "SELECT version, parent, author, created, message, '{}', summary "
            "FROM library_versions ORDER BY version DESC LIMIT ?",
            (limit,),
        )
        return [self._version(row) for row in rows]

    def commit(self, version: LibraryVersion) -> LibraryVersion:
        check_successor(version)
        with self.store.transaction() as db:
            (head,) = db.execute("SELECT max(version) FROM library_versions").fetchone()
            if head != version.parent:
                raise ConflictError(
                    f"the library is at version {head}, not {version.parent}: reload and retry"
                )
            db.execute(
                "INSERT INTO library_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    version.version,
                    version.parent,
                    version.author,
                    _ms(version.created),
                    version.message,
                    json.dumps(version.data, ensure_ascii=False),
                    json.dumps(version.summary, ensure_ascii=False),
                ),
            )
        return version

    def _version(self, row: tuple[Any, ...]) -> LibraryVersion:
        created = self.store.to_local(row[3])
        assert created is not None
        return LibraryVersion(
            row[0], row[1], row[2], created, row[4], json.loads(row[5]), json.loads(row[6])
        )


class SQLiteAudit(AuditRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def append(self, entry: AuditEntry) -> AuditEntry:
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO audit (time, actor, action, target, before, after) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    _ms(entry.time),
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


def _row(item: Item) -> tuple[Any, ...]:
    if item.first_seen.tzinfo is None or (item.publish_time and item.publish_time.tzinfo is None):
        raise QueryError(f"item {item.url}: times need a time zone", "publish_time")
    return (
        item.id,
        item.url,
        item.title,
        item.body,
        item.source_id,
        item.author,
        item.site_source,
        _ms(item.publish_time),
        _ms(item.first_seen),
        _json(item.tags),
        _json(item.rules),
        _json(item.hits),
        item.event_id,
        1,
    )


def _json(value: list[Any]) -> str:
    return json.dumps(value, ensure_ascii=False) if value else "[]"


def _prefixed() -> str:
    return ", ".join(f"items.{c.strip()}" for c in _COLUMNS.split(","))


def _from(node: Node | None) -> str:
    if node is None:
        return "items"
    return "items_fts JOIN items ON items.rowid = items_fts.rowid"


def _order(query: ItemQuery, node: Node | None) -> str:
    direction = "DESC" if query.descending else "ASC"
    if query.sort == "relevance" and node is not None:
        # bm25() is lower for better matches.
        return f"bm25(items_fts) {'ASC' if query.descending else 'DESC'}, items.id"
    field = "items.first_seen" if query.sort == "relevance" else f"items.{query.sort}"
    return f"{field} IS NULL, {field} {direction}, items.id"


def _phrase(text: str) -> str:
    spaced = han_spaced(text).strip()
    if not any(ch.isalnum() for ch in spaced):
        raise QueryError(f"{text!r} has no letters or digits to search for", "q")
    return '"' + spaced.replace('"', '""') + '"'


def _near_sides(node: Node) -> list[str]:
    if isinstance(node, Or):
        return [p for c in node.children for p in _near_sides(c)]
    assert isinstance(node, Word)
    return [_phrase(node.text)]


def to_fts(node: Node) -> str:
    """Compile an expression into an FTS5 MATCH string. Every word becomes a quoted
    phrase, so nothing a user types can act as FTS5 syntax."""
    if isinstance(node, Word):
        return _phrase(node.text)
    if isinstance(node, Scoped):
        return f"{{{node.field}}} : ({to_fts(node.child)})"
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts(c) for c in node.children) + ")"
    if isinstance(node, And):
        positive, negative = split_negatives(node.children)
        out = "(" + " AND ".join(to_fts(c) for c in positive) + ")"
        for child in negative:
            out = f"({out} NOT {to_fts(child)})"
        return out
    if isinstance(node, Near):
        if node.unit != "char":
            raise QueryError("NEAR/S and NEAR/P work in rules, not in search", "q")
        pairs = [
            f"NEAR({a} {b}, {node.distance})"
            for a in _near_sides(node.left)
            for b in _near_sides(node.right)
        ]
        return "(" + " OR ".join(pairs) + ")"
    if isinstance(node, GroupRef):
        raise QueryError(f"unknown group @{node.name}", "q")
    assert isinstance(node, Not)
    raise QueryError("NOT needs words beside it", "q")

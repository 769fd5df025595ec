"""Items in SQLite: rows in ``items``, Han-spaced text in the contentless ``items_fts``."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rules.highlight import search_fragments
from rules.syntax import And, GroupRef, Near, Node, Not, Or, Scoped, Word, split_negatives
from store.base import ItemRepo, check_events, check_query
from store.errors import ConflictError, NotFound, QueryError
from store.model import (
    MUTABLE_FIELDS,
    EventOrder,
    EventSummary,
    Facets,
    Found,
    Item,
    ItemQuery,
    SearchResult,
)
from store.sqlite.common import json_list, ms
from store.text import han_spaced

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

# Item fields in table order; ``id`` comes first and ``version`` last.
_FIELDS = (
    "url", "title", "body", "source_id", "author", "site_source", "publish_time", "written_time",
    "first_seen", "tags", "rules", "hits", "event_id", "norm_title", "norm_body", "fingerprint",
    "published_precision", "published_source", "body_missing",
)  # fmt: skip
# Positions in a row (after ``id``) of the texts the full-text index holds.
_FTS_INPUT = tuple(1 + _FIELDS.index(f) for f in ("title", "body", "norm_title", "norm_body"))
_TIMES = frozenset({"publish_time", "written_time", "first_seen"})
_JSON = frozenset({"tags", "rules", "hits", "fingerprint"})
_COLUMNS = ", ".join(("id", *_FIELDS, "version"))
_UPSERT = (
    f"INSERT INTO items (rowid, {_COLUMNS}) VALUES ({','.join('?' * (len(_FIELDS) + 3))}) "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{f}=excluded.{f}" for f in _FIELDS if f != "first_seen")
    + ", version=items.version + 1"
)
SCHEMA = """
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
    written_time INTEGER,
    first_seen INTEGER NOT NULL,
    tags TEXT NOT NULL,
    rules TEXT NOT NULL,
    hits TEXT NOT NULL,
    event_id TEXT,
    norm_title TEXT NOT NULL,
    norm_body TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    published_precision TEXT NOT NULL DEFAULT '',
    published_source TEXT NOT NULL DEFAULT '',
    body_missing INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS item_keys (
    key TEXT NOT NULL,
    item INTEGER NOT NULL,
    PRIMARY KEY (key, item)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_keys_item ON item_keys(item);
CREATE INDEX IF NOT EXISTS items_first_seen ON items(first_seen);
CREATE INDEX IF NOT EXISTS items_publish_time ON items(publish_time);
CREATE INDEX IF NOT EXISTS items_source ON items(source_id);
CREATE INDEX IF NOT EXISTS items_event ON items(event_id);
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5(
    title, body, norm_title, norm_body, content='', tokenize='unicode61 remove_diacritics 0'
);
"""


# Columns added after the first release, with the definition that fills old rows.
_ADDED_COLUMNS = (
    ("published_precision", "TEXT NOT NULL DEFAULT ''"),
    ("published_source", "TEXT NOT NULL DEFAULT ''"),
    ("body_missing", "INTEGER NOT NULL DEFAULT 0"),
)


def migrate(db: sqlite3.Connection) -> None:
    """Add columns that files written by an earlier yuqing lack (additions only)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(items)")}
    if "written_time" not in have:
        db.execute("ALTER TABLE items ADD COLUMN written_time INTEGER")
    for column, kind in _ADDED_COLUMNS:
        if column not in have:
            db.execute(f"ALTER TABLE items ADD COLUMN {column} {kind}")


class SQLiteItems(ItemRepo):
    batch_size = 500

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def _upsert(self, batch: list[Item]) -> int:
        # The last copy of a URL in one batch wins, as it would on Elasticsearch.
        rows = {item.id: _row(item) for item in batch}
        ids = list(rows)
        with self.store.transaction() as db:
            marks = ",".join("?" * len(ids))
            old = db.execute(
                "SELECT id, rowid, title, body, norm_title, norm_body FROM items "
                f"WHERE id IN ({marks})",
                ids,
            ).fetchall()
            db.executemany(
                "INSERT INTO items_fts(items_fts, rowid, title, body, norm_title, norm_body) "
                "VALUES ('delete', ?, ?, ?, ?, ?)",
                [(row[1], *(han_spaced(t) for t in row[2:])) for row in old],
            )
            # Rowids are given out here rather than read back, saving a query per batch;
            # the write lock taken by transaction() makes max(rowid) safe to use.
            rowid_of = {row[0]: row[1] for row in old}
            (last,) = db.execute("SELECT coalesce(max(rowid), 0) FROM items").fetchone()
            for i in ids:
                if i not in rowid_of:
                    last += 1
                    rowid_of[i] = last
            db.executemany(
                _UPSERT,
                [(rowid_of[i], *row) for i, row in rows.items()],
            )
            db.executemany("DELETE FROM item_keys WHERE item = ?", [(row[1],) for row in old])
            db.executemany(
                "INSERT OR IGNORE INTO item_keys (key, item) VALUES (?, ?)",
                [(key, rowid_of[item.id]) for item in batch for key in item.fingerprint],
            )
            db.executemany(
                "INSERT INTO items_fts(rowid, title, body, norm_title, norm_body) "
                "VALUES (?, ?, ?, ?, ?)",
                [(rowid_of[i], *(han_spaced(r[k]) for k in _FTS_INPUT)) for i, r in rows.items()],
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
            if node is not None and query.highlight and not query.normalized:
                for name in ("title", "body"):
                    fragments = search_fragments(getattr(item, name), node, name)
                    if fragments:
                        marks[name] = [str(f) for f in fragments]
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
        per_rule = db.execute(
            f"SELECT j.value, count(*) AS n FROM {_from(node)}, json_each(items.rules) AS j "
            f"WHERE {where} GROUP BY j.value ORDER BY n DESC, j.value",
            params,
        ).fetchall()
        return Facets(dict(per_day), dict(per_source), dict(per_rule))

    def events(
        self, query: ItemQuery, limit: int = 50, order: EventOrder = "recent"
    ) -> list[EventSummary]:
        node = check_events(query, limit)
        where, params = self._where(query, node)
        where += " AND items.event_id IS NOT NULL"
        db = self.store.connection()
        by = "max(items.first_seen) DESC" if order == "recent" else "count(*) DESC"
        groups = db.execute(
            f"SELECT items.event_id, count(*), min(items.first_seen), max(items.first_seen) "
            f"FROM {_from(node)} WHERE {where} GROUP BY items.event_id "
            f"ORDER BY {by}, items.event_id LIMIT ?",
            [*params, limit],
        ).fetchall()
        if not groups:
            return []
        ids = [g[0] for g in groups]
        where += f" AND items.event_id IN ({','.join('?' * len(ids))})"
        params = [*params, *ids]
        first = {
            row[0]: row[1:]
            for row in db.execute(
                "SELECT event_id, id, title FROM (SELECT items.event_id, items.id, items.title, "
                "row_number() OVER (PARTITION BY items.event_id "
                "ORDER BY items.first_seen, items.id) AS n "
                f"FROM {_from(node)} WHERE {where}) WHERE n = 1",
                params,
            )
        }
        sources: dict[str, list[str]] = {i: [] for i in ids}
        for event, source in db.execute(
            f"SELECT items.event_id, items.source_id FROM {_from(node)} WHERE {where} "
            "GROUP BY 1, 2 ORDER BY count(*) DESC, 2",
            params,
        ):
            sources[event].append(source)
        rules: dict[str, list[str]] = {i: [] for i in ids}
        for event, rule in db.execute(
            f"SELECT items.event_id, j.value FROM {_from(node)}, json_each(items.rules) AS j "
            f"WHERE {where} GROUP BY 1, 2 ORDER BY count(*) DESC, 2",
            params,
        ):
            rules[event].append(rule)
        out = []
        for event, count, earliest, latest in groups:
            item, title = first[event]
            seen = self.store.to_local(earliest), self.store.to_local(latest)
            assert seen[0] is not None and seen[1] is not None
            out.append(
                EventSummary(
                    event, count, seen[0], seen[1], sources[event], rules[event], title, item
                )
            )
        return out

    def _where(self, query: ItemQuery, node: Node | None) -> tuple[str, list[Any]]:
        clauses: list[str] = ["1"]
        params: list[Any] = []
        if node is not None:
            clauses.append("items_fts MATCH ?")
            params.append(to_fts(node, "norm_" if query.normalized else ""))
        field = f"items.{query.time_field}"
        if query.since:
            clauses.append(f"{field} >= ?")
            params.append(ms(query.since))
        if query.until:
            clauses.append(f"{field} < ?")
            params.append(ms(query.until))
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
        values = dict(zip(("id", *_FIELDS, "version"), row, strict=True))
        del values["id"]
        for name in _TIMES:
            values[name] = self.store.to_local(values[name])
        for name in _JSON:
            values[name] = json.loads(values[name])
        values["version"] = str(values["version"])
        values["body_missing"] = bool(values["body_missing"])
        return Item(**values)

    def find_similar(self, keys: list[str], since: datetime, limit: int = 20) -> list[Item]:
        if not keys:
            return []
        rows = self.store.connection().execute(
            f"SELECT {_prefixed()} FROM item_keys JOIN items ON items.rowid = item_keys.item "
            f"WHERE item_keys.key IN ({','.join('?' * len(keys))}) AND items.first_seen >= ? "
            "GROUP BY items.rowid ORDER BY count(*) DESC, items.first_seen LIMIT ?",
            [*keys, ms(since), limit],
        )
        return [self._item(row) for row in rows]


def _row(item: Item) -> tuple[Any, ...]:
    for name in _TIMES:
        value = getattr(item, name)
        if value is not None and value.tzinfo is None:
            raise QueryError(f"item {item.url}: times need a time zone", name)
    values: list[Any] = [item.id]
    for name in _FIELDS:
        value = getattr(item, name)
        if name in _TIMES:
            value = ms(value)
        elif name == "body_missing":
            value = int(value)
        elif name in _JSON:
            value = json_list(value)
        values.append(value)
    values.append(1)
    return tuple(values)


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


def to_fts(node: Node, prefix: str = "") -> str:
    """Compile an expression into an FTS5 MATCH string over ``<prefix>title`` and
    ``<prefix>body``. Every word becomes a quoted phrase, so nothing a user types can
    act as FTS5 syntax."""
    if isinstance(node, Scoped):
        return _leaf(node.child, f"{prefix}{node.field}")
    if isinstance(node, Word | Near):
        return _leaf(node, f"{prefix}title {prefix}body")
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts(c, prefix) for c in node.children) + ")"
    if isinstance(node, And):
        positive, negative = split_negatives(node.children)
        out = "(" + " AND ".join(to_fts(c, prefix) for c in positive) + ")"
        for child in negative:
            out = f"({out} NOT {to_fts(child, prefix)})"
        return out
    if isinstance(node, GroupRef):
        raise QueryError(f"unknown group @{node.name}", "q")
    assert isinstance(node, Not)
    raise QueryError("NOT needs words beside it", "q")


def _leaf(node: Node, columns: str) -> str:
    """A word or a NEAR (scopes sit on these only, see rules.syntax.scoped)."""
    if isinstance(node, Word):
        return f"{{{columns}}} : {_phrase(node.text)}"
    if isinstance(node, GroupRef):
        raise QueryError(f"unknown group @{node.name}", "q")
    assert isinstance(node, Near)
    if node.unit != "char":
        raise QueryError("NEAR/S and NEAR/P work in rules, not in search", "q")
    pairs = [
        f"{{{columns}}} : NEAR({a} {b}, {node.distance})"
        for a in _near_sides(node.left)
        for b in _near_sides(node.right)
    ]
    return "(" + " OR ".join(pairs) + ")"

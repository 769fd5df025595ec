"""Items in SQLite: rows in ``items``, their filterable fields again in the narrow
``item_facts`` (kept by triggers), Han-bigram text in the contentless ``items_fts``.

Searches, counts and facets run over ``items_fts`` and ``item_facts`` only: an item's row
holds its texts and spills over several pages, so touching ``items`` for every match
would read the whole text of everything a common word matches. Only the page shown
reads ``items``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rules.facts import facts
from rules.highlight import search_fragments
from rules.syntax import (
    And,
    Fact,
    GroupRef,
    Near,
    Node,
    Not,
    Or,
    Scoped,
    Word,
    split_negatives,
)
from store.base import ItemRepo, check_events, check_query, check_span
from store.errors import ConflictError, NotFound, QueryError
from store.frequencies import LEAD, Frequencies
from store.model import (
    MUTABLE_FIELDS,
    EventOrder,
    EventSummary,
    Facets,
    Found,
    Item,
    ItemQuery,
    ItemText,
    SearchResult,
    with_id,
)
from store.sqlite.common import json_list, ms, statements
from store.sqlite.daycounts import DayCounts
from store.text import han_bigrams, phrase_tokens

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

log = logging.getLogger(__name__)
# The full-text index's tokens (meta key 'fts'); another value (or none: single
# characters, before) makes the store rebuild the index when it opens.
FTS_TOKENS = "han-bigram-1+facts-1"
REBUILD_BATCH = 2000
REGION_FACETS = 200  # the most frequent region codes a facet lists

# Item fields in table order; ``id`` comes first and ``version`` last.
_FIELDS = (
    "url", "title", "body", "source_id", "author", "site_source", "publish_time", "written_time",
    "first_seen", "tags", "rules", "hits", "event_id", "norm_title", "norm_body", "fingerprint",
    "published_precision", "published_source", "body_missing", "backfill", "regions",
    "region_primary", "places", "negative", "sentiment", "sentiment_evidence",
)  # fmt: skip
_BOOLS = frozenset({"body_missing", "backfill"})
# Set when the page is first stored and kept through every later upsert.
_FIRST_SIGHT = frozenset({"first_seen", "backfill"})
# Positions in a row (after ``id``) of the texts the full-text index holds.
_FTS_INPUT = tuple(1 + _FIELDS.index(f) for f in ("title", "body", "norm_title", "norm_body"))
_TIMES = frozenset({"publish_time", "written_time", "first_seen"})
_JSON = frozenset(
    {"tags", "rules", "hits", "fingerprint", "regions", "region_primary", "places"}
    | {"sentiment_evidence"}
)
_COLUMNS = ", ".join(("id", *_FIELDS, "version"))
_UPSERT = (
    f"INSERT INTO items (rowid, {_COLUMNS}) VALUES ({','.join('?' * (len(_FIELDS) + 3))}) "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{f}=excluded.{f}" for f in _FIELDS if f not in _FIRST_SIGHT)
    + ", version=items.version + 1"
)
# The item's facts (rules.facts) are tokens of their own column: ``region:500152`` is a
# term test that combines with words under AND, OR and NOT like any other.
_FTS_TABLE = """CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5(
    title, body, norm_title, norm_body, facts,
    content='', tokenize='unicode61 remove_diacritics 0'
)"""
SCHEMA = (
    """
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
    backfill INTEGER NOT NULL DEFAULT 0,
    regions TEXT NOT NULL DEFAULT '[]',
    region_primary TEXT NOT NULL DEFAULT '[]',
    places TEXT NOT NULL DEFAULT '[]',
    negative REAL NOT NULL DEFAULT 0,
    sentiment TEXT NOT NULL DEFAULT '',
    sentiment_evidence TEXT NOT NULL DEFAULT '[]',
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
"""
    + _FTS_TABLE
    + """;
CREATE TABLE IF NOT EXISTS item_facts (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    publish_time INTEGER,
    source_id TEXT NOT NULL,
    tags TEXT NOT NULL,
    rules TEXT NOT NULL,
    event_id TEXT,
    backfill INTEGER NOT NULL DEFAULT 0,
    negative REAL NOT NULL DEFAULT 0,
    regions TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS item_facts_first_seen ON item_facts(first_seen);
CREATE INDEX IF NOT EXISTS item_facts_publish_time ON item_facts(publish_time);
CREATE INDEX IF NOT EXISTS item_facts_source ON item_facts(source_id);
CREATE INDEX IF NOT EXISTS item_facts_event ON item_facts(event_id);
"""
    + """
CREATE INDEX IF NOT EXISTS item_facts_negative ON item_facts(negative);
"""
)
# Kept apart from SCHEMA: an older file's triggers are replaced by these (see migrate).
# Columns are named: an older file's item_facts got its later columns appended in the
# order its upgrades ran.
TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS items_facts_insert AFTER INSERT ON items BEGIN
    INSERT INTO item_facts (rowid, id, first_seen, publish_time, source_id, tags, rules,
        event_id, backfill, negative, regions)
    VALUES (new.rowid, new.id, new.first_seen, new.publish_time, new.source_id, new.tags,
        new.rules, new.event_id, new.backfill, new.negative, new.regions);
END;
CREATE TRIGGER IF NOT EXISTS items_facts_update AFTER UPDATE ON items BEGIN
    UPDATE item_facts SET id = new.id, first_seen = new.first_seen,
        publish_time = new.publish_time, source_id = new.source_id, tags = new.tags,
        rules = new.rules, event_id = new.event_id, backfill = new.backfill,
        negative = new.negative, regions = new.regions
    WHERE rowid = new.rowid;
END;
"""


# Columns added after the first release, with the definition that fills old rows.
_ADDED_COLUMNS = (
    ("published_precision", "TEXT NOT NULL DEFAULT ''"),
    ("published_source", "TEXT NOT NULL DEFAULT ''"),
    ("body_missing", "INTEGER NOT NULL DEFAULT 0"),
    ("backfill", "INTEGER NOT NULL DEFAULT 0"),
    ("regions", "TEXT NOT NULL DEFAULT '[]'"),
    ("region_primary", "TEXT NOT NULL DEFAULT '[]'"),
    ("places", "TEXT NOT NULL DEFAULT '[]'"),
    ("negative", "REAL NOT NULL DEFAULT 0"),
    ("sentiment", "TEXT NOT NULL DEFAULT ''"),
    ("sentiment_evidence", "TEXT NOT NULL DEFAULT '[]'"),
)
# The later columns item_facts copies from items (same definitions, see TRIGGERS).
_FACT_COLUMNS = tuple(c for c in _ADDED_COLUMNS if c[0] in ("backfill", "negative", "regions"))


def migrate(db: sqlite3.Connection) -> None:
    """Bring a file written by an earlier yuqing up to date (additions and rebuilt
    indexes only: items are never lost)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(items)")}
    if "written_time" not in have:
        db.execute("ALTER TABLE items ADD COLUMN written_time INTEGER")
    for column, kind in _ADDED_COLUMNS:
        if column not in have:
            db.execute(f"ALTER TABLE items ADD COLUMN {column} {kind}")
    have_facts = {row[1] for row in db.execute("PRAGMA table_info(item_facts)")}
    stale = any(column not in have_facts for column, _ in _FACT_COLUMNS)
    for column, kind in _FACT_COLUMNS:
        if column not in have_facts:
            db.execute(f"ALTER TABLE item_facts ADD COLUMN {column} {kind}")
    if stale:  # the triggers of an older file do not fill the new columns
        db.execute("DROP TRIGGER IF EXISTS items_facts_insert")
        db.execute("DROP TRIGGER IF EXISTS items_facts_update")
    for statement in statements(TRIGGERS):
        db.execute(statement)
    (facts,) = db.execute("SELECT count(*) FROM item_facts").fetchone()
    (items,) = db.execute("SELECT count(*) FROM items").fetchone()
    if facts != items or stale:
        log.warning("filling item_facts from %d items (once)", items)
        db.execute("DELETE FROM item_facts")
        db.execute(
            "INSERT INTO item_facts (rowid, id, first_seen, publish_time, source_id, tags, "
            "rules, event_id, backfill, negative, regions) SELECT rowid, id, first_seen, "
            "publish_time, source_id, tags, rules, event_id, backfill, negative, regions FROM items"
        )
    row = db.execute("SELECT value FROM meta WHERE key = 'fts'").fetchone()
    if row is None or row[0] != FTS_TOKENS:
        columns = [r[1] for r in db.execute("PRAGMA table_info(items_fts)")]
        if "facts" not in columns:  # an older file's index: made again with the column
            db.execute("DROP TABLE items_fts")
            db.execute(_FTS_TABLE)
        _rebuild_fts(db, items)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('fts', ?)", (FTS_TOKENS,))


def _rebuild_fts(db: sqlite3.Connection, total: int) -> None:
    """Index every item again with the current tokens (the index is contentless, so
    its old entries are dropped all at once)."""
    db.execute("INSERT INTO items_fts(items_fts) VALUES ('delete-all')")
    done, last = 0, 0
    while True:
        rows = db.execute(
            "SELECT rowid, title, body, norm_title, norm_body, regions, region_primary, "
            "sentiment, negative FROM items WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (last, REBUILD_BATCH),
        ).fetchall()
        if not rows:
            break
        db.executemany(
            "INSERT INTO items_fts(rowid, title, body, norm_title, norm_body, facts) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(r[0], *(han_bigrams(t) for t in r[1:5]), _fact_text(*r[5:])) for r in rows],
        )
        done, last = done + len(rows), rows[-1][0]
        log.warning("rebuilding the full-text index: %d of %d items", done, total)


_SCAN_BATCH = 2000


class SQLiteItems(ItemRepo):
    batch_size = 500

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def _upsert(self, batch: list[Item]) -> int:
        # The last copy of a URL in one batch wins, as it would on Elasticsearch.
        rows = {item.id: _row(item) for item in batch}
        items = {item.id: item for item in batch}
        ids = list(rows)
        with self.store.transaction() as db:
            marks = ",".join("?" * len(ids))
            old = db.execute(
                "SELECT id, rowid, title, body, norm_title, norm_body, regions, region_primary, "
                f"sentiment, negative FROM items WHERE id IN ({marks})",
                ids,
            ).fetchall()
            db.executemany(
                "INSERT INTO items_fts(items_fts, rowid, title, body, norm_title, norm_body, "
                "facts) VALUES ('delete', ?, ?, ?, ?, ?, ?)",
                [
                    (row[1], *(han_bigrams(t) for t in row[2:6]), _fact_text(*row[6:]))
                    for row in old
                ],
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
                "INSERT INTO items_fts(rowid, title, body, norm_title, norm_body, facts) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        rowid_of[i],
                        *(han_bigrams(r[k]) for k in _FTS_INPUT),
                        _item_fact_text(items[i]),
                    )
                    for i, r in rows.items()
                ],
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

    def scan(self, since: datetime, until: datetime) -> Iterator[ItemText]:
        check_span(since, until)
        # Keyset pages on (first_seen, rowid): no cursor stays open between batches, so a
        # long scan never holds the reader back from writers.
        after = (ms(since) or 0) - 1, -1
        end = ms(until)
        db = self.store.connection()
        while True:
            rows = db.execute(
                "SELECT first_seen, rowid, id, source_id, title, norm_title, norm_body, rules, "
                "event_id FROM items WHERE (first_seen, rowid) > (?, ?) AND first_seen < ? "
                "ORDER BY first_seen, rowid LIMIT ?",
                (*after, end, _SCAN_BATCH),
            ).fetchall()
            for row in rows:
                first_seen = self.store.to_local(row[0])
                assert first_seen is not None
                yield ItemText(
                    id=row[2],
                    first_seen=first_seen,
                    source_id=row[3],
                    title=row[4],
                    norm_title=row[5],
                    norm_body=row[6],
                    rules=json.loads(row[7]),
                    event_id=row[8],
                )
            if len(rows) < _SCAN_BATCH:
                return
            after = rows[-1][0], rows[-1][1]

    def phrase_frequencies(
        self,
        phrases: Sequence[str],
        since: datetime,
        until: datetime,
        *,
        scope: Sequence[str] = (),
        sources: Iterable[str] = (),
        events: Iterable[str] = (),
        lead: int = LEAD,
    ) -> Frequencies:
        # Whole past days are counted once and kept (store.sqlite.daycounts); only new
        # phrases and the part-days at the ends of the span are read.
        check_span(since, until)
        return DayCounts(self, self.store).frequencies(
            phrases, since, until, scope=scope, sources=sources, events=events, lead=lead
        )

    def search(self, query: ItemQuery) -> SearchResult:
        node = check_query(query)
        where, params = self._where(query, node)
        where, params, exact = self._newest(query, node, where, params)
        # Words alone are counted in the full-text index, without item_facts.
        source = "items_fts" if node is not None and not _filtered(query) else _from(node)
        total = (
            self.store.connection()
            .execute(f"SELECT count(*) FROM {source} WHERE {where}", params)
            .fetchone()
        )
        return SearchResult(int(total[0]), self._page(query, node, where, params), exact)

    def search_with_facets(self, query: ItemQuery) -> tuple[SearchResult, Facets]:
        node = check_query(query)
        where, params = self._where(query, node)
        where, params, exact = self._newest(query, node, where, params)
        # The facets count every match, so they give the total without another pass.
        facets = self._facets(query, node, where, params)
        total = sum(facets.per_source.values())
        return SearchResult(total, self._page(query, node, where, params), exact), facets

    def _newest(
        self, query: ItemQuery, node: Node | None, where: str, params: list[Any]
    ) -> tuple[str, list[Any], bool]:
        """``where`` narrowed to the ``query.count_limit`` newest matches if more match
        (False then). Newest is last stored (rowids are given out in the order items are
        first stored, i.e. first seen); the full-text index walks its matches in rowid
        order from the end, so this reads as many matches as the limit, not all. Searches
        with filters (time, source, ...) are counted in full."""
        limit = query.count_limit
        if limit is None or _filtered(query):
            # With filters, finding the newest matches that pass them reads every match
            # of the words (or every item), as counting them all does (measured: 1.7x
            # the time of counting everything as before), so these are counted in full.
            return where, params, True
        rowid = "items_fts.rowid" if node is not None else "f.rowid"
        source = "items_fts" if node is not None else _from(node)
        beyond = (
            self.store.connection()
            .execute(
                f"SELECT {rowid} FROM {source} WHERE {where} ORDER BY {rowid} DESC "
                "LIMIT 1 OFFSET ?",
                [*params, limit],
            )
            .fetchone()
        )
        if beyond is None:
            return where, params, True
        return f"{where} AND {rowid} > ?", [*params, beyond[0]], False

    def _page(
        self, query: ItemQuery, node: Node | None, where: str, params: list[Any]
    ) -> list[Found]:
        """The page of matches: ranked over the narrow tables, then only its rows read."""
        db = self.store.connection()
        ranked = self._best(query, node, where, params)
        if ranked is None:
            ranked = db.execute(
                f"SELECT f.rowid, {'bm25(items_fts)' if node else 'NULL'} FROM {_from(node)} "
                f"WHERE {where} ORDER BY {_order(query, node)} LIMIT ? OFFSET ?",
                [*params, query.size, (query.page - 1) * query.size],
            ).fetchall()
        if not ranked:
            return []
        marks_sql = ",".join("?" * len(ranked))
        rows = {
            row[0]: row[1:]
            for row in db.execute(
                f"SELECT rowid, {_COLUMNS} FROM items WHERE rowid IN ({marks_sql})",
                [r[0] for r in ranked],
            )
        }
        found = []
        for rowid, rank in ranked:
            item = self._item(rows[rowid])
            marks: dict[str, list[str]] = {}
            if node is not None and query.highlight and not query.normalized:
                for name in ("title", "body"):
                    fragments = search_fragments(getattr(item, name), node, name)
                    if fragments:
                        marks[name] = [str(f) for f in fragments]
            found.append(Found(item, None if rank is None else -rank, marks))
        return found

    def _best(
        self, query: ItemQuery, node: Node | None, where: str, params: list[Any]
    ) -> list[tuple[int, float]] | None:
        """The page of a relevance search for words alone, ranked in the full-text index
        without joining item_facts for every match (most of the cost for a common word);
        ties are broken by id as in the general query. None when that does not apply,
        or when a tie straddles the end of the page."""
        if node is None or query.sort != "relevance" or _filtered(query):
            return None
        n, db = query.page * query.size, self.store.connection()
        direction = "ASC" if query.descending else "DESC"  # bm25() is lower for better
        best = db.execute(
            f"SELECT rowid, bm25(items_fts) AS r FROM items_fts WHERE {where} "
            f"ORDER BY r {direction} LIMIT ?",
            [*params, n + 1],
        ).fetchall()
        if len(best) > n and best[n][1] == best[n - 1][1]:
            return None
        best = best[:n]
        if not best:
            return best
        ids = dict(
            db.execute(
                f"SELECT rowid, id FROM item_facts WHERE rowid IN ({','.join('?' * len(best))})",
                [r[0] for r in best],
            ).fetchall()
        )
        sign = 1 if query.descending else -1
        best.sort(key=lambda r: (sign * r[1], ids[r[0]]))
        return best[n - query.size :]

    def facets(self, query: ItemQuery) -> Facets:
        node = check_query(query)
        where, params = self._where(query, node)
        where, params, _ = self._newest(query, node, where, params)
        return self._facets(query, node, where, params)

    def _facets(self, query: ItemQuery, node: Node | None, where: str, params: list[Any]) -> Facets:
        db = self.store.connection()
        field = f"f.{query.time_field}"
        per_day: Counter[str] = Counter()
        per_source: Counter[str] = Counter()
        per_rule: Counter[str] = Counter()
        per_region: Counter[str] = Counter()
        if query.count_limit is not None and not _filtered(query):
            # At most count_limit matches (see _newest): one pass, counted here, costs
            # less than the three below, each of which would match the words again.
            slots: Counter[int] = Counter()
            rule_lists: Counter[str] = Counter()
            region_lists: Counter[str] = Counter()
            for slot, source, rules, regions in db.execute(
                f"SELECT {field} / {_SLOT_MS}, f.source_id, f.rules, f.regions "
                f"FROM {_from(node)} WHERE {where}",
                params,
            ):
                slots[slot] += 1
                per_source[source] += 1
                rule_lists[rules] += 1
                region_lists[regions] += 1
            for slot, n in slots.items():
                if slot is not None:
                    per_day[self._day(slot)] += n
            for rules, n in rule_lists.items():
                for rule in json.loads(rules):
                    per_rule[rule] += n
            for regions, n in region_lists.items():
                for code in json.loads(regions):
                    per_region[code] += n
            return _facets(per_day, per_source, per_rule, per_region)
        # Three passes over the matches: per time slot, per source and rule list, per
        # region list; the small results are summed here (a per-row function call
        # would cost more).
        for slot, n in db.execute(
            f"SELECT {field} / {_SLOT_MS}, count(*) FROM {_from(node)} "
            f"WHERE {where} AND {field} IS NOT NULL GROUP BY 1",
            params,
        ):
            per_day[self._day(slot)] += n
        for source, rules, n in db.execute(
            f"SELECT f.source_id, f.rules, count(*) FROM {_from(node)} WHERE {where} GROUP BY 1, 2",
            params,
        ):
            per_source[source] += n
            for rule in json.loads(rules):
                per_rule[rule] += n
        for regions, n in db.execute(
            f"SELECT f.regions, count(*) FROM {_from(node)} WHERE {where} AND f.regions != '[]' "
            "GROUP BY 1",
            params,
        ):
            for code in json.loads(regions):
                per_region[code] += n
        return _facets(per_day, per_source, per_rule, per_region)

    def _day(self, slot: int) -> str:
        """The local day of a time slot (slots of 15 minutes never straddle midnight)."""
        day = self.store.local_day(slot * _SLOT_MS)
        assert day is not None
        return day

    def events(
        self, query: ItemQuery, limit: int = 50, order: EventOrder = "recent"
    ) -> list[EventSummary]:
        node = check_events(query, limit)
        where, params = self._where(query, node)
        where += " AND f.event_id IS NOT NULL"
        db = self.store.connection()
        by = "max(f.first_seen) DESC" if order == "recent" else "count(*) DESC"
        groups = db.execute(
            f"SELECT f.event_id, count(*), min(f.first_seen), max(f.first_seen) "
            f"FROM {_from(node)} WHERE {where} GROUP BY f.event_id "
            f"ORDER BY {by}, f.event_id LIMIT ?",
            [*params, limit],
        ).fetchall()
        if not groups:
            return []
        ids = [g[0] for g in groups]
        where += f" AND f.event_id IN ({','.join('?' * len(ids))})"
        params = [*params, *ids]
        first = {
            row[0]: row[1:]
            for row in db.execute(
                "SELECT e.event_id, e.id, items.title FROM (SELECT f.event_id, f.id, f.rowid, "
                "row_number() OVER (PARTITION BY f.event_id ORDER BY f.first_seen, f.id) AS n "
                f"FROM {_from(node)} WHERE {where}) AS e JOIN items ON items.rowid = e.rowid "
                "WHERE e.n = 1",
                params,
            )
        }
        sources: dict[str, list[str]] = {i: [] for i in ids}
        for event, source in db.execute(
            f"SELECT f.event_id, f.source_id FROM {_from(node)} WHERE {where} "
            "GROUP BY 1, 2 ORDER BY count(*) DESC, 2",
            params,
        ):
            sources[event].append(source)
        rules: dict[str, list[str]] = {i: [] for i in ids}
        for event, rule in db.execute(
            f"SELECT f.event_id, j.value FROM {_from(node)}, json_each(f.rules) AS j "
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
        field = f"f.{query.time_field}"
        if query.since:
            clauses.append(f"{field} >= ?")
            params.append(ms(query.since))
        if query.until:
            clauses.append(f"{field} < ?")
            params.append(ms(query.until))
        if query.sources:
            clauses.append(f"f.source_id IN ({','.join('?' * len(query.sources))})")
            params.extend(query.sources)
        for name, wanted in (("tags", query.tags), ("rules", query.rules)):
            if wanted:
                clauses.append(
                    f"EXISTS (SELECT 1 FROM json_each(f.{name}) "
                    f"WHERE value IN ({','.join('?' * len(wanted))}))"
                )
                params.extend(wanted)
        if query.event_id:
            clauses.append("f.event_id = ?")
            params.append(query.event_id)
        if query.backfill is not None:
            clauses.append("f.backfill = ?")
            params.append(int(query.backfill))
        return " AND ".join(clauses), params

    def _item(self, row: tuple[Any, ...]) -> Item:
        values = dict(zip(("id", *_FIELDS, "version"), row, strict=True))
        stored_id = values.pop("id")
        for name in _TIMES:
            values[name] = self.store.to_local(values[name])
        for name in _JSON:
            values[name] = json.loads(values[name])
        values["version"] = str(values["version"])
        for name in _BOOLS:
            values[name] = bool(values[name])
        values["negative"] = float(values["negative"])
        return with_id(Item(**values), stored_id)

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
        elif name in _BOOLS:
            value = int(value)
        elif name in _JSON:
            value = json_list(value)
        values.append(value)
    values.append(1)
    return tuple(values)


def fact_token(fact: str) -> str:
    """A fact (``region:500152``) as one token of the full-text index's ``facts`` column
    (letters and digits only, which the tokenizer keeps whole): ``xr500152``."""
    kind, _, value = fact.partition(":") if ">=" not in fact else fact.partition(">=")
    prefix = {"region": "xr", "region.primary": "xp", "sentiment": "xs", "negative": "xn"}[kind]
    return prefix + value.replace("-", "x").replace(".", "")


def _fact_text(regions: str, primary: str, sentiment: str, negative: float) -> str:
    names = facts(json.loads(regions), json.loads(primary), sentiment, negative)
    return " ".join(fact_token(f) for f in names)


def _item_fact_text(item: Item) -> str:
    names = facts(item.regions, item.region_primary, item.sentiment, item.negative)
    return " ".join(fact_token(f) for f in names)


def _prefixed() -> str:
    return ", ".join(f"items.{c.strip()}" for c in _COLUMNS.split(","))


def _from(node: Node | None) -> str:
    if node is None:
        return "item_facts AS f"
    return "items_fts JOIN item_facts AS f ON f.rowid = items_fts.rowid"


def _order(query: ItemQuery, node: Node | None) -> str:
    direction = "DESC" if query.descending else "ASC"
    if query.sort == "relevance" and node is not None:
        # bm25() is lower for better matches.
        return f"bm25(items_fts) {'ASC' if query.descending else 'DESC'}, f.id"
    field = "f.first_seen" if query.sort == "relevance" else f"f.{query.sort}"
    return f"{field} IS NULL, {field} {direction}, f.id"


def _filtered(query: ItemQuery) -> bool:
    """Whether ``query`` narrows the items by anything but its words."""
    return bool(
        query.since
        or query.until
        or query.sources
        or query.tags
        or query.rules
        or query.event_id
        or query.backfill is not None
    )


def _facets(
    per_day: Counter[str],
    per_source: Counter[str],
    per_rule: Counter[str],
    per_region: Counter[str],
) -> Facets:
    return Facets(
        dict(sorted(per_day.items())),
        _most(per_source),
        _most(per_rule),
        dict(list(_most(per_region).items())[:REGION_FACETS]),
    )


def _most(counts: Counter[str]) -> dict[str, int]:
    """Most first, then by key (as Elasticsearch's buckets are ordered here too)."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


_SLOT_MS = 15 * 60 * 1000  # every time zone's offset is a multiple of 15 minutes


def _phrase(text: str, *, whole: bool = False) -> str:
    """``text`` as an FTS5 phrase of :func:`store.text.han_bigrams` tokens."""
    if not any(ch.isalnum() for ch in text):
        raise QueryError(f"{text!r} has no letters or digits to search for", "q")
    tokens = phrase_tokens(text, whole=whole)
    quoted = '"' + " ".join(tokens.tokens).replace('"', '""') + '"'
    return quoted + " *" if tokens.prefix else quoted


def _near_sides(node: Node) -> list[str]:
    if isinstance(node, Or):
        return [w for c in node.children for w in _near_sides(c)]
    assert isinstance(node, Word)
    return [node.text]


def _near(a: str, b: str, distance: int, columns: str) -> str:
    """NEAR over bigram tokens with the distance counted in characters. A phrase of a
    word ending in two Han characters ends one token early; if both words do, the
    distance grows by one, else such a word is taken whole (its last character as a
    prefix token), so either order of the two measures the same."""
    short = {w: phrase_tokens(w).short_end for w in (a, b)}
    if short[a] and short[b]:
        return f"{{{columns}}} : NEAR({_phrase(a)} {_phrase(b)}, {distance + 1})"
    return f"{{{columns}}} : NEAR({_phrase(a, whole=True)} {_phrase(b, whole=True)}, {distance})"


def to_fts(node: Node, prefix: str = "") -> str:
    """Compile an expression into an FTS5 MATCH string over ``<prefix>title`` and
    ``<prefix>body``. Every word becomes a quoted phrase, so nothing a user types can
    act as FTS5 syntax."""
    if isinstance(node, Fact):
        return f'{{facts}} : "{fact_token(node.name)}"'
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
        _near(a, b, node.distance, columns)
        for a in _near_sides(node.left)
        for b in _near_sides(node.right)
    ]
    return "(" + " OR ".join(pairs) + ")"

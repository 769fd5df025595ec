"""What each backend does on its own: bad existing data, unreachable servers."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from store import SchemaMismatch, StoreError, StoreUnavailable, open_store


def test_sqlite_refuses_a_file_of_another_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "y.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(SchemaMismatch, match="schema version 99"):
        open_store(f"sqlite:///{path}")


def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "y.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreUnavailable, match=str(path)):
        open_store(f"sqlite:///{path}")
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_unknown_store_url() -> None:
    with pytest.raises(StoreError, match="unknown store URL"):
        open_store("ftp://example/x")


def test_unreachable_elasticsearch_names_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=url):
        open_store(url, wait_seconds=1.0)
    assert time.monotonic() - started < 20


def test_elasticsearch_refuses_an_incompatible_mapping(es_url: str, es_prefix: str) -> None:
    client = Elasticsearch(es_url)
    index = f"{es_prefix}items-v1"
    client.indices.create(
        index=index,
        mappings={"properties": {"title": {"type": "keyword"}}},
        aliases={f"{es_prefix}items": {}},
    )
    client.index(index=index, id="keep", document={"title": "已有数据"}, refresh=True)
    with pytest.raises(SchemaMismatch, match="'title' is keyword"):
        open_store(es_url, prefix=es_prefix)
    assert client.get(index=index, id="keep")["_source"] == {"title": "已有数据"}
    assert client.indices.get_mapping(index=index)[index]["mappings"]["properties"] == {
        "title": {"type": "keyword"}
    }
    client.close()


def test_elasticsearch_adds_missing_fields_to_an_older_index(es_url: str, es_prefix: str) -> None:
    client = Elasticsearch(es_url)
    index = f"{es_prefix}items-v1"
    client.indices.create(
        index=index,
        mappings={"properties": {"title": {"type": "text"}}},
        aliases={f"{es_prefix}items": {}},
    )
    store = open_store(es_url, prefix=es_prefix)
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["event_id"] == {"type": "keyword"}
    store.close()
    client.close()


def test_local_node_is_real_elasticsearch(es_url: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{es_url}/_cluster/health") as response:
        assert response.headers["X-Elastic-Product"] == "Elasticsearch"


def test_sqlite_audit_rows_cannot_be_changed_even_by_sql(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from store.model import AuditEntry

    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    store.audit.append(AuditEntry("a", "x", "t", datetime.now(UTC)))
    store.close()
    with sqlite3.connect(tmp_path / "y.db") as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit SET actor = 'b'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM audit")


def test_sqlite_file_of_an_earlier_yuqing_gets_its_indexes_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import UTC, datetime

    from store import Item, ItemQuery
    from store.text import han_spaced

    path = tmp_path / "y.db"
    store = open_store(f"sqlite:///{path}")
    items = [
        Item(
            url=f"http://t.example/{n}",
            title=f"潼南第{n}条",
            body="双江镇一民房起火，消防赶到。" if n % 2 else "今天天气晴朗。",
            first_seen=datetime(2026, 1, 1, n, tzinfo=UTC),
            source_id=f"s{n % 3}",
            rules=["火情"] if n % 2 else [],
        )
        for n in range(10)
    ]
    store.items.upsert_many(items)
    store.close()
    # What an earlier yuqing left: single-character tokens and no item_facts.
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER items_facts_insert")
        db.execute("DROP TRIGGER items_facts_update")
        db.execute("DROP TABLE item_facts")
        db.execute("DELETE FROM meta WHERE key = 'fts'")
        db.execute("INSERT INTO items_fts(items_fts) VALUES ('delete-all')")
        rows = db.execute("SELECT rowid, title, body, norm_title, norm_body FROM items")
        db.executemany(
            "INSERT INTO items_fts(rowid, title, body, norm_title, norm_body) "
            "VALUES (?, ?, ?, ?, ?)",
            [(r[0], *(han_spaced(t) for t in r[1:])) for r in rows.fetchall()],
        )
    with caplog.at_level("WARNING"):
        store = open_store(f"sqlite:///{path}")
    assert "rebuilding the full-text index: 10 of 10 items" in caplog.text
    assert store.items.count() == 10
    assert store.items.search(ItemQuery(q="起火")).total == 5
    assert store.items.search(ItemQuery(q="双江镇 NEAR/3 起火")).total == 5
    assert store.items.search(ItemQuery(q="潼")).total == 10
    result, facets = store.items.search_with_facets(ItemQuery(q="民房"))
    assert result.total == 5 and facets.per_rule == {"火情": 5}
    assert facets.per_source == {"s1": 2, "s0": 2, "s2": 1}
    store.close()
    caplog.clear()
    with caplog.at_level("WARNING"):
        open_store(f"sqlite:///{path}").close()
    assert "rebuilding" not in caplog.text  # once only

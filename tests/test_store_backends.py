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

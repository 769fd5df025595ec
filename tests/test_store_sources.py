"""The crawl source registry: the contract, on both backends."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from elasticsearch import Elasticsearch

from store import ConflictError, Store, open_store
from store.codec import to_doc
from store.elastic.sources import SOURCE_MAPPING
from store.model import AuditEntry, Source

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)


def source(ident: str = "tn-news", **changes: object) -> Source:
    values: dict[str, object] = {
        "id": ident,
        "name": "潼南新闻网",
        "type": "list",
        "start_urls": ["http://127.0.0.1:8600/news/"],
        "interval": 600,
        "tags": ["news"],
        "region": "潼南区",
        "selectors": {"links": "ul.list a::attr(href)"},
    }
    return Source(**(values | changes))  # type: ignore[arg-type]


def test_sources_round_trip(store: Store) -> None:
    assert store.sources.list() == [] and store.sources.get("x") is None
    saved = store.sources.put(source(encoding="gbk"))
    assert saved.version
    store.sources.put(source("a-feed", type="feed", tags=["feed", "news"], enabled=False))
    got = store.sources.get("tn-news")
    assert got is not None and got.version == saved.version
    assert got.selectors == {"links": "ul.list a::attr(href)"} and got.encoding == "gbk"
    assert got.start_urls == ["http://127.0.0.1:8600/news/"] and got.region == "潼南区"
    assert [s.id for s in store.sources.list()] == ["a-feed", "tn-news"]
    assert not store.sources.list()[0].enabled


def test_emergency_fields_keep_their_zone(store: Store) -> None:
    store.sources.put(source(emergency_interval=60, emergency_until=T0))
    got = store.sources.get("tn-news")
    assert got is not None and got.emergency_until == T0 and got.emergency_interval == 60
    assert got.effective_interval(T0 - timedelta(minutes=1)) == 60
    assert got.effective_interval(T0) == 600


def test_a_stale_version_is_a_conflict(store: Store) -> None:
    first = store.sources.put(source())
    stale = first.version
    store.sources.put(source(interval=300, version=first.version))
    with pytest.raises(ConflictError):
        store.sources.put(source(interval=60, version=stale))
    got = store.sources.get("tn-news")
    assert got is not None and got.interval == 300
    # Without a version a put replaces whatever is there.
    store.sources.put(source(interval=120))
    got = store.sources.get("tn-news")
    assert got is not None and got.interval == 120


def test_delete(store: Store) -> None:
    store.sources.put(source())
    assert store.sources.delete("tn-news")
    assert not store.sources.delete("tn-news")
    assert store.sources.get("tn-news") is None


def test_render_and_allow_private_round_trip(store: Store) -> None:
    plain = store.sources.put(source())
    got = store.sources.get(plain.id)
    assert got is not None and (got.render, got.allow_private) == (False, False)
    store.sources.put(source("js", render=True, allow_private=True))
    got = store.sources.get("js")
    assert got is not None and (got.render, got.allow_private) == (True, True)
    assert [(s.id, s.render) for s in store.sources.list()] == [("js", True), ("tn-news", False)]


def _legacy(ident: str, url: str) -> dict[str, object]:
    """A source as an earlier yuqing stored it: no ``render``, no ``allow_private``."""
    doc = to_doc(source(ident, start_urls=[url]))
    for name in ("render", "allow_private", "version"):
        doc.pop(name, None)
    return doc


def _audit_earlier(store: Store) -> None:
    """The audit an earlier yuqing wrote: the permission for private hosts was noted in
    the entry only. ``oa`` was allowed for its host; ``moved`` was allowed for a host it
    no longer starts from; ``news`` never was."""
    for ident, url, allowed in (
        ("oa", "http://oa.example/list/", True),
        ("moved", "http://old.example/list/", True),
        ("news", "http://news.example/list/", False),
    ):
        after = _legacy(ident, url) | ({"allow_private": True} if allowed else {})
        store.audit.append(
            AuditEntry("管理员", "source.create", f"source:{ident}", T0, None, after)
        )


LEGACY = {
    "oa": "http://oa.example/list/",
    "moved": "http://www.example/list/",
    "news": "http://news.example/list/",
}


def _check_migrated(store: Store) -> None:
    got = {s.id: (s.render, s.allow_private) for s in store.sources.list()}
    assert got == {"moved": (False, False), "news": (False, False), "oa": (False, True)}
    oa = store.sources.get("oa")
    assert oa is not None and oa.start_urls == [LEGACY["oa"]]


def test_sqlite_sources_of_an_earlier_yuqing_get_the_fields_from_the_audit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "yuqing.db"
    store = open_store(f"sqlite:///{path}")
    _audit_earlier(store)
    with store.transaction() as db:  # type: ignore[attr-defined]
        for ident, url in LEGACY.items():
            doc = json.dumps(_legacy(ident, url), ensure_ascii=False)
            db.execute("INSERT INTO sources VALUES (?, ?, 1)", (ident, doc))
    store.close()
    store = open_store(f"sqlite:///{path}")
    try:
        _check_migrated(store)
        stored = store.connection().execute("SELECT doc FROM sources WHERE id = 'oa'")  # type: ignore[attr-defined]
        assert json.loads(stored.fetchone()[0])["allow_private"] is True, "written back"
    finally:
        store.close()


def test_elasticsearch_sources_of_an_earlier_yuqing_get_the_fields_from_the_audit(
    es_url: str, es_prefix: str
) -> None:
    es = Elasticsearch(es_url)
    old = dict(SOURCE_MAPPING, properties=dict(SOURCE_MAPPING["properties"]))
    del old["properties"]["render"], old["properties"]["allow_private"]
    alias = f"{es_prefix}sources"
    es.indices.create(index=f"{alias}-v1", mappings=old, aliases={alias: {}})
    for ident, url in LEGACY.items():
        es.index(index=alias, id=ident, document=_legacy(ident, url), refresh=True)
    store = open_store(es_url, prefix=es_prefix, refresh=True)
    try:
        _audit_earlier(store)
        _check_migrated(store)
        mapping = es.indices.get_mapping(index=alias)[f"{alias}-v1"]["mappings"]["properties"]
        assert mapping["render"]["type"] == mapping["allow_private"]["type"] == "boolean"
        assert es.get(index=alias, id="oa")["_source"]["allow_private"] is True
    finally:
        store.close()
        es.close()


def test_every_source_is_listed_however_many(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Elasticsearch lists page by page (one search stops at 10,000 hits): small pages here.
    monkeypatch.setattr("store.elastic.sources.PAGE", 3)
    ids = [f"s{n:02d}" for n in range(7)]
    for ident in reversed(ids):
        store.sources.put(source(ident))
    assert [s.id for s in store.sources.list()] == ids
    store.sources.delete("s03")  # six: two full pages, then an empty one
    listed = store.sources.list()
    assert [s.id for s in listed] == [i for i in ids if i != "s03"]
    assert all(s.version for s in listed)

"""The crawl source registry: the contract, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store import ConflictError, Store
from store.model import Source

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

"""Items in time-based indices on the real Elasticsearch node: rollover never doubles an
item, retention drops whole generations, and a single-index installation migrates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from store import Item, ItemQuery, open_store
from store.elastic import ElasticStore
from store.elastic.common import SCHEMA_VERSION
from store.elastic.generations import Lifecycle, MigrationReport
from store.elastic.items import ITEM_MAPPING, _doc

NOW = datetime.now(UTC).replace(microsecond=0)
KEEP_ALL = Lifecycle(retention_days=0)  # tests of rollover and migration: nothing expires


def make(n: int, first_seen: datetime, title: str = "") -> Item:
    return Item(
        url=f"http://news.example.cn/g/{n}.html",
        title=title or f"第{n}条新闻",
        body="潼南区今天天气晴朗。",
        first_seen=first_seen,
        source_id="news",
    )


def open_es(url: str, prefix: str, **kw: Any) -> ElasticStore:
    store = open_store(url, prefix=prefix, refresh=True, **kw)
    assert isinstance(store, ElasticStore)
    return store


def total(store: ElasticStore, q: str = "") -> int:
    return store.items.search(ItemQuery(q=q, size=1)).total


def test_rollover_keeps_one_copy_of_each_item(es_url: str, es_prefix: str) -> None:
    store = open_es(es_url, es_prefix, lifecycle=KEEP_ALL)
    gens = store.items.generations
    assert gens.members().write == f"{es_prefix}items-v{SCHEMA_VERSION}-000001"
    first = [make(n, NOW - timedelta(hours=n)) for n in range(5)]
    store.items.upsert_many(first)
    assert gens.rollover() is None  # a new generation is not due yet
    second = gens.rollover(force=True)
    assert second == f"{es_prefix}items-v{SCHEMA_VERSION}-000002"
    assert gens.members().write == second

    # Seen again after the rollover: updated where it is, first_seen kept.
    again = make(2, NOW, title="第2条新闻（更新）")
    again.rules = ["r1"]
    store.items.upsert_many([again, make(9, NOW)])
    assert store.items.count() == 6
    assert total(store, "更新") == 1
    got = store.items.get(again.id)
    assert got is not None and got.title == "第2条新闻（更新）"
    assert got.first_seen == NOW - timedelta(hours=2)
    changed = store.items.update(again.id, {"tags": ["checked"]}, got.version or "")
    assert changed.tags == ["checked"] and changed.rules == ["r1"]
    client = Elasticsearch(es_url)
    assert client.count(index=second)["count"] == 1  # only the new item
    client.close()
    # A page's id must never be in two generations, whatever the order of events.
    assert len(store.items.search(ItemQuery(size=100)).hits) == 6
    store.close()


def test_retention_drops_old_generations_but_never_the_write_one(
    es_url: str, es_prefix: str
) -> None:
    store = open_es(es_url, es_prefix, lifecycle=Lifecycle(retention_days=30))
    gens = store.items.generations
    store.items.upsert_many([make(n, NOW - timedelta(days=40 + n)) for n in range(3)])
    assert gens.maintain(NOW) == {"rolled_over": None, "deleted": []}  # write generation
    old = gens.members().write
    assert gens.rollover(force=True)
    store.items.upsert_many([make(10, NOW - timedelta(days=1))])
    assert gens.maintain(NOW - timedelta(days=15))["deleted"] == []  # not yet past 30 days
    assert gens.maintain(NOW)["deleted"] == [old]
    assert store.items.count() == 1
    assert [f.item.url for f in store.items.search(ItemQuery(size=10)).hits] == [make(10, NOW).url]
    store.close()


def _legacy(es_url: str, prefix: str, items: list[Item]) -> str:
    """The layout of a yuqing from before generations: one index behind the alias."""
    client = Elasticsearch(es_url)
    index = f"{prefix}items-v{SCHEMA_VERSION}"
    client.indices.create(index=index, mappings=ITEM_MAPPING, aliases={f"{prefix}items": {}})
    ops: list[dict[str, Any]] = []
    for item in items:
        ops += [{"create": {"_index": index, "_id": item.id}}, _doc(item)]
    client.bulk(operations=ops, refresh=True)
    client.close()
    return index


def test_single_index_installation_migrates_resumably(es_url: str, es_prefix: str) -> None:
    months = [datetime(2026, m, 10, tzinfo=UTC) for m in (3, 4, 5)]
    items = [make(n, months[n % 3] + timedelta(hours=n)) for n in range(45)]
    legacy = _legacy(es_url, es_prefix, items)
    store = open_es(es_url, es_prefix, lifecycle=KEEP_ALL)
    assert store.items.count() == 45  # it works as it is
    assert "yuqing store migrate" in " ".join(store.health().get("warnings", []))

    # A run that stops after two batches, as if killed.
    seen: list[tuple[int, int]] = []

    def progress(report: MigrationReport) -> None:
        seen.append((report.moved, report.left))

    report = store.items.generations.migrate(batch=10, max_batches=2, progress=progress)
    assert (report.moved, report.left, report.done) == (20, 25, False)
    assert seen == [(10, 35), (20, 25)]
    assert store.items.count() == 45 and total(store, "潼南") == 45

    # Writers go on meanwhile: an item still in the old index, one already moved, one new.
    client = Elasticsearch(es_url)
    still = next(i for i in items if client.exists(index=legacy, id=i.id))
    moved = next(i for i in items if not client.exists(index=legacy, id=i.id))
    # A copy left behind by a run killed between copying and deleting.
    left_copy = next(i for i in items if client.exists(index=legacy, id=i.id) and i != still)
    archive = store.items.generations.archive_name(_doc(left_copy)["first_seen"])
    if not client.indices.exists(index=archive):
        client.indices.create(index=archive, mappings=ITEM_MAPPING)
        client.indices.update_aliases(
            actions=[{"add": {"index": archive, "alias": f"{es_prefix}items"}}]
        )
    client.index(index=archive, id=left_copy.id, document=_doc(left_copy), refresh=True)
    for item, title in ((still, "旧索引中更新"), (moved, "已迁移后更新")):
        store.items.upsert_many([make(int(item.url.split("/")[-1][:-5]), NOW, title=title)])
    store.items.upsert_many([make(100, NOW, title="迁移期间新增")])

    again = open_es(es_url, es_prefix, lifecycle=KEEP_ALL)
    report = again.items.generations.migrate(batch=10)
    assert report.done and report.left == 0
    assert not client.indices.exists(index=legacy)
    assert report.archives == [
        f"{es_prefix}items-v{SCHEMA_VERSION}-archive-2026-{m:02d}" for m in (3, 4, 5)
    ]
    assert again.items.count() == 46
    assert len(again.items.search(ItemQuery(size=100)).hits) == 46
    for title in ("旧索引中更新", "已迁移后更新", "迁移期间新增"):
        assert total(again, title) == 1, title
    got = again.items.get(still.id)
    assert got is not None and got.first_seen == still.first_seen
    assert "warnings" not in again.health()
    assert again.items.generations.migrate().done  # nothing left: a no-op
    client.close()
    store.close()
    again.close()

"""The items contract: every test runs on SQLite and on the real Elasticsearch node."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store import (
    ConflictError,
    Item,
    ItemQuery,
    NotFound,
    QueryError,
    SearchResult,
    Store,
    item_id,
)
from store.elastic import ElasticStore

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)


def make(n: int, title: str = "", body: str = "", **kw: object) -> Item:
    fields: dict[str, object] = {
        "url": f"http://news.example.cn/a/{n}.html",
        "title": title or f"第{n}条新闻",
        "body": body or "今天天气晴朗。",
        "first_seen": T0 + timedelta(minutes=n),
        "source_id": "news",
    }
    fields.update(kw)
    return Item(**fields)  # type: ignore[arg-type]


def ids(store: Store, q: str = "", **kw: object) -> list[str]:
    result = store.items.search(ItemQuery(q=q, size=100, **kw))  # type: ignore[arg-type]
    return sorted(found.item.url.rsplit("/", 1)[1].split(".")[0] for found in result.hits)


def test_upsert_and_get_round_trip(store: Store) -> None:
    item = make(
        1,
        "潼南区发布疫情防控通告",
        "全区各镇街加强防控。",
        author="张三",
        site_source="潼南日报",
        publish_time=datetime(2021, 2, 5, 9, 0, tzinfo=SH),
        tags=["news", "gov"],
        rules=["r1"],
        hits=[{"word": "疫情", "start": 5, "end": 7}],
        event_id="e1",
    )
    assert store.items.upsert_many([item]) == 1
    got = store.items.get(item.id)
    assert got is not None
    assert (got.title, got.body, got.author, got.site_source) == (
        item.title,
        item.body,
        "张三",
        "潼南日报",
    )
    assert got.publish_time == item.publish_time
    assert got.publish_time is not None and got.publish_time.utcoffset() == timedelta(hours=8)
    assert got.first_seen == item.first_seen
    assert (got.tags, got.rules, got.hits, got.event_id) == (
        ["news", "gov"],
        ["r1"],
        item.hits,
        "e1",
    )
    assert got.version
    assert store.items.get("nope") is None


def test_reindexing_never_duplicates_and_keeps_first_seen(store: Store) -> None:
    first = Item(url="http://a.cn/x?b=2&a=1#top", title="旧标题", body="正文", first_seen=T0)
    store.items.upsert_many([first])
    again = Item(
        url="http://a.cn/x?a=1&b=2", title="新标题", body="正文", first_seen=T0 + timedelta(days=1)
    )
    assert again.id == first.id == item_id("http://a.cn/x?a=1&b=2")
    store.items.upsert_many([again, again])
    assert store.items.count() == 1
    got = store.items.get(first.id)
    assert got is not None
    assert got.title == "新标题"
    assert got.first_seen == T0
    assert ids(store, "旧标题") == []
    assert len(store.items.search(ItemQuery(q="新标题")).hits) == 1


def test_chinese_search_is_substring_search(store: Store) -> None:
    store.items.upsert_many(
        [make(1, body="近日潼南区发生疫情扩散。"), make(2, body="疫苗接种情况良好。")]
    )
    assert ids(store, "疫情") == ["1"]
    assert ids(store, "情扩") == ["1"]
    assert ids(store, "发生疫情扩散") == ["1"]
    assert ids(store, "疫扩") == []
    assert ids(store, "疫") == ["1", "2"]


def test_latin_words_match_whole_words_case_insensitively(store: Store) -> None:
    store.items.upsert_many([make(1, body="a new Mac arrived"), make(2, body="machine room")])
    assert ids(store, "mac") == ["1"]
    assert ids(store, "MAC") == ["1"]


def test_boolean_operators_and_scope(store: Store) -> None:
    store.items.upsert_many(
        [
            make(1, "潼南疫情通报", "新增确诊病例一例。"),
            make(2, "潼南火灾", "双江镇一民房起火。"),
            make(3, "消防演练", "潼南区开展火灾演练。"),
            make(4, "天气预报", "明天小雨，潼南气温下降。"),
        ]
    )
    assert ids(store, "潼南 火灾") == ["2", "3"]
    assert ids(store, "潼南 AND 火灾") == ["2", "3"]
    assert ids(store, "疫情 OR 起火") == ["1", "2"]
    assert ids(store, "潼南 火灾 NOT 演练") == ["2"]
    assert ids(store, "title:火灾") == ["2"]
    assert ids(store, "body:(火灾 OR 确诊)") == ["1", "3"]
    assert ids(store, "title:潼南 NOT body:起火") == ["1"]
    assert ids(store, "(疫情 OR 火灾) 潼南 NOT (演练 OR 天气)") == ["1", "2"]


def test_near_counts_characters_between_at_the_boundary(store: Store) -> None:
    store.items.upsert_many([make(1, body="潼南区双江镇火灾"), make(2, body="火灾发生在潼南")])
    # 潼南 ... 火灾 in item 1 has four characters between (区双江镇).
    assert ids(store, "潼南 NEAR/4 火灾") == ["1", "2"]
    assert ids(store, "潼南 NEAR/3 火灾") == ["2"]
    assert ids(store, "潼南 NEAR/2 (火灾 OR 疫情)") == []
    assert ids(store, "title:(潼南 NEAR/10 火灾)") == []


def test_highlight_marks_matches_and_escapes_markup(store: Store) -> None:
    store.items.upsert_many(
        [make(1, "<script>alert(1)</script>疫情", "关于疫情的通报<img src=x onerror=alert(1)>")]
    )
    found = store.items.search(ItemQuery(q="疫情")).hits[0]
    assert any("<mark>疫情</mark>" in f for f in found.highlights["title"])
    assert any("<mark>疫情</mark>" in f for f in found.highlights["body"])
    joined = "".join(found.highlights["title"] + found.highlights["body"])
    assert "<script>" not in joined and "<img" not in joined
    assert "&lt;script&gt;" in joined
    no_marks = store.items.search(ItemQuery(q="疫情", highlight=False)).hits[0]
    assert no_marks.highlights == {}


def test_filters(store: Store) -> None:
    store.items.upsert_many(
        [
            make(
                1,
                body="疫情",
                source_id="gov",
                tags=["gov"],
                rules=["r1"],
                event_id="e1",
                publish_time=T0 - timedelta(days=3),
            ),
            make(
                2,
                body="疫情",
                source_id="news",
                tags=["news"],
                rules=["r2"],
                publish_time=T0 - timedelta(days=1),
            ),
            make(3, body="疫情", source_id="bbs", tags=["forum", "news"], event_id="e1"),
        ]
    )
    assert ids(store, "疫情", sources=["gov", "bbs"]) == ["1", "3"]
    assert ids(store, tags=["news"]) == ["2", "3"]
    assert ids(store, rules=["r1", "r2"]) == ["1", "2"]
    assert ids(store, event_id="e1") == ["1", "3"]
    window = {"since": T0 - timedelta(days=2), "until": T0, "time_field": "publish_time"}
    assert ids(store, "疫情", **window) == ["2"]
    assert ids(store, since=T0 + timedelta(minutes=2)) == ["2", "3"]
    assert ids(store, until=T0 + timedelta(minutes=2)) == ["1"]


def test_sort_and_pagination(store: Store) -> None:
    store.items.upsert_many(
        [make(n, publish_time=T0 + timedelta(hours=n) if n % 3 else None) for n in range(1, 26)]
    )
    newest = store.items.search(ItemQuery(sort="first_seen", size=10))
    assert newest.total == 25
    assert [f.item.url for f in newest.hits][:2] == [make(25).url, make(24).url]
    pages = [
        store.items.search(ItemQuery(sort="publish_time", size=10, page=p)).hits for p in (1, 2, 3)
    ]
    urls = [f.item.url for page in pages for f in page]
    assert len(urls) == len(set(urls)) == 25
    times = [f.item.publish_time for page in pages for f in page]
    dated = [t for t in times if t is not None]
    assert dated == sorted(dated, reverse=True)
    assert times[-8:] == [None] * 8  # items with no publish time come last
    oldest = store.items.search(ItemQuery(sort="first_seen", descending=False, size=1))
    assert oldest.hits[0].item.url == make(1).url


def test_relevance_ranks_the_better_match_first(store: Store) -> None:
    store.items.upsert_many(
        [make(1, "天气", "晴。" * 50 + "疫情"), make(2, "疫情通报", "疫情疫情疫情，防控疫情。")]
    )
    result = store.items.search(ItemQuery(q="疫情"))
    assert [f.item.url for f in result.hits] == [make(2).url, make(1).url]
    assert result.hits[0].score is not None and result.hits[0].score > 0


def test_counts_per_day_in_local_time_and_per_source(store: Store) -> None:
    late = datetime(2021, 2, 5, 23, 30, tzinfo=SH)  # 15:30 UTC, still the 5th in Shanghai
    early = datetime(2021, 2, 6, 0, 30, tzinfo=SH)  # 16:30 UTC on the 5th, the 6th here
    store.items.upsert_many(
        [
            make(1, first_seen=late, source_id="gov", body="疫情"),
            make(2, first_seen=early, source_id="news", body="疫情"),
            make(3, first_seen=early + timedelta(hours=1), source_id="news", body="火灾"),
        ]
    )
    facets = store.items.facets(ItemQuery())
    assert facets.per_day == {"2021-02-05": 1, "2021-02-06": 2}
    assert facets.per_source == {"news": 2, "gov": 1}
    assert list(facets.per_source) == ["news", "gov"]
    assert store.items.facets(ItemQuery(q="疫情")).per_source == {"gov": 1, "news": 1}
    for query in (ItemQuery(), ItemQuery(q="疫情", size=1), ItemQuery(q="疫情", page=2, size=1)):
        result, together = store.items.search_with_facets(query)
        alone = store.items.search(query)
        assert (result.total, [f.item.id for f in result.hits]) == (
            alone.total,
            [f.item.id for f in alone.hits],
        )
        assert [f.highlights for f in result.hits] == [f.highlights for f in alone.hits]
        assert together == store.items.facets(query)


def test_a_count_limit_describes_the_newest_matches(store: Store) -> None:
    """Past ``count_limit`` matches a search on SQLite says so and ranks, counts and
    facets the newest of them (by first sight); up to it, and always on Elasticsearch,
    the answer is the one without a limit."""
    items = [
        make(n, source_id="gov" if n % 2 else "news", body="疫情" * (6 if n in (2, 8) else 1))
        for n in range(1, 11)
    ] + [make(n, body="火灾") for n in (11, 12)]
    store.items.upsert_many(items)

    def shown(result: SearchResult) -> list[int]:
        return [int(f.item.url.rsplit("/", 1)[1].split(".")[0]) for f in result.hits]

    everything = store.items.search_with_facets(ItemQuery(q="疫情", size=100))
    assert (everything[0].total, everything[0].exact) == (10, True)
    assert shown(everything[0])[0] in (2, 8)
    for limit in (10, 50):
        result, facets = store.items.search_with_facets(
            ItemQuery(q="疫情", size=100, count_limit=limit)
        )
        assert (result.total, result.exact, shown(result)) == (10, True, shown(everything[0]))
        assert facets == everything[1]

    query = ItemQuery(q="疫情", size=100, count_limit=4)
    result, facets = store.items.search_with_facets(query)
    alone = store.items.search(query)
    if isinstance(store, ElasticStore):  # counts every match as fast: exact always
        assert (result.total, result.exact, shown(result)) == (10, True, shown(everything[0]))
        assert (alone.total, alone.exact, facets) == (10, True, everything[1])
        return
    assert (result.total, result.exact) == (alone.total, alone.exact) == (4, False)
    assert shown(result) == shown(alone)
    assert shown(result)[0] == 8 and sorted(shown(result)) == [7, 8, 9, 10]
    assert facets == store.items.facets(query)
    assert facets.per_source == {"gov": 2, "news": 2}
    assert sum(facets.per_day.values()) == 4
    pages = [
        shown(store.items.search(ItemQuery(q="疫情", size=2, page=p, count_limit=4)))
        for p in (1, 2, 3)
    ]
    assert sorted(pages[0] + pages[1]) == [7, 8, 9, 10] and pages[2] == []
    # Filters are tested on every match anyway: such searches are counted in full.
    gov = store.items.search(ItemQuery(q="疫情", sources=["gov"], size=100, count_limit=2))
    assert (gov.total, gov.exact, sorted(shown(gov))) == (5, True, [1, 3, 5, 7, 9])
    newest = store.items.search(ItemQuery(sort="first_seen", count_limit=3))
    assert (newest.total, newest.exact, shown(newest)) == (3, False, [12, 11, 10])


def test_optimistic_concurrency(store: Store) -> None:
    store.items.upsert_many([make(1)])
    item = store.items.get(make(1).id)
    assert item is not None and item.version is not None
    updated = store.items.update(item.id, {"tags": ["checked"]}, item.version)
    assert updated.tags == ["checked"] and updated.version != item.version
    with pytest.raises(ConflictError):
        store.items.update(item.id, {"tags": ["late"]}, item.version)
    with pytest.raises(NotFound):
        store.items.update(make(99).id, {"tags": ["x"]}, item.version)
    with pytest.raises(QueryError):
        store.items.update(item.id, {"title": "x"}, updated.version or "")
    got = store.items.get(item.id)
    assert got is not None and got.tags == ["checked"] and got.first_seen == item.first_seen
    # Filters and facets see the change at once (SQLite keeps them in item_facts).
    moved = store.items.update(item.id, {"rules": ["r9"], "event_id": "e9"}, got.version or "")
    assert ids(store, tags=["checked"]) == ids(store, rules=["r9"]) == ["1"]
    assert store.items.facets(ItemQuery()).per_rule == {"r9": 1}
    assert [e.id for e in store.items.events(ItemQuery())] == ["e9"]
    assert moved.rules == ["r9"]


def test_racing_writers_one_wins(store: Store) -> None:
    store.items.upsert_many([make(1)])
    item = store.items.get(make(1).id)
    assert item is not None and item.version is not None
    outcomes: list[str] = []

    def write(tag: str) -> None:
        try:
            store.items.update(item.id, {"tags": [tag]}, item.version or "")
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "ok"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (ItemQuery(q="(疫情"), "q"),
        (ItemQuery(q="NOT 疫情"), "q"),
        (ItemQuery(q="@未知词组"), "q"),
        (ItemQuery(q='"，。"'), "q"),
        (ItemQuery(q="a NEAR/S b"), "q"),
        (ItemQuery(page=0), "page"),
        (ItemQuery(size=0), "size"),
        (ItemQuery(page=101, size=100), "page"),
        (ItemQuery(since=datetime(2021, 1, 1)), "since"),
        (ItemQuery(since=T0, until=T0), "since"),
        (ItemQuery(count_limit=0), "count_limit"),
        (ItemQuery(count_limit=10_001), "count_limit"),
    ],
)
def test_bad_queries_are_refused_with_the_field(store: Store, query: ItemQuery, field: str) -> None:
    with pytest.raises(QueryError) as info:
        store.items.search(query)
    assert info.value.field == field


def test_naive_times_are_refused_and_nothing_is_stored(store: Store) -> None:
    with pytest.raises(QueryError):
        store.items.upsert_many([make(1, first_seen=datetime(2021, 1, 1))])
    assert store.items.count() == 0


def test_bulk_upsert_of_many_items(store: Store) -> None:
    items = [make(n, body=f"第{n}号通报：潼南区疫情防控") for n in range(2500)]
    assert store.items.upsert_many(iter(items)) == 2500
    assert store.items.count() == 2500
    assert store.items.search(ItemQuery(q="第1234号")).total == 1


def test_normalised_text_and_fingerprints_are_kept(store: Store) -> None:
    item = make(1, "疫@情通报", norm_title="疫情通报", norm_body="正文", fingerprint=["k1", "k2"])
    store.items.upsert_many([item])
    got = store.items.get(item.id)
    assert got is not None
    assert (got.norm_title, got.norm_body, got.fingerprint) == ("疫情通报", "正文", ["k1", "k2"])


def test_find_similar_ranks_by_shared_keys_within_the_window(store: Store) -> None:
    store.items.upsert_many(
        [
            make(1, fingerprint=["a", "b", "c"]),
            make(2, fingerprint=["a"]),
            make(3, fingerprint=["x"]),
            make(4, fingerprint=["a", "b"], first_seen=T0 - timedelta(days=3)),
        ]
    )
    found = store.items.find_similar(["a", "b", "c", "a"], since=T0 - timedelta(days=1))
    assert [f.url for f in found] == [make(1).url, make(2).url]
    assert store.items.find_similar([], since=T0) == []
    # Re-storing an item replaces its keys.
    store.items.upsert_many([make(1, fingerprint=["z"])])
    assert [f.url for f in store.items.find_similar(["b"], since=T0)] == []


def test_normalized_queries_run_on_the_normalised_copies(store: Store) -> None:
    store.items.upsert_many(
        [
            make(1, "確診通报", "潼 南区", norm_title="确诊通报", norm_body="潼南区"),
            make(2, "确诊", "无", norm_title="x", norm_body="y"),
        ]
    )
    assert ids(store, "确诊", normalized=True) == ["1"]
    assert ids(store, "title:确诊 body:潼南", normalized=True) == ["1"]
    assert ids(store, "潼南 NEAR/0 区", normalized=True) == ["1"]
    assert ids(store, "确诊") == ["2"]
    found = store.items.search(ItemQuery(q="确诊", normalized=True)).hits
    assert found[0].highlights == {}


def test_counts_per_rule(store: Store) -> None:
    store.items.upsert_many(
        [
            make(1, body="疫情", rules=["疫情", "火灾"]),
            make(2, body="疫情", rules=["疫情"]),
            make(3, body="火灾", rules=[]),
        ]
    )
    assert list(store.items.facets(ItemQuery()).per_rule.items()) == [("疫情", 2), ("火灾", 1)]
    assert store.items.facets(ItemQuery(q="疫情", rules=["火灾"])).per_rule == {
        "疫情": 1,
        "火灾": 1,
    }


def test_events_group_items_under_the_query(store: Store) -> None:
    store.items.upsert_many(
        [
            make(1, "双江镇起火", "火灾", event_id=make(1).id, rules=["火灾"], source_id="gov"),
            make(2, "转载：双江镇起火", "火灾", event_id=make(1).id, rules=["火灾"]),
            make(3, "再转：双江镇起火", "火灾", event_id=make(1).id, rules=["火灾", "x"]),
            make(4, "疫情通报", "疫情", event_id=make(4).id, first_seen=T0 + timedelta(hours=5)),
            make(5, "无事件", "疫情"),
        ]
    )
    recent = store.items.events(ItemQuery())
    assert [(e.id, e.items) for e in recent] == [(make(4).id, 1), (make(1).id, 3)]
    fire = recent[1]
    assert (fire.title, fire.item_id) == ("双江镇起火", make(1).id)
    assert (fire.first_seen, fire.last_seen) == (
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=3),
    )
    assert fire.first_seen.utcoffset() == timedelta(hours=8)
    assert fire.sources == ["news", "gov"]
    assert fire.rules == ["火灾", "x"]
    assert store.items.events(ItemQuery(), order="size")[0].id == make(1).id
    assert [e.id for e in store.items.events(ItemQuery(), limit=1)] == [make(4).id]
    # Only the items the query matches count: the earliest matching title, its sources.
    later = store.items.events(ItemQuery(q="转", rules=["火灾"]))
    assert [(e.items, e.title, e.sources) for e in later] == [(2, "转载：双江镇起火", ["news"])]
    since = ItemQuery(since=T0 + timedelta(hours=1))
    assert [e.id for e in store.items.events(since)] == [make(4).id]
    assert store.items.events(ItemQuery(event_id="none")) == []
    with pytest.raises(QueryError) as refused:
        store.items.events(ItemQuery(), limit=0)
    assert refused.value.field == "limit"


def test_pages_of_equally_relevant_items_neither_skip_nor_repeat(store: Store) -> None:
    store.items.upsert_many([make(n, "同题报道", "潼南区召开会议。") for n in range(7)])
    store.items.upsert_many([make(10, "潼南潼南", "潼南区潼南镇。")])  # more relevant
    whole = [f.item.id for f in store.items.search(ItemQuery(q="潼南", size=10)).hits]
    paged = [
        f.item.id
        for page in (1, 2, 3)
        for f in store.items.search(ItemQuery(q="潼南", size=3, page=page)).hits
    ]
    assert paged == whole and len(set(whole)) == 8
    assert whole[0] == make(10).id
    backwards = store.items.search(ItemQuery(q="潼南", size=10, descending=False)).hits
    assert backwards[-1].item.id == make(10).id


def test_backfill_is_kept_from_first_sight_and_filtered(store: Store) -> None:
    old, news = make(1, backfill=True), make(2)
    store.items.upsert_many([old, news])
    got = store.items.get(old.id)
    assert got is not None and got.backfill
    # Crawled again (the crawler judges a known page afresh): the first judgement stays.
    store.items.upsert_many([make(1, title="第1条新闻（更新）"), make(2, backfill=True)])
    again, fresh = store.items.get(old.id), store.items.get(news.id)
    assert again is not None and again.backfill and again.title == "第1条新闻（更新）"
    assert fresh is not None and not fresh.backfill
    assert ids(store, backfill=True) == ["1"]
    assert ids(store, backfill=False) == ["2"]
    assert ids(store) == ["1", "2"]
    assert ids(store, "新闻", backfill=True) == ["1"]
    counted = store.items.search(ItemQuery(backfill=False, size=1, sources=["news"]))
    assert counted.total == 1


def test_find_similar_many_answers_each_query_as_find_similar(store: Store) -> None:
    store.items.upsert_many(
        [
            make(1, fingerprint=["a", "b", "c"]),
            make(2, fingerprint=["a"]),
            make(3, fingerprint=["x"]),
            make(4, fingerprint=["a", "b"], first_seen=T0 - timedelta(days=3)),
        ]
    )
    queries = [
        (["a", "b", "c", "a"], T0 - timedelta(days=1)),
        ([], T0),
        (["x", "zz"], T0 - timedelta(days=5)),
        (["nothing"], T0),
        (["a"], T0 - timedelta(days=5)),
    ]
    many = store.items.find_similar_many(queries)
    assert [[f.url for f in found] for found in many] == [
        [f.url for f in store.items.find_similar(keys, since)] for keys, since in queries
    ]
    assert [len(found) for found in many] == [2, 0, 1, 0, 3]
    assert [f.url for f in many[0]] == [make(1).url, make(2).url]
    assert store.items.find_similar_many([]) == []

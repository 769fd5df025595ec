"""The store's part in discovery, on both backends: scanning items by time (past the
10,000 a search page reaches), dismissed suggestions and the latest report."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store import Item, QueryError, Store
from store.model import DiscoveryReport, Dismissal

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=SH)


def _item(n: int, minutes: int, **kw: object) -> Item:
    fields: dict[str, object] = {
        "url": f"http://news.example.cn/d/{n}.html",
        "title": f"第{n}条",
        "body": "正文",
        "first_seen": T0 + timedelta(minutes=minutes),
        "source_id": "news" if n % 2 else "forum",
        "norm_title": f"第{n}条",
        "norm_body": "正文",
    }
    fields.update(kw)
    return Item(**fields)  # type: ignore[arg-type]


def test_scan_streams_a_half_open_span_oldest_first(store: Store) -> None:
    # More items than one scan batch (2000), in scrambled order, some outside the span.
    n = 4500
    items = [_item(i, (i * 7919) % n) for i in range(n)]
    items[0].rules, items[0].event_id = ["r1"], "e1"
    store.items.upsert_many(items)
    since, until = T0 + timedelta(minutes=100), T0 + timedelta(minutes=4400)
    got = list(store.items.scan(since, until))
    assert len(got) == 4300
    times = [g.first_seen for g in got]
    assert times == sorted(times) and times[0] == since and times[-1] < until
    assert {g.id for g in got} == {i.id for i in items if since <= i.first_seen < until}
    assert times[0].utcoffset() == timedelta(hours=8)
    first = next(g for g in store.items.scan(T0, T0 + timedelta(minutes=1)))
    assert (first.rules, first.event_id, first.norm_title, first.source_id) == (
        ["r1"],
        "e1",
        "第0条",
        "forum",
    )


def test_scan_refuses_a_span_that_is_not_one(store: Store) -> None:
    with pytest.raises(QueryError) as e:
        list(store.items.scan(T0, T0))
    assert e.value.field == "since"
    with pytest.raises(QueryError) as e:
        list(store.items.scan(T0.replace(tzinfo=None), T0 + timedelta(hours=1)))
    assert e.value.field == "since"


def test_dismissals_are_kept_per_term_and_can_be_forgotten(store: Store) -> None:
    repo = store.discovery
    assert repo.dismissal("蓝湖镇") is None and repo.dismissals() == []
    first = repo.dismiss(Dismissal("蓝湖镇", "张三", T0, window_df=6, score=40.5))
    assert (first.term, first.actor, first.window_df, first.score) == ("蓝湖镇", "张三", 6, 40.5)
    assert first.time == T0 and first.time.utcoffset() == timedelta(hours=8)
    repo.dismiss(Dismissal("a/b c", "李四", T0 + timedelta(hours=1), window_df=3))
    # Dismissing again replaces the earlier record of the term.
    repo.dismiss(Dismissal("蓝湖镇", "李四", T0 + timedelta(hours=2), window_df=9))
    assert [(d.term, d.actor, d.window_df) for d in repo.dismissals()] == [
        ("蓝湖镇", "李四", 9),
        ("a/b c", "李四", 3),
    ]
    assert repo.undismiss("蓝湖镇") is True
    assert repo.undismiss("蓝湖镇") is False
    assert repo.dismissal("蓝湖镇") is None
    assert [d.term for d in repo.dismissals()] == ["a/b c"]
    with pytest.raises(QueryError):
        repo.dismiss(Dismissal(" ", "张三", T0, window_df=1))


def test_the_latest_report_replaces_the_one_before(store: Store) -> None:
    assert store.discovery.latest_report() is None
    store.discovery.save_report(DiscoveryReport(T0, {"terms": [{"term": "蓝湖镇", "g2": 1.5}]}))
    later = {"terms": [], "clusters": [{"title": "<b>标题</b>", "items": 3}]}
    store.discovery.save_report(DiscoveryReport(T0 + timedelta(hours=1), later))
    got = store.discovery.latest_report()
    assert got is not None and got.data == later and got.time == T0 + timedelta(hours=1)


def _news(n: int, hours: float, title: str, body: str, **kw: object) -> Item:
    from rules.tokens import index_text

    kw.setdefault("source_id", "news")
    return _item(
        n, 0, title=title, body=body, norm_title=index_text(title), norm_body=index_text(body),
        first_seen=T0 + timedelta(hours=hours), **kw,
    )  # fmt: skip


def test_phrase_frequencies_count_items_per_phrase_and_day_in_scope(store: Store) -> None:
    # T0 is 08:00 in Shanghai: +20 h is the next local day.
    store.items.upsert_many(
        [
            _news(1, 1, "双江镇蓝湖坝塌方", "蓝湖坝，救援。", event_id="e1"),
            _news(2, 2, "蓝湖坝续报", "双江镇：蓝湖坝群众转移。", event_id="e1"),
            _news(3, 20, "双江镇新闻", "今日蓝湖坝天晴。", source_id="forum"),
            _news(4, 21, "蓝湖坝", "别处的蓝湖坝。"),  # out of scope: no region word
            _news(5, 22, "双江镇蓝，湖坝", "标点隔开的不算。"),
            _news(6, 50, "双江镇蓝湖坝", "窗口之外。"),
        ]
    )
    since, until = T0, T0 + timedelta(hours=48)
    got = store.items.phrase_frequencies(
        ["蓝湖坝", "塌方", "没有的词"], since, until, scope=["双江镇"], events=["e1", "e9"]
    )
    assert got.docs == 4  # items 1, 2, 3 and 5
    assert got.df == {"蓝湖坝": 3, "塌方": 1}
    assert got.daily == {
        "蓝湖坝": {"2026-03-01": 2, "2026-03-02": 1},
        "塌方": {"2026-03-01": 1},
    }
    assert got.events == {"e1": 2}
    # Many phrases: Elasticsearch counts them from the items read instead; the same figures.
    many = ["蓝湖坝", "塌方", *(f"无{chr(0x4E00 + i)}词" for i in range(400))]
    again = store.items.phrase_frequencies(
        many, since, until, scope=["双江镇"], events=["e1", "e9"]
    )
    assert (again.docs, again.df, again.daily, again.events) == (
        got.docs, got.df, got.daily, got.events,
    )  # fmt: skip
    forum = store.items.phrase_frequencies(["蓝湖坝"], since, until, sources=["forum"])
    assert (forum.docs, forum.df) == (1, {"蓝湖坝": 1})
    unscoped = store.items.phrase_frequencies(["蓝湖坝"], since, until)
    assert (unscoped.docs, unscoped.df["蓝湖坝"]) == (5, 4)
    with pytest.raises(QueryError):
        store.items.phrase_frequencies(["蓝湖坝"], until, since)

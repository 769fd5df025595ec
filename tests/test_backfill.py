"""Backfill is not news: old pages at first sight (and a new source's first crawl) are
stored and matched but raise no alert, get no deadline and stay out of the latency
figures, unless a rule's policy opts in. The crawl end of it is in test_crawl_alerting."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alerting_support import RULE, T0, Clock, add, alerting, story
from api_support import signed_in
from apiflask import APIFlask

from crawler.backfill import is_backfill
from monitor.alerts import stats
from monitor.alerts.policy import save_policy
from monitor.alerts.tickets import overdue
from store import Item, ItemQuery, Store, open_store

WINDOW = timedelta(hours=72)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    yield store
    store.close()


def old(n: int, at: datetime = T0) -> Item:
    """A matching page first seen at ``at`` but published years before (backfill)."""
    item = story(n, at=at)
    item.publish_time = datetime(2019, 5, 1, 9, 0, tzinfo=T0.tzinfo)
    item.backfill = True
    return item


@pytest.mark.parametrize(
    ("published", "precision", "first", "expected"),
    [
        (T0 - timedelta(hours=71, minutes=59), "minute", False, False),
        (T0 - timedelta(hours=72, minutes=1), "minute", False, True),
        (T0 - timedelta(days=400), "second", False, True),
        (None, "", False, False),  # no date: news (an alert too many beats one missed)
        (T0 - timedelta(minutes=5), "minute", True, True),  # a new source's first crawl
        (None, "", True, True),
        # "2021-02" is stored as February 1st; it may be from the 28th, inside the window.
        (datetime(2021, 2, 1, tzinfo=T0.tzinfo), "month", False, False),
        (datetime(2021, 1, 1, tzinfo=T0.tzinfo), "month", False, True),
        (datetime(2020, 1, 1, tzinfo=T0.tzinfo), "year", False, True),
        (datetime(2021, 2, 1, tzinfo=T0.tzinfo), "day", False, True),
        (T0 + timedelta(hours=2), "minute", False, False),  # a clock ahead is not old
    ],
)
def test_what_is_backfill(
    published: datetime | None, precision: str, first: bool, expected: bool
) -> None:
    assert is_backfill(published, precision, T0, WINDOW, first) is expected


def test_an_old_article_raises_no_alert_and_a_fresh_one_does(store: Store) -> None:
    clock = Clock()
    alerts = alerting(store, clock)
    assert add(store, alerts, [old(1)]) == []
    assert store.alerts.list() == [] and store.outbox.list(limit=100) == []
    stored = store.items.get(old(1).id)
    assert stored is not None and stored.backfill and stored.rules == [RULE]  # matched

    [made] = add(store, alerts, [story(2)])
    alert = store.alerts.get(made)
    assert alert is not None and alert.severity == "critical" and not alert.backfill
    clock.advance(hours=5)
    assert overdue(alert, alerts.config.deadlines, clock()) != []

    found = store.items.search(ItemQuery(backfill=True, rules=[RULE]))
    assert [f.item.id for f in found.hits] == [old(1).id]
    found = store.items.search(ItemQuery(backfill=False, rules=[RULE]))
    assert [f.item.id for f in found.hits] == [story(2).id]


def test_a_policy_that_opts_in_gets_backfill_without_deadlines(db: Store) -> None:
    clock = Clock()
    alerts = alerting(db, clock)
    save_policy(db, RULE, {"include_backfill": True}, "张三", T0)
    [made] = add(db, alerts, [old(1)])
    alert = db.alerts.get(made)
    assert alert is not None and alert.backfill
    assert [a.id for a in db.alerts.list(backfill=True)] == [made]
    assert db.alerts.list(backfill=False) == []

    # Hours later: no deadline was missed, nothing escalated, no reminder.
    clock.advance(hours=30)
    alerts.tick()
    alert = db.alerts.get(made)
    assert alert is not None and alert.escalated == []
    assert overdue(alert, alerts.config.deadlines, clock()) == []
    kinds = {m.key.split("/")[-1] for m in db.outbox.list(limit=100)}
    assert kinds == {"new"}
    # The email says why there is no deadline, and in which zone its times are.
    for message in db.outbox.list(limit=100):
        assert "旧闻补录" in message.text and "处置时限：" not in message.text
        assert "（时间为 北京时间）" in message.text


def test_backfill_stays_out_of_the_latency_figures(db: Store) -> None:
    clock = Clock()
    alerts = alerting(db, clock)
    save_policy(db, RULE, {"include_backfill": True}, "张三", T0)
    add(db, alerts, [old(1)])
    fresh = story(2)  # published ten minutes before it was first seen
    add(db, alerts, [fresh])
    figures = stats.report(db, alerts.config.deadlines, T0 - timedelta(days=1))
    assert figures["alerts"] == 2 and figures["backfill_alerts"] == 1
    assert figures["latency"]["publish_to_first_seen"] == {"p50": 600.0, "p95": 600.0}


def test_a_new_sources_archive_is_no_threshold_surge(db: Store) -> None:
    clock = Clock()
    alerts = alerting(db, clock)
    save_policy(db, RULE, {"mode": "threshold", "threshold": 3}, "张三", T0)
    assert add(db, alerts, [old(n) for n in range(10)]) == []
    assert add(db, alerts, [story(20), story(21)]) == []
    assert len(add(db, alerts, [story(22)])) == 1


def test_an_event_with_news_alerts_on_the_news_only(db: Store) -> None:
    """The archive copy of a story and its fresh repost: the alert is the repost's."""
    clock = Clock()
    alerts = alerting(db, clock)
    archive = old(1)
    repost = story(2, event=archive.id)
    archive.event_id = archive.id
    [made] = add(db, alerts, [archive, repost])
    alert = db.alerts.get(made)
    assert alert is not None and alert.item_id == repost.id and alert.items == 1
    assert not alert.backfill


def test_a_file_from_before_backfill_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = open_store(f"sqlite:///{path}")
    store.items.upsert_many([story(1)])
    store.close()
    # What an earlier yuqing left: no backfill columns, triggers without them.
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER items_facts_insert")
        db.execute("DROP TRIGGER items_facts_update")
        db.execute("ALTER TABLE item_facts DROP COLUMN backfill")
        db.execute("ALTER TABLE items DROP COLUMN backfill")
        db.execute(
            "CREATE TRIGGER items_facts_insert AFTER INSERT ON items BEGIN "
            "INSERT INTO item_facts VALUES (new.rowid, new.id, new.first_seen, "
            "new.publish_time, new.source_id, new.tags, new.rules, new.event_id); END"
        )
    store = open_store(f"sqlite:///{path}")
    try:
        store.items.upsert_many([old(2, at=datetime(2021, 2, 6, tzinfo=UTC))])
        assert [f.item.id for f in store.items.search(ItemQuery(backfill=True)).hits] == [old(2).id]
        assert [f.item.id for f in store.items.search(ItemQuery(backfill=False)).hits] == [
            story(1).id
        ]
    finally:
        store.close()


def test_the_api_and_console_filter_backfill(store: Store, app: APIFlask) -> None:
    clock = Clock(datetime.now(T0.tzinfo))
    alerts = alerting(store, clock)
    save_policy(store, RULE, {"include_backfill": True}, "张三", T0)
    archive, fresh = old(1, at=clock.now), story(2, at=clock.now)
    [old_alert] = add(store, alerts, [archive])
    [new_alert] = add(store, alerts, [fresh])
    viewer = signed_in(app, "viewer")

    def listed(url: str, key: str) -> list[str]:
        answer = viewer.get(url)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return sorted(entry["id"] for entry in answer.get_json()[key])

    assert listed("/api/items?backfill=true", "items") == [archive.id]
    assert listed("/api/items?backfill=false", "items") == [fresh.id]
    assert listed("/api/items", "items") == sorted([archive.id, fresh.id])
    assert listed("/api/alerts?backfill=true", "alerts") == [old_alert]
    assert listed("/api/alerts?backfill=false", "alerts") == [new_alert]
    [shown] = [i for i in viewer.get("/api/items").get_json()["items"] if i["backfill"]]
    assert shown["id"] == archive.id

    page = viewer.get("/alerts?backfill=true").get_data(as_text=True)
    assert old_alert in page and new_alert not in page and "旧闻补录" in page
    page = viewer.get("/search?backfill=true").get_data(as_text=True)
    assert archive.id in page and fresh.id not in page
    assert '<option value="true" selected>旧闻补录</option>' in page
    detail = viewer.get(f"/alerts/{old_alert}").get_data(as_text=True)
    assert 'id="alert-backfill"' in detail and 'id="deadlines"' not in detail
    detail = viewer.get(f"/alerts/{new_alert}").get_data(as_text=True)
    assert 'id="alert-backfill"' not in detail and 'id="deadlines"' in detail
    english = viewer.get("/alerts?backfill=true", headers={"Accept-Language": "en"})
    assert "Backfill (old news)" in english.get_data(as_text=True)

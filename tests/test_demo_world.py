"""The first hour as an operator, accelerated: ``yuqing-dev demo --speed 30`` runs the
demo world and the service for at least 20 simulated minutes (fixture ``demo_world`` in
conftest), then the store and the console must show what a newcomer is promised: new
items, new matching events, an event that grows, drills kept out, no source called
silent, and no alert for old news. Screenshots of the dashboard, the inbox and the
growing alert go to ``$YUQING_TEST_OUTPUT/screenshots`` (see ``browser_support``)."""

from __future__ import annotations

from datetime import timedelta

from browser_support import chromium, shot, sign_in
from demo_world_support import DRILL_WORDS, DemoRun

from store import ItemQuery
from store.model import Item


def items(run: DemoRun) -> list[Item]:
    store = run.open_store()
    try:
        found: list[Item] = []
        for page in range(1, 20):
            query = ItemQuery(size=500, page=page, sort="first_seen", highlight=False)
            hits = store.items.search(query).hits
            found += [f.item for f in hits]
            if len(hits) < 500:
                break
        return found
    finally:
        store.close()


def test_new_items_and_new_matching_events(demo_world: DemoRun) -> None:
    assert demo_world.minutes() >= 20
    assert demo_world.started is not None
    since = demo_world.started
    fresh = [i for i in items(demo_world) if i.publish_time and i.publish_time >= since]
    assert len(fresh) >= 20, f"only {len(fresh)} new items"
    # Every crawled item was published by the world within the run, "now" per its clock.
    assert all(i.publish_time and i.publish_time <= demo_world.now() for i in fresh)
    new_alerts = demo_world.new_alerts()
    assert len({a.event_id for a in new_alerts}) >= 3, [a.title for a in new_alerts]
    # Different stories: fires, epidemics, collapses, petitions, food scares take turns.
    assert len({a.rule for a in new_alerts}) >= 2, [a.title for a in new_alerts]
    # Most of the world's pages are ordinary news that match nothing.
    assert sum(not i.rules for i in fresh) > len(fresh) / 3


# The channel of each demo source (the first part of the path of what it finds).
CHANNELS = {
    "news": "demo-news",
    "shehui": "demo-shehui",
    "zwgk": "demo-zwgk",
    "bbs": "demo-bbs",
    "kuaixun": "demo-rss",
}


def test_each_source_finds_its_own_channel(demo_world: DemoRun) -> None:
    found = items(demo_world)
    wrong = [
        (i.source_id, i.url)
        for i in found
        if CHANNELS[i.url.removeprefix(demo_world.site).split("/")[1]] != i.source_id
    ]
    assert not wrong
    assert {i.source_id for i in found} == set(CHANNELS.values())


def test_an_event_grows(demo_world: DemoRun) -> None:
    grown = demo_world.grown()
    assert grown, {a.title: a.items for a in demo_world.alerts()}
    alert = max(grown, key=lambda a: a.items)
    assert alert.items >= 2
    # Its items are one story on several channels of the world (reposts).
    store = demo_world.open_store()
    try:
        event = store.items.search(ItemQuery(event_id=alert.event_id, size=50, highlight=False))
    finally:
        store.close()
    assert len({found.item.source_id for found in event.hits}) >= 2


def test_drills_and_publicity_are_excluded(demo_world: DemoRun) -> None:
    site = demo_world.site
    drills = {site + a.path for a in demo_world.world() if any(w in a.title for w in DRILL_WORDS)}
    crawled = {i.url: i for i in items(demo_world) if i.url in drills}
    assert crawled, "no drill was published and crawled in the run"
    assert not [i.title for i in crawled.values() if i.rules]
    assert not [a.title for a in demo_world.alerts() if a.url in drills]


def test_no_source_goes_silent(demo_world: DemoRun) -> None:
    store = demo_world.open_store()
    try:
        events = store.health_events.list(limit=500)
    finally:
        store.close()
    assert not [(e.source_id, e.kind, e.message) for e in events if e.kind != "recovered"]


def test_no_alert_for_backfill(demo_world: DemoRun) -> None:
    assert demo_world.started is not None
    old = demo_world.started - timedelta(hours=1)
    found = items(demo_world)
    # The world's archive (a fire of four days ago, news of the last hours) was crawled,
    # stored and matched, and classed as backfill: old news raises no alert.
    archive = [i for i in found if i.publish_time and i.publish_time < old]
    assert archive and all(i.backfill for i in archive)
    assert [i for i in archive if i.rules], "the archived fire matched no rule"
    backfill = {i.id for i in found if i.backfill}
    assert not [a.title for a in demo_world.alerts() if a.item_id in backfill]
    assert not [a.title for a in demo_world.alerts() if a.publish_time and a.publish_time < old]


def test_the_console_after_the_run(demo_world: DemoRun) -> None:
    alert = max(demo_world.grown() or demo_world.alerts(), key=lambda a: a.items)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        sign_in(page, demo_world.api, "demo", demo_world.password)
        page.goto(f"{demo_world.api}/")
        page.wait_for_load_state("networkidle")
        shot(page, "demo-world-dashboard")
        page.goto(f"{demo_world.api}/alerts")
        assert page.get_by_text(alert.title, exact=False).count() >= 1
        shot(page, "demo-world-inbox")
        page.goto(f"{demo_world.api}/alerts/{alert.id}")
        assert page.get_by_text(alert.title, exact=False).count() >= 1
        shot(page, "demo-world-alert")

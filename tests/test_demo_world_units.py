"""The demo world on a manual clock, over real HTTP on 127.0.0.1, and the accelerated clock
that the demo shares with the service (fast; the whole demo is tests/test_demo_world.py)."""

from __future__ import annotations

import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from devtools.demo import clock_settings, crawl_interval, demo_sources, world_step
from devtools.demosite import SHANGHAI, DemoSite, create_app, serve
from devtools.demosite.world import World
from devtools.demosite.worldtext import TOPIC_WORDS
from keywords.io import read_library
from keywords.matcher import Matcher
from store.clock import ManualClock, ScaledClock
from yuqing.config import ConfigError, load
from yuqing.wiring import clock_for

START = datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)
SAMPLE = Path(__file__).parents[1] / "keywords" / "samples" / "tongnan.yaml"


def make_world(clock: ManualClock, state: Path | None) -> tuple[DemoSite, World]:
    app = create_app(clock, live=True)
    site = cast(DemoSite, app.extensions["demosite"])
    return site, World(site, clock, state, step=72, incident_every=360)


def run_for(world: World, clock: ManualClock, minutes: int) -> None:
    for _ in range(minutes * 2):
        clock.advance(30)
        world.advance()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def test_an_hour_of_the_world(clock: ManualClock) -> None:
    site, world = make_world(clock, None)
    archive = {a.id for a in site.articles}
    run_for(world, clock, 60)
    fresh = [a for a in site.articles if a.id not in archive]
    # Publish times are the clock's "now" (to the minute pages show), never in the future.
    assert all(START - timedelta(minutes=1) <= a.published <= clock.now() for a in fresh)
    assert Counter(a.section for a in fresh).keys() == {"news", "shehui", "zwgk", "kuaixun"}
    assert {a.encoding for a in fresh if a.section == "zwgk"} == {"gbk"}
    assert len(world.published.incidents) >= 8
    assert world.published.excluded and world.published.elsewhere
    # Reposts keep the story id of their original: one event on several channels.
    stories = Counter(a.story_id for a in fresh if a.kind == "relevant")
    assert max(stories.values()) >= 3
    # Forum threads get replies over time.
    assert max(len(t.posts) for t in site.threads) >= 3
    assert all(ord(c) < 0x10000 for a in fresh for c in a.title + a.body)


def test_what_matches_and_what_does_not(clock: ManualClock) -> None:
    site, world = make_world(clock, None)
    run_for(world, clock, 60)
    matcher = Matcher(read_library(SAMPLE.read_bytes(), "yaml"))

    def rules(title: str, body: str) -> list[str]:
        return matcher.match(title, body).rules

    by_title = {a.title: a for a in site.articles}
    for title in world.published.incidents:
        assert rules(title, by_title[title].body), title
    for title in world.published.excluded + world.published.elsewhere:
        assert not rules(title, by_title[title].body), title
    ordinary = [a for a in site.articles if a.kind == "unrelated"]
    assert ordinary
    assert not [a.title for a in ordinary if any(w in a.title + a.body for w in TOPIC_WORDS)]


def test_a_restarted_world_serves_its_pages_and_never_repeats_a_url(
    clock: ManualClock, tmp_path: Path
) -> None:
    site, world = make_world(clock, tmp_path)
    run_for(world, clock, 20)
    before = {a.path: a for a in site.articles}
    threads = {t.path for t in site.threads}
    again, world2 = make_world(clock, tmp_path)
    assert {a.path: a for a in again.articles} == before
    assert {t.path for t in again.threads} == threads
    run_for(world2, clock, 20)
    new = {a.path for a in again.articles} - set(before)
    assert new and not new & set(before)
    assert len({t.path for t in again.threads}) > len(threads)


@pytest.fixture
def served(clock: ManualClock) -> Iterator[tuple[str, World]]:
    app = create_app(clock, live=True)
    site = cast(DemoSite, app.extensions["demosite"])
    world = World(site, clock, None)
    server, url = serve(app=app)
    try:
        run_for(world, clock, 30)
        yield url, world
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return bytes(answer.read())


def test_the_sites_over_http(served: tuple[str, World]) -> None:
    url, _world = served
    sources = {s.id: s for s in demo_sources(url)}
    assert "demo-sitemap" not in sources
    feed = ET.fromstring(fetch(sources["demo-rss"].start_urls[0]))
    links = [e.text or "" for e in feed.iter("link")][1:]
    # The feed is the wire channel alone, which no list page carries.
    assert links and all("/kuaixun/" in link for link in links)
    for ident in ("demo-news", "demo-shehui", "demo-zwgk", "demo-bbs"):
        assert "links" in sources[ident].selectors
    zwgk = fetch(f"{url}/zwgk/")
    assert "政务公开".encode("gbk") in zwgk or "政务公开".encode() in zwgk
    board = fetch(f"{url}/bbs/").decode("gbk")
    assert "thread-" in board
    assert fetch(f"{url}/").decode("utf-8").count("<li>") > 10


def test_the_demo_cadence_keeps_sources_busy() -> None:
    assert crawl_interval(1) == 60
    assert crawl_interval(30) == 240
    # Each of the five channels gets an item about every 1.5 crawl intervals.
    assert 5 * world_step(crawl_interval(30)) == pytest.approx(1.5 * crawl_interval(30))


def test_scaled_clock_anchored_is_shared_by_processes() -> None:
    anchor = datetime.now(SHANGHAI) - timedelta(seconds=10)
    one = ScaledClock(30, anchor=anchor)
    two = ScaledClock(30, anchor=anchor)
    a, b = one.now(), two.now()
    assert abs((b - a).total_seconds()) < 5
    assert timedelta(seconds=290) < a - anchor < timedelta(seconds=400)
    assert one.speed == 30 and ManualClock(START).speed == 1


def test_clock_config(tmp_path: Path) -> None:
    env = {"YUQING_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "none.toml").write_text("")
    assert type(clock_for(load(env=env))).__name__ == "Clock"
    origin = "2026-12-02T09:00:00+00:00"
    config = load(env=env | {"YUQING_CLOCK_SPEED": "30", "YUQING_CLOCK_ORIGIN": origin})
    clock = clock_for(config)
    assert isinstance(clock, ScaledClock) and clock.speed == 30
    with pytest.raises(ConfigError, match="speed"):
        load(env=env | {"YUQING_CLOCK_SPEED": "0"})


def test_the_demo_keeps_its_clock_origin(tmp_path: Path) -> None:
    first = clock_settings(tmp_path, 30, {})
    assert clock_settings(tmp_path, 30, {}) == first
    assert clock_settings(tmp_path, 20, {})["YUQING_CLOCK_ORIGIN"] != ""
    assert clock_settings(tmp_path, 1, {}) == {"YUQING_CLOCK_SPEED": "1"}

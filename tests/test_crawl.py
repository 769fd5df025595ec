"""The crawler end to end: the demo site on 127.0.0.1 crawled by real ``yuqing.crawl``
processes into both stores, then checked against the site's ground truth and request log."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from waiting import wait_for

from crawler.scheduler import CrawlScheduler, launch
from crawler.sources import set_emergency
from devtools.demosite import BASE_TIME, SHANGHAI, DemoSite, Draft, create_app, serve
from store import Item, ItemQuery, Store
from store.elastic import ElasticStore
from store.model import Source
from yuqing.wiring import CRAWL_COMMAND

# Fast and quiet for tests; politeness defaults are exercised in tests/test_crawl_units.py.
MATCHING = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false",
    "-s", "LOG_LEVEL=WARNING", "-s", "HTTPPROXY_ENABLED=false",
    "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
]  # fmt: skip
# The crawl mechanics, without matching the items against the library.
ARGS = [*MATCHING, "-s", "YUQING_MATCHER=null"]


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: BASE_TIME + timedelta(days=1))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Demo:
    url: str
    site: DemoSite
    clock: Clock


@pytest.fixture
def demo() -> Iterator[Demo]:
    clock = Clock()
    app = create_app(clock=clock)
    server, url = serve(app=app)
    try:
        yield Demo(url, app.extensions["demosite"], clock)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def env(store: Store, tmp_path: Path) -> dict[str, str]:
    """Environment that makes ``yuqing.crawl`` open the test's store."""
    config = tmp_path / "yuqing.toml"
    config.write_text("")
    out = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    out |= {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url}
    if isinstance(store, ElasticStore):
        out["YUQING_STORE_PREFIX"] = store.prefix
    return out


def source(ident: str, kind: str, urls: list[str], **more: Any) -> Source:
    values: dict[str, Any] = {"interval": 600, "tags": ["news"], "region": "潼南区"} | more
    return Source(id=ident, name=ident, type=kind, start_urls=urls, **values)  # type: ignore[arg-type]


def crawl(env: dict[str, str], *source_ids: str, parallel: int = 1) -> dict[str, dict[str, Any]]:
    """Run the sources, each in its own process, ``parallel`` at a time."""
    with ThreadPoolExecutor(parallel) as pool:
        done = pool.map(lambda s: launch(CRAWL_COMMAND, s, ARGS, env, timeout=120), source_ids)
    return {summary["source"]: summary for summary in done}


def items(store: Store) -> list[Item]:
    if isinstance(store, ElasticStore):
        # The crawl processes write without refresh, as in production.
        Elasticsearch(store.url).indices.refresh(index=f"{store.prefix}items")
    query = ItemQuery(size=500, sort="first_seen", descending=False, highlight=False)
    return [found.item for found in store.items.search(query).hits]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def paragraphs(text: str) -> list[str]:
    return [flat(p) for p in text.split("\n") if p.strip()]


def test_demo_site_end_to_end(store: Store, demo: Demo, env: dict[str, str]) -> None:
    base, site = demo.url, demo.site
    for s in (
        source("news", "list", [f"{base}/news/"], selectors={"links": "ul.list a::attr(href)"}),
        source("shehui", "list", [f"{base}/shehui/"]),
        source("zwgk", "list", [f"{base}/zwgk/index.html"], tags=["government"]),
        source("bbs", "list", [f"{base}/bbs/"], tags=["forum"], encoding="gbk"),
        source("rss", "feed", [f"{base}/rss.xml"], tags=["feed"]),
    ):
        store.sources.put(s)
    first = crawl(env, "news", "shehui", "zwgk", "bbs", "rss")
    assert {s: r["outcome"] for s, r in first.items()} == dict.fromkeys(first, "ok"), first

    got = items(store)
    by_path = {it.url.removeprefix(base): it for it in got}
    articles = [a for a in site.articles if a.path in by_path]
    # Every list page (the JS-paged government list included) and the feed were followed.
    assert {a.section for a in articles} == {"news", "shehui", "zwgk"}
    assert {a.path for a in site.latest("zwgk")} <= set(by_path)
    assert {a.path for a in site.latest("news")} <= set(by_path)
    for article in articles:
        item = by_path[article.path]
        assert item.title == article.title, article.path
        assert all(p in flat(item.body) for p in paragraphs(article.body)), article.path
        assert "\ufffd" not in item.body
        assert item.publish_time == article.published, article.path
        assert item.publish_time is not None and item.publish_time.utcoffset() == timedelta(hours=8)
        if article.written:
            assert item.written_time is not None, article.path
            assert item.written_time.date() == article.written
        assert item.first_seen > item.publish_time and item.norm_body and item.event_id
    assert any(a.encoding != "utf-8" for a in articles)  # GBK pages decoded, checked above
    threads = [it for it in got if "/bbs/thread-" in it.url]
    assert {t.title for t in threads} == {t.title for t in site.threads}
    for thread in site.threads:
        item = next(it for it in threads if it.url.endswith(thread.path))
        assert flat(thread.posts[0].text) in flat(item.body)

    # Reposts of one story share the event of its first-seen item; other stories don't.
    stories: dict[str, set[str | None]] = {}
    for article in articles:
        stories.setdefault(article.story_id, set()).add(by_path[article.path].event_id)
    sizes = {s: sum(1 for a in articles if a.story_id == s) for s in stories}
    reposted = [ids for s, ids in stories.items() if sizes[s] > 1]
    assert len(reposted) >= 2 and all(len(ids) == 1 for ids in reposted)
    events = [next(iter(ids)) for ids in stories.values()]
    assert len(events) == len(set(events))
    for ids in reposted:
        founder = next(it for it in got if it.id == next(iter(ids)))
        assert founder.event_id == founder.id

    # Second run: nothing changed, so lists and feed answer 304 and no article is fetched.
    site.requests.clear()
    second = crawl(env, "news", "shehui", "zwgk", "bbs", "rss", parallel=3)
    assert all(r["new_items"] == 0 and r["outcome"] == "ok" for r in second.values()), second
    log = site.requests.entries()
    assert not [e for e in log if site.find(e.path)], "an article was fetched twice"
    assert {e.path for e in log if e.status == 304} >= {"/news/", "/zwgk/index.html", "/rss.xml"}
    assert all(r["not_modified"] >= 1 for s, r in second.items() if s != "bbs")

    # A new story is fetched once, by the first source to list it.
    demo.clock.now += timedelta(hours=1)
    fresh = site.publish(
        Draft(
            title="潼南区柠檬产业园新增三条加工生产线",
            body="2月6日，记者从潼南区柠檬产业园获悉，园区新增三条柠檬精深加工生产线，"
            "日加工能力提升三成，园区企业新增就业岗位二百余个，带动周边农户增收。\n"
            "园区负责人表示，下一步将继续引进精深加工企业，延长柠檬产业链条，提高产品附加值。",
        )
    )
    site.requests.clear()
    third = crawl(env, "news") | crawl(env, "rss")
    assert (third["news"]["new_items"], third["rss"]["new_items"]) == (1, 0), third
    assert site.requests.count(fresh.path) == 1
    stored = next(it for it in items(store) if it.url.endswith(fresh.path))
    assert stored.title == fresh.title and stored.publish_time == fresh.published

    runs = store.runs.recent("news")
    assert [r.outcome for r in runs] == ["ok", "ok", "ok"]
    assert runs[-1].pages > runs[0].pages and runs[1].not_modified == 1


def test_two_scheduler_processes_share_sources(
    store: Store, demo: Demo, env: dict[str, str]
) -> None:
    """Two ``yuqing scheduler`` processes, every source due at once in both: each source runs
    exactly once (the other process finds it leased), runs never overlap, and a restarted
    scheduler takes the next run from the recorded ones."""
    paths = {"bbs": "/bbs/", "zwgk": "/zwgk/index.html", "rss": "/rss.xml"}
    ids = list(paths)
    for ident, path in paths.items():
        kind = "feed" if ident == "rss" else "list"
        tags = ["government"] if ident == "zwgk" else ["news"]
        store.sources.put(source(ident, kind, [demo.url + path], interval=60, tags=tags))
    command = [sys.executable, "-c", "from yuqing.cli import main; main()", "scheduler"]
    command += ["--workers", "2", *ARGS]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(2)]
    try:
        wait_for(
            "a finished run of every source",
            lambda: (
                len([r for i in ids for r in store.runs.recent(i) if r.outcome != "running"])
                >= len(ids)
            ),
            90,
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            assert proc.wait(timeout=60) == 0
    for ident in ids:
        # Both processes tried every source at once: one ran it, the other found it leased.
        # A later run can only come an interval later (the test may outlast one).
        runs = sorted(store.runs.recent(ident), key=lambda r: r.started)
        assert runs and all(r.outcome == "ok" for r in runs), (ident, runs)
        for before, after in itertools.pairwise(runs):
            assert before.finished is not None and before.finished <= after.started
            assert after.started - before.started >= timedelta(seconds=60 - 2 * 6)
    assert items(store)

    # Restart: the next run of each source follows its recorded run by its interval.
    scheduler = CrawlScheduler(store, CRAWL_COMMAND, args=ARGS, env=env)
    scheduler.start(paused=True)
    try:
        nexts = scheduler.next_runs()
        for ident in ids:
            last = store.runs.recent(ident)[0]
            assert nexts[ident] is not None
            assert nexts[ident] >= last.started + timedelta(seconds=60 - 6)  # jitter: interval/10

        # An emergency shortens the interval of the tagged sources, and ends.
        now = datetime.now(SHANGHAI)
        set_emergency(store, tags=["government"], interval=20, until=now + timedelta(hours=1))
        scheduler.sync()
        assert scheduler.intervals == {"bbs": 60, "zwgk": 20, "rss": 60}
        job = scheduler.aps.get_job("crawl:zwgk")
        assert job.trigger.interval == timedelta(seconds=20)
        set_emergency(store, tags=["government"], interval=20, until=now - timedelta(seconds=1))
        scheduler.sync()
        assert scheduler.intervals["zwgk"] == 60
    finally:
        scheduler.shutdown(wait=False)


def test_bad_inputs_are_recorded_and_the_crawl_goes_on(
    store: Store, demo: Demo, env: dict[str, str]
) -> None:
    base = demo.url
    store.sources.put(
        source(
            "bad",
            "list",
            [f"{base}/bad/", f"{base}/bad/huge.html"],
            selectors={"links": "div.message li a::attr(href)"},
        )
    )
    store.sources.put(source("dates", "feed", [f"{base}/bad/dates.rss"]))
    store.sources.put(source("empty", "feed", [f"{base}/bad/empty.rss"]))
    broken = source("broken", "list", [f"{base}/news/"], selectors={"links": "ul.list a[href"})
    store.sources.put(broken)  # as the API might, bypassing validation
    # The feeds first: the bad index links them too, and a URL is fetched only once.
    # Started together, the two feeds also race to create the store's run indices.
    done = crawl(env, "empty", "dates", parallel=2) | crawl(env, "bad", "broken", parallel=2)
    assert {s: r["outcome"] for s, r in done.items()} == {
        "bad": "blocked",  # the 521 challenge is recorded against the source
        "dates": "ok",
        "empty": "ok",
        "broken": "failed",
    }
    [bad] = store.runs.recent("bad")
    reasons = {e["url"].removeprefix(base): e["reason"] for e in bad.errors}
    assert reasons["/bad/huge.html"].startswith("too large")
    loop = [r for u, r in reasons.items() if u.startswith("/bad/loop-")]
    assert loop and loop[0].startswith("redirect loop"), list(reasons.items())
    assert reasons["/bad/binary.html"].startswith("not text"), reasons
    assert reasons["/bad/500.html"] == "HTTP 500"
    assert reasons["/bad/521.html"].startswith("blocked: anti-bot")
    assert bad.replacement_share > 0  # the GBK page with invalid bytes
    stored = {it.url.removeprefix(base): it for it in items(store)}
    for path in ("/bad/truncated.html", "/bad/gbk-invalid.html", "/bad/dates.html"):
        assert stored[path].title and stored[path].body, path
    assert stored["/bad/dates.html"].publish_time != datetime(2021, 2, 28, tzinfo=SHANGHAI)
    events = store.health_events.list(source_id="bad")
    assert [e.kind for e in events] == ["blocked"], events

    [dates] = store.runs.recent("dates")
    assert sum("unparseable feed date" in e["reason"] for e in dates.errors) >= 3
    assert dates.items >= 1
    [empty] = store.runs.recent("empty")
    assert [e["reason"] for e in empty.errors] == ["empty feed"] and empty.items == 0
    [failed] = store.runs.recent("broken")
    assert failed.errors[0]["reason"].startswith(
        "source 'broken': selectors.links: not a valid CSS"
    )
    # Nothing stored before is lost: a crawl of the same store afterwards sees it all.
    assert len(items(store)) == len(stored)


def test_a_crashed_run_keeps_its_stderr_in_the_run_record(
    store: Store, demo: Demo, env: dict[str, str]
) -> None:
    """A run whose process dies with a traceback (here: a hand-off named in a setting that
    does not exist) is recorded as failed with the end of its stderr, and the next run
    goes on as usual."""
    store.sources.put(source("news", "list", [f"{demo.url}/news/"]))
    summary = launch(
        CRAWL_COMMAND,
        "news",
        [*ARGS, "-s", "YUQING_ON_NEW_HITS=nowhere.hand_off"],
        env,
        store=store,
    )
    assert summary["outcome"] == "crashed" and summary["exit"] == 1, summary
    [run] = store.runs.recent("news")
    assert run.outcome == "failed" and run.finished is not None
    reason = run.errors[0]["reason"]
    assert reason.startswith("crashed (exit 1): ") and "No module named 'nowhere'" in reason
    assert crawl(env, "news")["news"]["outcome"] == "ok"

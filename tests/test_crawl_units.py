"""The crawler's pure parts: source validation, link finding, event clustering, health."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from parsel import Selector

from crawler import events, health
from crawler.links import article_links, page_links
from crawler.operations import seed_sources
from crawler.settings import SETTINGS, settings_for
from crawler.sources import SourceError, load_sources, parse_sources, set_emergency, validate
from devtools.demosite import DemoSite
from rules.normalize import normalize
from store import Item, Store
from store.acting import Acting
from store.clock import Clock
from store.model import CrawlRun, Source

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)


def entry(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "tn",
        "name": "潼南",
        "type": "list",
        "start_urls": ["http://127.0.0.1:8610/news/"],
        "interval": 600,
    }
    return base | changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"selectors": {"links": "ul.list a[href"}}, "selectors.links"),
        ({"selectors": {"title": "//h1[@class="}}, "selectors.title"),
        ({"selectors": {"color": "h1"}}, "selectors.color"),
        ({"start_urls": ["ftp://example/x"]}, "start_urls[0]"),
        ({"start_urls": ["news/index.html"]}, "start_urls[0]"),
        ({"type": "video"}, "type"),
        ({"interval": 5}, "interval"),
        ({"encoding": "klingon"}, "encoding"),
        ({"robots": "maybe"}, "robots"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_source_is_an_error_naming_source_and_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(SourceError) as caught:
        parse_sources({"sources": [entry(**changes)]}, "test.yaml")
    assert caught.value.source_id == "tn" and caught.value.field == field
    assert str(caught.value).startswith(f"source 'tn': {field}: ")


def test_good_sources_and_the_embedded_default() -> None:
    [source] = parse_sources(
        {"sources": [entry(start_urls="http://a.cn/", selectors={"links": "//ul/li/a/@href"})]},
        "x",
    )
    assert source.start_urls == ["http://a.cn/"] and source.robots == "obey"
    defaults = load_sources()
    assert {s.type for s in defaults} == {"list", "feed", "sitemap"}
    with pytest.raises(SourceError, match="required"):
        parse_sources({"sources": [{"id": "x"}]}, "x")


def test_politeness_defaults() -> None:
    assert SETTINGS["ROBOTSTXT_OBEY"] and SETTINGS["AUTOTHROTTLE_ENABLED"]
    assert "yuqing" in SETTINGS["USER_AGENT"] and SETTINGS["DOWNLOAD_MAXSIZE"] < 50 * 2**20
    assert SETTINGS["CONCURRENT_REQUESTS_PER_DOMAIN"] <= 4 and SETTINGS["DOWNLOAD_TIMEOUT"] <= 60
    ignoring = validate(Source(**entry(robots="ignore")))  # type: ignore[arg-type]
    assert settings_for(ignoring)["ROBOTSTXT_OBEY"] is False


def test_links_and_script_paging() -> None:
    html = """<html><body><ul class="nav"><li><a href="/news/">要闻</a></li></ul>
    <ul><li><a href="./202102/t20210205_1001.html">潼南区召开春季农业生产会议</a></li>
    <li><a href="/zwgk/202101/t20210131_999.html">关于做好春季农业生产工作的通知</a></li>
    <li><a href="http://other.cn/a/123.html">外站文章标题很长很长</a></li>
    <li><a href="/zwgk/202101/report.pdf">附件下载文件123</a></li></ul>
    <script>createPageHTML(4, 0, "index", "html");</script>
    <a href="index_1.html">2</a><a href="/news/index_1.html">other list</a></body></html>"""
    base = "http://127.0.0.1:8610/zwgk/index.html"
    selector = Selector(text=html)
    assert article_links(selector, base) == [
        "http://127.0.0.1:8610/zwgk/202102/t20210205_1001.html",
        "http://127.0.0.1:8610/zwgk/202101/t20210131_999.html",
    ]
    assert page_links(selector, base) == [
        f"http://127.0.0.1:8610/zwgk/index_{n}.html" for n in (1, 2, 3)
    ]


def test_reposts_cluster_and_template_siblings_do_not() -> None:
    """On the demo site's ground truth: every repost pair is found by the fingerprint keys
    and confirmed; no two different stories are, templates notwithstanding."""
    site = DemoSite()
    for _ in range(12):
        site.publish_scheduled()
    bodies = {a.id: normalize(a.body) for a in site.articles}
    keys = {i: set(events.fingerprint(b)) for i, b in bodies.items()}
    pairs = 0
    for a, b in itertools.combinations(site.articles, 2):
        same = events.same_story(bodies[a.id], bodies[b.id])
        if a.story_id == b.story_id:
            pairs += 1
            assert same and keys[a.id] & keys[b.id], (a.title, b.title)
        else:
            assert not same, (a.title, b.title)
    assert pairs >= 7
    first = site.articles[0]
    item = Item(first.path, first.title, first.body, T0, norm_body=bodies[first.id])
    assert events.best_match(bodies[first.id], [item]) == (item, 1.0)
    assert events.fingerprint("太短") == []


def run(n: int, outcome: str = "ok", new: int = 0, **more: object) -> CrawlRun:
    at = T0 + timedelta(minutes=10 * n)
    values: dict[str, object] = {"outcome": outcome, "new_items": new, "items": new} | more
    return CrawlRun("s", "h:1", at, at, id=f"r{n}", finished=at, **values)  # type: ignore[arg-type]


def test_health_problems() -> None:
    runs = [run(9, "failed"), run(8, "failed"), run(7, "failed"), run(6, new=2)]
    found = health.assess("s", runs)
    assert found.consecutive_failures == 3 and "failing" in found.problems
    assert found.last_success == runs[-1].started
    # Yields every other run, then four empty runs: not yet silent; six: silent.
    history = [run(n, new=n % 2) for n in reversed(range(10))]  # newest first

    def empty(k: int) -> list[CrawlRun]:
        return [run(10 + n) for n in reversed(range(k))]

    assert "silent" not in health.assess("s", empty(4) + history).problems
    silent = health.assess("s", empty(6) + history)
    assert silent.empty_runs == 6 and silent.usual_gap == 2.0 and "silent" in silent.problems
    odd = health.assess("s", [run(1, "blocked"), run(0, parse_failures=3, replacement_share=0.2)])
    assert odd.blocked and set(odd.problems) == {"blocked"}
    bad = health.assess("s", [run(0, items=2, parse_failures=3, replacement_share=0.2)])
    assert set(bad.problems) == {"parse", "encoding"}


def test_health_events_on_change_only(store: Store) -> None:
    history = [run(0, "failed"), run(-1, "failed")]
    first = run(1, "failed")
    events_ = health.record(store, first, history[0], health.assess("s", [first, *history]))
    assert [e.kind for e in events_] == ["failing"] and first.problems == ["failing"]
    again = run(2, "failed")
    found = health.assess("s", [again, first, *history])
    assert health.record(store, again, first, found) == []
    healed = run(3, new=1)
    [event] = health.record(store, healed, again, health.assess("s", [healed, again]))
    assert event.kind == "recovered" and event.details["cleared"] == ["failing"]
    assert [e.kind for e in store.health_events.list(source_id="s")] == ["recovered", "failing"]


def test_seed_and_emergency(store: Store) -> None:
    defaults = load_sources()
    admin = Acting("admin", store, Clock())
    assert len(seed_sources(admin, defaults)) == len(defaults)
    assert seed_sources(admin, defaults) == []
    # One entry per source added, none for those the store had.
    assert len(store.audit.list(actor="admin")) == len(defaults)
    until = datetime.now(SH) + timedelta(hours=1)
    changed = set_emergency(store, tags=["government"], source_ids=["demo-rss"], interval=60,
                            until=until)  # fmt: skip
    assert {s.id for s in changed} == {"demo-zwgk", "demo-rss"}
    zwgk = store.sources.get("demo-zwgk")
    assert zwgk is not None and zwgk.effective_interval(datetime.now(SH)) == 60
    assert zwgk.effective_interval(until) == zwgk.interval

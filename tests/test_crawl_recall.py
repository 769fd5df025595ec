"""Recall guard: a list page whose link selector matches ``javascript:``, ``mailto:``,
``tel:`` or ``data:`` links loses none of its real articles (the bad links are skipped and
counted in the run record), and a run that reads list pages but finds no article link,
while the source's recent runs did, is recorded as failed with the reason. A real HTTP
server on 127.0.0.1; real crawl processes (``yuqing.crawl``) into SQLite."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from api_support import make_app, signed_in
from pagesite import PageSite, serve_pages

from crawler.dates import SHANGHAI
from crawler.run import recall_guard
from crawler.scheduler import launch
from store import Store, open_store
from store.model import CrawlRun, Source
from yuqing.wiring import CRAWL_COMMAND

ARGS = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=WARNING",
    "-s", "HTTPPROXY_ENABLED=false", "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
    "-s", "ROBOTSTXT_OBEY=false", "-s", "YUQING_MATCHER=null",
]  # fmt: skip

ARTICLE = (
    "<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
    "<div class='info'>发布时间：2021-03-01 09:30</div><div class='content'>"
    "<p>潼南区召开防汛工作会议，部署今年汛期各项防范措施，要求各镇街立即开展隐患排查。</p>"
    "<p>会议指出，要加强对涪江、琼江沿线低洼地带的巡查，提前转移受威胁群众。</p>"
    "</div></body></html>"
)
# The bad links sit first, before the real articles: the old spider lost all after them.
LIST = (
    "<html><head><meta charset='utf-8'><title>要闻</title></head><body><ul class='news'>"
    "<li><a href='javascript:void(0)'>潼南区防汛会议专题（请点击）</a></li>"
    "<li><a href='mailto:tip@tongnan.example.cn'>新闻线索请发邮件给我们</a></li>"
    "<li><a href='tel:023-44551234'>新闻热线 023-44551234</a></li>"
    "<li><a href='data:text/html,<b>x</b>'>内嵌数据链接测试</a></li>"
    "<li><a href='/art/t20210301_101.html'>潼南区召开防汛工作会议部署汛期工作</a></li>"
    "<li><a href='/art/t20210302_102.html'>梓潼街道处置一起燃气泄漏事件</a></li>"
    "</ul></body></html>"
)
# The site's new layout: the list moved and the source's selector finds nothing.
REDESIGNED = (
    "<html><head><meta charset='utf-8'><title>要闻</title></head><body><div class='cards'>"
    "<div class='card' data-href='/art/t20210303_103.html'>双江镇情况通报</div>"
    "</div></body></html>"
)


def _pages() -> dict[str, str]:
    return {
        "/list/index.html": LIST,
        "/art/t20210301_101.html": ARTICLE.format(title="潼南区召开防汛工作会议部署汛期工作"),
        "/art/t20210302_102.html": ARTICLE.format(title="梓潼街道处置一起燃气泄漏事件"),
    }


@pytest.fixture
def site() -> Iterator[PageSite]:
    with serve_pages(_pages()) as served:
        yield served


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'yuqing.db'}")
    yield store
    store.close()


def _crawl(store: Store, tmp_path: Path) -> CrawlRun:
    config = tmp_path / "yuqing.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url}
    launch(CRAWL_COMMAND, "news", ARGS, env, timeout=120)
    return store.runs.recent("news", 1)[0]


def test_bad_links_are_skipped_and_counted_and_a_silent_empty_run_fails(
    sqlite_store: Store, site: PageSite, tmp_path: Path
) -> None:
    store = sqlite_store
    source = Source(
        id="news",
        name="潼南新闻",
        type="list",
        start_urls=[f"{site.url}/list/index.html"],
        interval=600,
        selectors={"links": "ul.news a::attr(href)"},
    )
    store.sources.put(source)

    first = _crawl(store, tmp_path)
    assert first.outcome == "ok", first.errors
    assert (first.items, first.links, first.skipped_links, first.list_pages) == (2, 2, 4, 1)
    [note] = [e for e in first.errors if "not http(s)" in e["reason"]]
    assert note["reason"].startswith("skipped 4 link(s)") and "javascript:void(0)" in note["reason"]
    assert sorted(p for p in site.requested if p.startswith("/art/")) == [
        "/art/t20210301_101.html",
        "/art/t20210302_102.html",
    ]

    # The count reaches the operator: the API's run history and the console's source page.
    app = make_app(store, tmp_path)
    admin = signed_in(app, "admin")
    [run] = admin.get("/api/sources/news").get_json()["history"]
    assert (run["skipped_links"], run["links"], run["list_pages"]) == (4, 2, 1)
    page = admin.get("/sources/news").get_data(as_text=True)
    assert "跳过的链接" in page and re.search(r'title="不是 http\(s\) 的链接[^"]*">4<', page)

    # Unchanged list, articles known: nothing new, but the links are there, so ok.
    second = _crawl(store, tmp_path)
    assert (second.outcome, second.items, second.links) == ("ok", 0, 2)

    site.pages["/list/index.html"] = REDESIGNED
    third = _crawl(store, tmp_path)
    assert third.outcome == "failed" and third.list_pages == 1 and third.links == 0
    reason = third.errors[0]["reason"]
    assert reason.startswith("recall: 1 list page(s) read but no article link found")
    assert "2 of the last 2 runs found some (up to 2)" in reason


T0 = datetime(2021, 3, 1, 9, 0, tzinfo=SHANGHAI)


def _run(outcome: str = "ok", **counts: int) -> CrawlRun:
    run = CrawlRun("news", "h:1", T0, T0 + timedelta(minutes=5), outcome=outcome)  # type: ignore[arg-type]
    return replace(run, **counts)


@pytest.mark.parametrize(
    ("now", "earlier", "flagged"),
    [
        (_run(list_pages=1), [_run(links=5), _run(items=3)], True),
        (_run("partial", list_pages=2), [_run(links=5), _run(links=4)], True),
        (_run(list_pages=1), [_run(links=5)], False),  # one run is no habit
        (_run(list_pages=1), [_run(links=5), _run(), _run()], False),
        (_run(list_pages=1), [_run(), _run(), _run(), _run(), _run(), _run(links=1)] * 2, False),
        (_run(list_pages=1, links=1), [_run(links=5), _run(links=5)], False),
        (_run(list_pages=0, not_modified=1), [_run(links=5), _run(links=5)], False),  # 304
        (_run("blocked", list_pages=1), [_run(links=5), _run(links=5)], False),
        (_run(list_pages=1), [_run("lost", links=5), _run("running", links=5)], False),
    ],
)
def test_recall_guard_needs_a_habit_of_finding_links(
    now: CrawlRun, earlier: list[CrawlRun], flagged: bool
) -> None:
    before = now.outcome
    recall_guard(now, earlier)
    assert (now.outcome == "failed") is flagged
    if not flagged:
        assert now.outcome == before and not now.errors

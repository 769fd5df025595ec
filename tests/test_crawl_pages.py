"""Crawling articles whose body needs more than one page, or has none: a paged article
(下一页 / ``_2.html``) is followed on the same host and stored as one item, a notice whose
body cannot be extracted is stored and matched on its title. A real HTTP server on
127.0.0.1 serves the pages; real crawl processes (``yuqing.crawl``) crawl them into SQLite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest
from pagesite import PageSite, serve_pages

from crawler.dates import SHANGHAI
from crawler.scheduler import launch
from keywords.io import read_library
from keywords.operations import save_library
from store import Item, ItemQuery, Store, open_store
from store.acting import Acting
from store.clock import Clock
from store.model import Source
from yuqing.wiring import CRAWL_COMMAND

ARGS = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=WARNING",
    "-s", "HTTPPROXY_ENABLED=false", "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
    "-s", "ROBOTSTXT_OBEY=false",
]  # fmt: skip

PARTS = [
    "潼南区召开防汛工作会议，部署今年汛期各项防范措施，要求各镇街立即开展隐患排查。",
    "会议指出，要加强对涪江、琼江沿线低洼地带的巡查，提前转移受威胁群众，确保人员安全。",
    "会议强调，各部门要严格落实二十四小时值班制度，遇有险情第一时间报告并处置到位。",
]
NOTICE_TITLE = "双江镇发现1例新冠肺炎确诊病例的情况通报"
SHORT = "3月2日，梓潼街道对辖区一处燃气泄漏进行处置。现场无人员受伤，供气已于当晚恢复。"


def _page(title: str, paragraphs: list[str], byline: str, pager: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><meta charset='utf-8'><title>{title}_潼南新闻网</title></head><body>"
        "<div class='nav'><a href='/'>首页</a> <a href='/list/'>要闻</a></div>"
        f"<div class='article'><h1>{title}</h1><div class='info'>{byline}</div>"
        f"<div class='content'>{body}</div><div class='pager'>{pager}</div>"
        "<div class='near'><a href='/art/t20210302_102.html'>下一篇：双江镇情况通报</a></div></div>"
        "<div class='footer'>版权所有 潼南新闻网 渝ICP备00000000号</div></body></html>"
    )


def _pager(current: int) -> str:
    names = ["t20210301_101.html", "t20210301_101_2.html", "t20210301_101_3.html"]
    links = [f"<a href='/art/{name}'>{i + 1}</a>" for i, name in enumerate(names)]
    if current < len(names):
        links.append(f"<a href='/art/{names[current]}'>下一页</a>")
    return " ".join(links)


SITE = {
    "/list/index.html": (
        "<html><head><meta charset='utf-8'><title>要闻</title></head><body><ul>"
        "<li><a href='/art/t20210301_101.html'>潼南区召开防汛工作会议部署汛期工作</a></li>"
        f"<li><a href='/art/t20210302_102.html'>{NOTICE_TITLE}</a></li>"
        "<li><a href='/art/t20210303_103.html'>梓潼街道处置一起燃气泄漏</a></li>"
        "</ul></body></html>"
    ),
    "/art/t20210301_101.html": _page(
        "潼南区召开防汛工作会议部署汛期工作", [PARTS[0]], "发布时间：2021-03-01 09:30", _pager(1)
    ),
    "/art/t20210301_101_2.html": _page(
        "潼南区召开防汛工作会议部署汛期工作", [PARTS[1]], "发布时间：2021-03-01 09:30", _pager(2)
    ),
    "/art/t20210301_101_3.html": _page(
        "潼南区召开防汛工作会议部署汛期工作", [PARTS[2]], "发布时间：2021-03-01 09:30", _pager(3)
    ),
    # The notice is a scanned image and an attachment: no text to extract but its title.
    "/art/t20210302_102.html": _page(NOTICE_TITLE, [], "发布时间：2021年3月").replace(
        "<div class='content'></div>", "<div class='content'><img src='/scan.jpg'></div>"
    ),
    "/art/t20210303_103.html": _page(
        "梓潼街道处置一起燃气泄漏", [SHORT], "来源：梓潼街道 03-03 21:10"
    ),
}


@pytest.fixture
def site() -> Iterator[PageSite]:
    with serve_pages(SITE) as served:
        yield served


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'yuqing.db'}")
    yield store
    store.close()


def _crawl(store: Store, tmp_path: Path, url: str, *more: str) -> dict[str, object]:
    config = tmp_path / "yuqing.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url}
    source = Source(id="news", name="news", type="list", start_urls=[url], interval=600)
    store.sources.put(source)
    return launch(CRAWL_COMMAND, "news", [*ARGS, *more], env, timeout=120)


def _items(store: Store) -> dict[str, Item]:
    found = store.items.search(ItemQuery(size=50, sort="first_seen", highlight=False)).hits
    return {hit.item.url.rsplit("/", 1)[-1]: hit.item for hit in found}


def test_paged_article_is_one_item_and_a_bodiless_notice_is_kept(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    data = resources.files("keywords.samples").joinpath("tongnan.yaml").read_bytes()
    save_library(Acting("测试", sqlite_store, Clock()), read_library(data, "yaml"))
    summary = _crawl(sqlite_store, tmp_path, f"{site.url}/list/index.html")
    assert summary["outcome"] == "ok", summary
    items = _items(sqlite_store)
    assert set(items) == {"t20210301_101.html", "t20210302_102.html", "t20210303_103.html"}

    paged = items["t20210301_101.html"]
    flat = paged.body.replace("\n", "")
    assert flat.index(PARTS[0]) < flat.index(PARTS[1]) < flat.index(PARTS[2])
    assert "下一页" not in paged.body and "版权所有" not in paged.body
    assert "/art/t20210301_101_3.html" in site.requested
    assert paged.publish_time == datetime(2021, 3, 1, 9, 30, tzinfo=SHANGHAI)
    assert (paged.published_precision, paged.published_source) == ("minute", "byline")

    notice = items["t20210302_102.html"]
    assert notice.title == NOTICE_TITLE and notice.body == "" and notice.body_missing
    assert notice.rules, "a bodiless notice is matched on its title"
    # "2021年3月" is a month: kept as such, never as a day.
    assert notice.published_precision == "month"
    assert notice.publish_time == datetime(2021, 3, 1, tzinfo=SHANGHAI)

    short = items["t20210303_103.html"]
    assert short.body == SHORT and not short.body_missing
    # "03-03 21:10" has no year: the URL's 2021 gives it one.
    assert short.publish_time == datetime(2021, 3, 3, 21, 10, tzinfo=SHANGHAI)


def test_pages_followed_stop_at_the_limit(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    summary = _crawl(
        sqlite_store,
        tmp_path,
        f"{site.url}/list/index.html",
        "-s",
        "YUQING_MATCH=false",
        "-s",
        "YUQING_MAX_ARTICLE_PAGES=2",
    )
    assert summary["outcome"] == "ok", summary
    paged = _items(sqlite_store)["t20210301_101.html"]
    assert PARTS[1] in paged.body and PARTS[2] not in paged.body
    assert "/art/t20210301_101_3.html" not in site.requested

"""The crawler as a Scrapy project (``scrapy.cfg`` at the root): ``scrapy list`` names the
spider types and ``scrapy crawl TYPE -a source=ID`` runs a configured source through the
same pipeline and store as ``yuqing`` (extracted, matched against the library, stored),
as real ``scrapy`` processes against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from pagesite import PageSite, serve_pages

from keywords.io import read_library
from keywords.operations import save_library
from store import ItemQuery, Store, open_store
from store.acting import Acting
from store.clock import Clock
from store.model import Source

ROOT = Path(__file__).resolve().parent.parent
SCRAPY = str(Path(sys.executable).with_name("scrapy"))
FAST = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=WARNING",
    "-s", "HTTPPROXY_ENABLED=false",
]  # fmt: skip
FIRE = "潼南区双江镇一商铺发生火灾 消防救援人员及时扑灭"
FIRE_BODY = "今日凌晨，潼南区双江镇一商铺起火，消防救援人员赶到现场将明火扑灭，无人员伤亡。"
MEETING = "潼南区召开柠檬产业发展推进会"
MEETING_BODY = "会议总结了去年柠檬产业发展情况，部署了今年的重点工作，要求各镇街抓好落实。"


def article(title: str, body: str) -> str:
    return (
        f"<html><head><meta charset='utf-8'><title>{title}_潼南新闻网</title></head><body>"
        f"<div class='article'><h1>{title}</h1><div class='info'>发布时间：2021-03-01 09:30</div>"
        f"<div class='content'><p>{body}</p><p>{body}</p></div></div></body></html>"
    )


SITE = {
    "/robots.txt": "User-agent: *\nDisallow: /private/\n",
    "/list/index.html": (
        "<html><head><meta charset='utf-8'><title>要闻</title></head><body><ul>"
        f"<li><a href='/art/t20210301_101.html'>{FIRE}</a></li>"
        f"<li><a href='/art/t20210301_102.html'>{MEETING}</a></li>"
        "</ul></body></html>"
    ),
    "/art/t20210301_101.html": article(FIRE, FIRE_BODY),
    "/art/t20210301_102.html": article(MEETING, MEETING_BODY),
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


def scrapy(store: Store, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "yuqing.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url}
    return subprocess.run(
        [SCRAPY, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_scrapy_list_names_the_spider_types(sqlite_store: Store, tmp_path: Path) -> None:
    done = scrapy(sqlite_store, tmp_path, "list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["feed", "list", "page", "sitemap"]


def test_scrapy_crawl_runs_a_configured_source_into_the_store(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    data = resources.files("keywords.samples").joinpath("tongnan.yaml").read_bytes()
    save_library(Acting("测试", sqlite_store, Clock()), read_library(data, "yaml"))
    url = f"{site.url}/list/index.html"
    sqlite_store.sources.put(Source("news", "要闻", "list", [url], 600, region="潼南区"))
    done = scrapy(sqlite_store, tmp_path, "crawl", "list", "-a", "source=news", *FAST)
    assert done.returncode == 0, done.stderr[-3000:]
    found = sqlite_store.items.search(ItemQuery(size=10, highlight=False)).hits
    items = {hit.item.title: hit.item for hit in found}
    assert set(items) == {FIRE, MEETING}
    assert items[FIRE].source_id == "news" and FIRE_BODY in items[FIRE].body
    assert items[FIRE].rules, "matched against the store's keyword library"
    assert not items[MEETING].rules
    assert "/robots.txt" in site.requested  # the source's robots policy: obey
    fetched = f"{site.url}/art/t20210301_101.html"
    assert fetched in sqlite_store.fetches.get_many([fetched])


def test_scrapy_crawl_of_an_unknown_source_names_it(sqlite_store: Store, tmp_path: Path) -> None:
    done = scrapy(sqlite_store, tmp_path, "crawl", "list", "-a", "source=nosuch", *FAST)
    assert done.returncode != 0
    assert "source 'nosuch': id: no such source in the store" in done.stderr

"""The store step of the crawl hands a new page with hits to alerting only if its crawl
stored the page first: two crawls that fetched one new page in the same second (two
sources listing it) must not count it twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawler.pipelines import StorePipeline
from crawler.records import Crawled, Page
from store import Item, open_store

T0 = datetime(2026, 12, 2, 6, 0, 0, 123456, tzinfo=UTC)
URL = "http://127.0.0.1:1/news/t20261202_1.html"
HANDED: list[list[str]] = []


def hand_over(items: list[Item]) -> None:
    HANDED.append([i.url for i in items])


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'y.db'}"


def flush(store_url: str, seen: datetime) -> None:
    crawler = get_crawler(
        settings_dict={
            "YUQING_STORE_URL": store_url,
            "YUQING_ON_NEW_HITS": f"{__name__}.hand_over",
        }
    )
    crawler._apply_settings()  # stats and components, as a crawl sets them up
    pipeline = StorePipeline.from_crawler(crawler)
    item = Item(url=URL, title="双江镇一商铺起火", body="现场无人受伤。", first_seen=seen)
    item.rules = ["潼南火灾"]
    page = Page(URL, "news", 200, b"", "text/html")
    pipeline.pending = [Crawled(page, seen, item=item)]
    pipeline.flush()


def test_only_the_crawl_that_stored_a_page_first_hands_it_over(url: str) -> None:
    HANDED.clear()
    flush(url, T0)
    flush(url, T0 + timedelta(milliseconds=400))  # the other source, a moment later
    assert HANDED == [[URL]]
    store = open_store(url)
    try:
        stored = store.items.get(Item(url=URL, title="", body="", first_seen=T0).id)
        assert stored is not None and abs(stored.first_seen - T0) < timedelta(milliseconds=1)
    finally:
        store.close()

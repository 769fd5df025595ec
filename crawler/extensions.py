"""Scrapy extensions of the crawl: what Scrapy would only log becomes part of the run."""

from __future__ import annotations

from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure

from crawler import report


class ItemErrors:
    """A pipeline that raises on an item loses that item: Scrapy logs it and goes on, so
    without this the run would read ``ok, items 0, errors 0`` while nothing was stored (a
    missing data file once did exactly that). Each such item is a run error naming the
    page and the exception; its URL has no fetch record, so the next run tries it again."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        extension = cls(crawler.stats)
        crawler.signals.connect(extension.item_error, signal=signals.item_error)
        return extension

    def item_error(self, item: Any, response: Any, spider: Any, failure: Failure) -> None:
        page = getattr(item, "page", item)
        url = str(getattr(page, "url", "") or getattr(response, "url", "") or "-")
        exc = failure.value
        report.error(self.stats, url, f"processing failed: {type(exc).__name__}: {exc}")

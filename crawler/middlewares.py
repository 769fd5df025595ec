"""Never fetch the same thing twice: skip known articles, ask lists "changed since?"."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler import report
from crawler.settings import clock_of
from crawler.storage import store_of
from store.model import Fetch


class SeenFilterMiddleware:
    """Drops requests for articles fetched in earlier runs (one store look-up per list page),
    whichever source fetched them, so two sources listing one article fetch it once.

    Two processes crawling such sources at the same moment may both fetch a new article
    before either has stored it; that is accepted rather than claimed in the store (a
    write per article link): the copy costs one request, the item keeps its id and first
    ``first_seen``, and alerting makes one alert per event (an event's first item handed
    over again is not counted again)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        # All of one page's output at once, so its article links cost one look-up.
        out = [o async for o in result]
        urls = [o.url for o in out if isinstance(o, Request) and o.meta.get("kind") == "article"]
        known = store_of(self.crawler).fetches.get_many(urls) if urls else {}
        if known:
            assert self.crawler.stats is not None
            report.count(self.crawler.stats, "known_skipped", len(known))
        for o in out:
            if not (isinstance(o, Request) and o.url in known):
                yield o


class ConditionalGetMiddleware:
    """Sends the validators stored for list pages, feeds, sitemaps and watched pages, so an
    unchanged one costs a 304. New validators of list pages are saved when the run ends, and
    only if nothing failed transiently: otherwise the next run would get a 304 and never
    retry the articles that failed."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pending: dict[str, Fetch] = {}
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if request.meta.get("kind") not in ("index", "watch") or "known" in request.meta:
            return
        record = store_of(self.crawler).fetches.get_many([request.url]).get(request.url)
        request.meta["known"] = record is not None
        if record is None:
            return
        if record.etag:
            request.headers["If-None-Match"] = record.etag
        if record.last_modified:
            request.headers["If-Modified-Since"] = record.last_modified

    def process_response(self, request: Request, response: Response) -> Response:
        kind = request.meta.get("kind")
        if kind is None:
            return response  # robots.txt
        stats = self.crawler.stats
        assert stats is not None
        report.count(stats, "pages")
        if response.status == 304:
            report.count(stats, "not_modified")
        elif kind == "index" and response.status == 200:
            fetch = Fetch(
                request.url,
                self.crawler.spider.source.id,  # type: ignore[union-attr]
                clock_of(self.crawler).now(),
                response.status,
                etag=header(response, "ETag"),
                last_modified=header(response, "Last-Modified"),
            )
            self.pending[request.url] = fetch
        return response

    def spider_closed(self) -> None:
        stats = self.crawler.stats
        assert stats is not None
        if self.pending and not report.value(stats, "transient_errors"):
            store_of(self.crawler).fetches.put_many(self.pending.values())


def header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class DeadlineMiddleware:
    """No download outlives its crawl's deadline (``YUQING_DEADLINE_AT``, seconds since the
    epoch; set by a long-lived worker, absent otherwise): each request's download timeout
    is capped at the time left, so at the deadline a hung site's connections time out by
    Scrapy's own per-request timeout while the worker's other crawls go on. After the
    deadline nothing more is fetched, retries included."""

    def __init__(self, at: float) -> None:
        self.at = at

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.getfloat("YUQING_DEADLINE_AT"))

    def process_request(self, request: Request, spider: Any = None) -> None:
        if not self.at:
            return
        left = self.at - time.time()
        if left <= 0:
            raise IgnoreRequest(f"the crawl's deadline has passed: {request.url} not fetched")
        timeout = request.meta.get("download_timeout")
        request.meta["download_timeout"] = min(float(timeout), left) if timeout else left

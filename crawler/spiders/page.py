"""One watched page: fetched each run, conditionally, and stored again when it changed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from scrapy import Request

from crawler.spiders.base import WATCH, SourceSpider
from crawler.urls import parse_url


class PageSpider(SourceSpider):
    name = "page"

    async def start(self) -> AsyncIterator[Request]:
        for n, url in enumerate(self.source.start_urls):
            checked = parse_url(url, f"start_urls[{n}]").url
            yield self.index_request(checked, self.parse_article, kind=WATCH)

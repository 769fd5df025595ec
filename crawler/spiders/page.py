"""One watched page: fetched each run, conditionally, and stored again when it changed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from scrapy import Request

from crawler.spiders.base import WATCH, SourceSpider


class PageSpider(SourceSpider):
    async def start(self) -> AsyncIterator[Request]:
        for url in self.source.start_urls:
            yield self.index_request(url, self.parse_article, kind=WATCH)

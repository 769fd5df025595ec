"""List pages: article links (by selector or by their look) and further pages, including
the script-written paging of government portals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response, TextResponse

from crawler import report
from crawler.links import article_links, crawlable, page_links
from crawler.sources import select
from crawler.spiders.base import SourceSpider


class ListSpider(SourceSpider):
    name = "list"

    list_pages = 0

    def parse_index(self, response: Response) -> Iterator[Any]:
        if response.status == 304 or not isinstance(response, TextResponse):
            if response.status != 304:
                self.note(response.url, "list page is not text")
            return
        self.list_pages += 1
        assert self.crawler.stats is not None
        report.count(self.crawler.stats, "list_pages")
        selectors = self.source.selectors
        if "links" in selectors:
            links = [response.urljoin(u) for u in select(response.selector, selectors["links"])]
        else:
            links = article_links(response.selector, response.url)
        links = self.usable_links(response.url, links)
        if not links:
            self.note(response.url, "no article links found on the list page")
        for url in links:
            yield self.article_request(url)
        if "next" in selectors:
            pages = [response.urljoin(u) for u in select(response.selector, selectors["next"])]
        else:
            pages = page_links(response.selector, response.url)
        pages = [u for u in pages if crawlable(u)]
        budget = self.source.max_pages * len(self.source.start_urls) - self.list_pages
        for url in pages[: max(budget, 0)]:
            yield self.index_request(url, self.parse_index)

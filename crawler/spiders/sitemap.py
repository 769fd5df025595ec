"""Sitemaps (and sitemap indexes): every listed URL on the site is an article."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response
from scrapy.utils.sitemap import Sitemap

from crawler import report
from crawler.spiders.base import SourceSpider


class SitemapSpider(SourceSpider):
    name = "sitemap"

    def parse_index(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            return
        try:
            sitemap = Sitemap(response.body)
        except Exception as e:  # lxml raises several types on garbage
            self.note(response.url, f"not a sitemap: {e}")
            return
        urls = [entry["loc"] for entry in sitemap if entry.get("loc")]
        assert self.crawler.stats is not None
        report.count(self.crawler.stats, "list_pages")
        urls = self.usable_links(response.url, urls)
        if not urls:
            self.note(response.url, "empty sitemap")
        for url in urls:
            if sitemap.type == "sitemapindex":
                yield self.index_request(url, self.parse_index)
            elif urlsplit(url).hostname in self.allowed_domains:
                yield self.article_request(url)

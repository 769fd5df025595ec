"""One spider per source type; they only parse (the pipelines extract and store)."""

from __future__ import annotations

from crawler.spiders.base import SourceSpider
from crawler.spiders.feed import FeedSpider
from crawler.spiders.listing import ListSpider
from crawler.spiders.page import PageSpider
from crawler.spiders.sitemap import SitemapSpider

SPIDERS: dict[str, type[SourceSpider]] = {
    "feed": FeedSpider,
    "list": ListSpider,
    "sitemap": SitemapSpider,
    "page": PageSpider,
}

__all__ = ["SPIDERS", "FeedSpider", "ListSpider", "PageSpider", "SitemapSpider", "SourceSpider"]

"""RSS and Atom feeds: each entry's link is an article; the entry's title and date fill
what the article page lacks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import feedparser
from scrapy.http import Response

from crawler import report
from crawler.dates import parse_date
from crawler.spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    name = "feed"

    def parse_index(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            return
        feed = feedparser.parse(response.body)
        if not feed.entries:
            problem = feed.get("bozo_exception")
            self.note(response.url, f"not a feed: {problem}" if problem else "empty feed")
            return
        assert self.crawler.stats is not None
        report.count(self.crawler.stats, "list_pages")
        for entry in feed.entries:
            link = entry.get("link")
            if not link:
                self.note(response.url, f"feed entry without a link: {entry.get('title')!r}")
                continue
            if not self.usable_links(response.url, [response.urljoin(link)]):
                continue
            fields = {"feed_title": entry.get("title", "")}
            # The raw text, not feedparser's *_parsed: that reads zone-less times as UTC,
            # while Chinese CMSs mean Beijing time.
            raw = entry.get("published") or entry.get("updated") or ""
            if raw and parse_date(raw) is None:
                self.note(response.urljoin(link), f"unparseable feed date {raw!r}")
            elif raw:
                fields["feed_time"] = raw
            yield self.article_request(response.urljoin(link), **fields)

"""The item pipeline: extract -> normalise -> events (crawler/events.py) -> match -> store
-> hand new hits to alerting (crawler/handoff.py).

Each step is a Scrapy item pipeline wired in :mod:`crawler.settings`. Pages that yield no
item travel on as :class:`~crawler.records.Crawled` with a ``failure``, so the store step
records them too and a broken page is not fetched again and again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol, Self

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from scrapy.utils.misc import load_object
from twisted.internet import task

from crawler import report
from crawler.backfill import is_backfill
from crawler.dates import parse_date_info
from crawler.encoding import decode_body
from crawler.extract import Article, extract
from crawler.handoff import FAILED
from crawler.records import Crawled, Page
from crawler.settings import clock_of
from crawler.storage import store_of
from rules.tokens import index_text
from store import Item, Store, item_id
from store.model import Fetch, Source

log = logging.getLogger(__name__)


def _stats(crawler: Crawler) -> StatsCollector:
    assert crawler.stats is not None
    return crawler.stats


class ExtractPipeline:
    """Decodes and extracts each page (crawler/extract.py); selector fields win, feed
    titles and times fill gaps. Tallies the share of U+FFFD for the source's health."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = _stats(crawler)
        self.clock = clock_of(crawler)
        self.backfill_window = timedelta(hours=crawler.settings.getfloat("YUQING_BACKFILL_HOURS"))
        self.first_crawl = crawler.settings.getbool("YUQING_FIRST_CRAWL")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, page: Page) -> Crawled:
        source: Source = self.crawler.spider.source  # type: ignore[union-attr]
        now = self.clock.now()
        crawled = Crawled(page, now)
        override = f"text/html; charset={source.encoding}" if source.encoding else None
        decoded = decode_body(page.body, override or page.content_type)
        if not decoded.is_text:
            return self._failed(crawled, f"not text ({decoded.method})")
        report.count(self.stats, "decoded_chars", len(decoded.text))
        report.count(
            self.stats, "replaced_chars", round(decoded.replacement_share * len(decoded.text))
        )
        crawled.encoding = decoded.encoding
        article = extract(decoded.text, page.url, now=now)
        fields = page.fields
        title = fields.get("title") or article.title or fields.get("feed_title")
        body = fields.get("body") or _joined(article.body, page, override, now)
        if not title:
            return self._failed(crawled, f"no title found ({'; '.join(article.notes)})")
        when, precision, origin = _publish_time(fields, article, now)
        crawled.item = Item(
            url=page.url,
            title=title,
            body=body,
            first_seen=now,
            source_id=source.id,
            publish_time=when,
            published_precision=precision,
            published_source=origin,
            written_time=article.written_time,
            author=article.author or "",
            site_source=article.site_source or "",
            tags=list(source.tags),
            # Stored all the same and matched on its title: a notice whose body could not be
            # extracted is still an alert if its title names the town and the case.
            body_missing=not body,
            # Kept by the store only when the page is new (see store.model.Item.backfill).
            backfill=is_backfill(when, precision, now, self.backfill_window, self.first_crawl),
        )
        crawled.extras["home_region"] = source.region  # places are read in its light
        if not body:
            report.note(self.stats, page.url, "no body found; stored and matched on its title")
        if crawled.item.publish_time is None:
            report.note(self.stats, page.url, "no publish time found")
        return crawled

    def _failed(self, crawled: Crawled, reason: str) -> Crawled:
        crawled.failure = reason
        report.count(self.stats, "parse_failures")
        report.error(self.stats, crawled.page.url, reason)
        return crawled


class NormalizePipeline:
    """Fills ``norm_title``/``norm_body``: the normalised text in the form the stores index,
    so a rule selects the same stored items as the matcher (see keywords.matcher)."""

    def process_item(self, crawled: Crawled) -> Crawled:
        if crawled.item is not None:
            crawled.item.norm_title = index_text(crawled.item.title)
            crawled.item.norm_body = index_text(crawled.item.body)
        return crawled


class ItemMatcher(Protocol):
    """What ``YUQING_MATCHER`` gives: a keyword library that may change between crawls."""

    def refresh(self) -> object:
        """Take up the library's newest version, if there is one."""
        ...

    def match_item(self, item: Item, home: str = "") -> Item:
        """Fill ``item.rules`` and ``item.hits`` (and what analysis finds; ``home`` is the
        source's region)."""
        ...


class MatchPipeline:
    """Matches each item with ``YUQING_MATCHER`` (brought up to the library's newest
    version when the crawl starts), filling ``rules`` and ``hits``; without one, items pass
    through unmatched."""

    def __init__(self, crawler: Crawler) -> None:
        matcher = crawler.settings.get("YUQING_MATCHER")
        self.matcher: ItemMatcher | None = (
            load_object(matcher) if isinstance(matcher, str) else matcher
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        if self.matcher is not None:
            self.matcher.refresh()

    def process_item(self, crawled: Crawled) -> Crawled:
        if self.matcher is not None and crawled.item is not None:
            home = str(crawled.extras.get("home_region", ""))
            crawled.item = self.matcher.match_item(crawled.item, home)
        return crawled


class StorePipeline:
    """Writes items and fetch records in batches, then hands new items that hit a rule to
    ``YUQING_ON_NEW_HITS`` (a callable or its dotted path; a failure is logged and recorded
    in the run, see :mod:`crawler.handoff`). Batches are flushed every
    ``YUQING_STORE_BATCH`` items, at least every ``YUQING_STORE_FLUSH_SECONDS``, and at
    once when a new item hit a rule."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = _stats(crawler)
        settings = crawler.settings
        self.batch_size = settings.getint("YUQING_STORE_BATCH", 100)
        self.flush_seconds = settings.getfloat("YUQING_STORE_FLUSH_SECONDS", 2.0)
        handler = settings.get("YUQING_ON_NEW_HITS")
        self.on_new_hits: Callable[[list[Item]], Any] | None = (
            load_object(handler) if handler else None
        )
        self.pending: list[Crawled] = []
        self.timer = task.LoopingCall(self.flush)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        self.timer.start(self.flush_seconds, now=False)

    def close_spider(self) -> None:
        if self.timer.running:
            self.timer.stop()
        self.flush()

    def process_item(self, crawled: Crawled) -> Crawled:
        self.pending.append(crawled)
        # A new hit goes out at once (with what waits beside it): alerts are the hurry.
        hit = crawled.item is not None and bool(crawled.item.rules) and not crawled.page.known
        if hit or len(self.pending) >= self.batch_size:
            self.flush()
        return crawled

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        store = store_of(self.crawler)
        items = [c.item for c in batch if c.item is not None]
        store.items.upsert_many(items)
        store.fetches.put_many(fetch for c in batch for fetch in _fetches(c))
        new = [c.item for c in batch if c.item is not None and not c.page.known]
        report.count(self.stats, "items", len(items))
        report.count(self.stats, "new_items", len(new))
        if self.on_new_hits is None:
            return
        hits = [item for item in new if item.rules and _stored_first(store, item)]
        if hits:
            try:
                self.on_new_hits(hits)
            except Exception as e:
                # Stored already: the next run of the source hands them again (crawler.handoff).
                log.exception("handing %d new hits to alerting failed", len(hits))
                report.error(self.stats, hits[0].url, f"{FAILED}: {len(hits)} items ({e})")


_SAME_INSTANT = timedelta(milliseconds=1)


def _stored_first(store: Store, item: Item) -> bool:
    """Whether this crawl stored ``item`` first. Two crawls that fetch one new page in the
    same second (two sources listing it) both store it, and the store keeps the first
    ``first_seen``: only the crawl whose first sight was kept hands it to alerting, so the
    alert counts it once. (Stores keep milliseconds.)"""
    stored = store.items.get(item.id)
    return stored is None or abs(stored.first_seen - item.first_seen) < _SAME_INSTANT


def _joined(body: str, page: Page, override: str | None, now: datetime) -> str:
    """The first page's body and the bodies of the article's further pages, in order
    (a part repeating text already kept, as some sites repeat the lead, adds nothing)."""
    bodies = [body] if body else []
    for part in page.parts:
        decoded = decode_body(part.body, override or part.content_type)
        text = extract(decoded.text, part.url, now=now).body if decoded.is_text else ""
        if text and text not in bodies:
            bodies.append(text)
    return "\n".join(bodies)


def _publish_time(
    fields: dict[str, str], article: Article, now: datetime
) -> tuple[datetime | None, str, str]:
    """Publish time, its precision and its source: the source's selector first, then what
    extraction chose, then the feed's date. Never the time of the crawl."""
    picked = parse_date_info(fields.get("time"), now=now, coarse=True)
    if picked is not None and picked.kind != "relative":
        return picked.value, picked.precision, "selector"
    if article.publish_time is not None:
        return (
            article.publish_time,
            article.published_precision or "",
            article.published_source or "",
        )
    feed = parse_date_info(fields.get("feed_time"), now=now)
    if feed is not None and feed.kind == "absolute":
        return feed.value, feed.precision, "feed"
    if picked is not None:
        return picked.value, picked.precision, "selector"
    return None, "", ""


def _fetches(crawled: Crawled) -> list[Fetch]:
    """The fetch record of the page, under its final URL and any URL that redirected to it."""
    page, item = crawled.page, crawled.item
    return [
        Fetch(
            url,
            page.source_id,
            crawled.fetched,
            page.status,
            etag=page.etag,
            last_modified=page.last_modified,
            item_id=item_id(page.url) if item is not None else None,
            reason=crawled.failure,
        )
        for url in (page.url, *page.aliases)
    ]

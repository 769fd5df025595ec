"""What every source spider shares: requests by kind, article pages, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Self
from urllib.parse import urlsplit

from parsel import Selector
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler import report
from crawler.extraction.pagination import next_page
from crawler.links import crawlable
from crawler.middlewares import header
from crawler.records import Page, Part
from crawler.sources import SourceError, select, validate
from crawler.storage import store_of
from crawler.urls import parse_url
from store.model import Source

# Request kinds: ``index`` pages (lists, feeds, sitemaps) are asked "changed since?" and
# list links; ``article`` pages are fetched once ever; a ``watch`` page is both.
INDEX, ARTICLE, WATCH = "index", "article", "watch"
PART = "part"  # a further page of a paged article
FIELDS = ("title", "body", "time")  # selectors applied to article pages
# The settings crawler.render reads to set a rendering crawl up.
RENDER_INPUTS = (
    "YUQING_RENDER_BROWSER",
    "YUQING_RENDER_PAGES",
    "YUQING_RENDER_TIMEOUT",
    "YUQING_RENDER_WAIT",
)


def configured(crawler: Crawler, source_id: str, kind: str) -> Source:
    """The source ``source_id`` of the crawl's store, checked, for a spider of type ``kind``;
    :class:`~crawler.sources.SourceError` naming the source and the field if it cannot be
    crawled so."""
    source = store_of(crawler).sources.get(source_id)
    if source is None:
        raise SourceError(source_id, "id", "no such source in the store")
    if source.type != kind:
        raise SourceError(source_id, "type", f"is {source.type!r}: crawl it with that spider")
    return validate(source)


class SourceSpider(Spider):
    """Crawls one :class:`~store.model.Source`; subclasses parse its index pages. Given a
    source id (``scrapy crawl list -a source=ID``), it crawls that source of the store."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        source = kwargs.get("source")
        if isinstance(source, str):
            # ``scrapy crawl TYPE -a source=ID``: the configured source, from the store.
            kwargs["source"] = source = configured(crawler, source, cls.name)
            crawler.settings.set("ROBOTSTXT_OBEY", source.robots == "obey", priority="spider")
            if source.render:
                # Before the engine exists: its download handlers are made from these.
                from crawler.render import render_settings

                current = {name: crawler.settings.get(name) for name in RENDER_INPUTS}
                current["DOWNLOADER_MIDDLEWARES"] = crawler.settings.getdict(
                    "DOWNLOADER_MIDDLEWARES"
                )
                crawler.settings.setdict(render_settings(source, current), priority="spider")
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.dropped, signal=signals.request_dropped)
        return spider

    def __init__(self, source: Source, **kwargs: Any) -> None:
        super().__init__(name=f"{source.type}:{source.id}", **kwargs)
        self.source = source
        self.allowed_domains = sorted({urlsplit(u).hostname or "" for u in source.start_urls})

    async def start(self) -> AsyncIterator[Request]:
        for n, url in enumerate(self.source.start_urls):
            # The URL as parsed when the source was checked (validate() refused the rest).
            yield self.index_request(parse_url(url, f"start_urls[{n}]").url, self.parse_index)

    def parse_index(self, response: Response) -> Iterator[Any]:
        raise NotImplementedError

    def index_request(
        self, url: str, callback: Callable[..., Any], kind: str = INDEX, **meta: Any
    ) -> Request:
        return Request(
            url,
            callback=callback,
            errback=self.failed,
            meta={"kind": kind, "handle_httpstatus_list": [304], **meta},
        )

    def usable_links(self, page_url: str, urls: list[str]) -> list[str]:
        """The fetchable ones of the article links ``urls`` found on ``page_url``. The
        others (``javascript:``, ``mailto:``, ``tel:``, ``data:``) are skipped, counted and
        noted with an example, so one bad link never costs the page's other articles."""
        assert self.crawler.stats is not None
        good = [u for u in urls if crawlable(u)]
        skipped = [u for u in urls if not crawlable(u)]
        report.count(self.crawler.stats, "links", len(good))
        if skipped:
            report.count(self.crawler.stats, "skipped_links", len(skipped))
            example = skipped[0][:80]
            self.note(
                page_url, f"skipped {len(skipped)} link(s) that are not http(s), e.g. {example}"
            )
        return good

    def article_request(self, url: str, **fields: str) -> Request:
        return Request(
            url,
            callback=self.parse_article,
            errback=self.failed,
            meta={"kind": ARTICLE, "fields": fields},
        )

    def parse_article(self, response: Response) -> Iterator[Page | Request]:
        if response.status == 304:
            return
        page = self.page(response)
        follow = self._next_part(response, page, 1)
        yield follow if follow is not None else page

    def _next_part(self, response: Response, page: Page, number: int) -> Request | None:
        """The request for the article's next page (下一页, ``_2.html``) on the same host,
        while under ``YUQING_MAX_ARTICLE_PAGES``; the parts are joined into one item."""
        assert self.crawler.stats is not None
        limit = self.crawler.settings.getint("YUQING_MAX_ARTICLE_PAGES", 10)
        if number >= limit or not isinstance(response, TextResponse):
            return None
        url = next_page(response.text, response.url, current=number)
        seen = {page.url, *(part.url for part in page.parts)}
        if url is None or url in seen or urlsplit(url).hostname != urlsplit(page.url).hostname:
            return None
        return Request(
            url,
            callback=self.parse_part,
            errback=self.part_failed,
            meta={"kind": PART, "article": page, "number": number + 1},
        )

    def parse_part(self, response: Response) -> Iterator[Page | Request]:
        page: Page = response.meta["article"]
        if response.status == 200:
            content_type = header(response, "Content-Type")
            page.parts.append(Part(response.url, response.body, content_type))
            follow = self._next_part(response, page, response.meta["number"])
            if follow is not None:
                yield follow
                return
        yield page

    def part_failed(self, failure: Failure) -> Iterator[Page]:
        """A later page that cannot be fetched costs that part, not the article."""
        self.failed(failure)
        yield failure.request.meta["article"]  # type: ignore[attr-defined]

    def page(self, response: Response) -> Page:
        fields = dict(response.meta.get("fields", {}))
        # Only with field selectors: building the selector parses the whole page again.
        if isinstance(response, TextResponse) and self.source.selectors.keys() & FIELDS:
            fields |= self.selected_fields(response.selector)
        content_type = header(response, "Content-Type")
        return Page(
            url=response.url,
            source_id=self.source.id,
            status=response.status,
            body=response.body,
            content_type=content_type,
            etag=header(response, "ETag"),
            last_modified=header(response, "Last-Modified"),
            known=bool(response.meta.get("known")),
            aliases=[u for u in response.meta.get("redirect_urls", []) if u != response.url],
            fields=fields,
        )

    def selected_fields(self, selector: Selector) -> dict[str, str]:
        """Title, body and time picked by the source's selectors (where it has them)."""
        out = {}
        for name in FIELDS:
            expression = self.source.selectors.get(name)
            if expression:
                texts = select(selector, expression)
                if texts:
                    out[name] = "\n".join(texts) if name == "body" else texts[0]
        return out

    def failed(self, failure: Failure) -> None:
        """Errback: the reason goes into the run's tally; a challenge marks the source blocked."""
        reason, transient, blocked = report.explain(failure)
        assert self.crawler.stats is not None
        if blocked:
            report.count(self.crawler.stats, "blocked")
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        report.error(self.crawler.stats, url, reason, transient=transient)
        self.logger.info("%s: %s", url, reason)

    def dropped(self, request: Request) -> None:
        """A redirected request the scheduler dropped as already seen closes a redirect loop
        (Scrapy cuts the loop there, before REDIRECT_MAX_TIMES)."""
        chain = request.meta.get("redirect_urls")
        if chain:
            assert self.crawler.stats is not None
            path = " -> ".join([*chain, request.url])
            report.error(self.crawler.stats, chain[0], f"redirect loop: {path}")

    def note(self, url: str, reason: str) -> None:
        """A problem found while parsing (empty feed, bad date) recorded against the source."""
        assert self.crawler.stats is not None
        report.note(self.crawler.stats, url, reason)

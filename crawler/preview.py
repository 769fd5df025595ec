"""Checking source URLs people type in, and "test this source": what a source would yield,
fetched and extracted here and now, nothing stored.

A URL must be http(s) and is parsed once by :mod:`crawler.urls` (the URL checked is the URL
fetched); a host that resolves to a private, loopback, link-local or otherwise internal
address is refused unless the caller allows it for that source (an admin's
explicit choice: the demo site on 127.0.0.1 is added that way). The preview checks every
URL it fetches, redirects included, the same way, and connects to the addresses it checked
(:class:`Pins`): a name whose DNS answers differently a moment later (rebinding) is not
looked up again.

A source marked ``render`` has its HTML pages (a list's start page, a watched page, the
articles) rendered by the browser a crawl uses, with the crawl's limits and guards
(:class:`crawler.render.PageRenderer`); feeds and sitemaps are fetched as usual.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.client import HTTPMessage
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urljoin

import feedparser
from parsel import Selector
from scrapy.utils.sitemap import Sitemap

from crawler.dates import parse_date
from crawler.encoding import decode_body
from crawler.extract import extract
from crawler.links import article_links
from crawler.settings import USER_AGENT
from crawler.sources import select
from crawler.urls import (
    Lookup,
    UrlRefused,
    check_and_resolve,
    internal,
    parse_url,
    system_lookup,
)
from store.model import Source

if TYPE_CHECKING:
    from crawler.render import PageRenderer

TIMEOUT = 15.0
MAX_BYTES = 8 * 1024 * 1024
EXCERPT = 200  # characters of body shown per article


@dataclass
class Fetched:
    url: str
    status: int
    body: bytes
    content_type: str | None
    rendered: bool = False  # the HTML a browser left (UTF-8), not the bytes served
    # (url, reason) of the requests the rendered page made that were refused (not made).
    refused: list[tuple[str, str]] = field(default_factory=list)


class Pins:
    """The checked addresses of the hosts one preview fetches from: each host is looked up
    and checked once, and connections go to those addresses, never to a second answer
    of DNS (rebinding). ``lookup`` and ``is_internal`` replace the system's resolver and
    the standard check (tests)."""

    def __init__(
        self,
        allow_private: bool,
        lookup: Lookup = system_lookup,
        is_internal: Callable[[str], bool] = internal,
    ) -> None:
        self.allow_private, self.lookup, self.is_internal = allow_private, lookup, is_internal
        self.addresses: dict[str, list[str]] = {}

    def check(self, url: object, field: str) -> str:
        """``url`` checked (see :func:`crawler.urls.check_url`), its host's addresses kept."""
        parsed = parse_url(url, field)
        if parsed.host in self.addresses:
            return parsed.url
        checked, found = check_and_resolve(
            url,
            field,
            allow_private=self.allow_private,
            lookup=self.lookup,
            is_internal=self.is_internal,
        )
        if found is not None:
            self.addresses[checked.host] = found
        return checked.url

    def connect(
        self, address: tuple[str, int], timeout: Any = None, source_address: Any = None
    ) -> socket.socket:
        """A connection to the kept addresses of ``address``'s host (the system resolves
        only hosts never checked: private ones an admin allowed)."""
        host, port = address
        pinned = self.addresses.get(host.strip("[]").lower())
        if pinned is None:
            if not self.allow_private:
                raise UrlRefused("url", f"{host} was not checked before connecting")
            return socket.create_connection(address, timeout, source_address)
        error: OSError | None = None
        for ip in pinned:
            try:
                return socket.create_connection((ip, port), timeout, source_address)
            except OSError as e:
                error = e
        raise error or OSError(f"cannot connect to {host}")


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, pins: Pins, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = pins.connect


class _PinnedHTTPS(http.client.HTTPSConnection):
    # TLS is set up on the pinned socket with the host's name (SNI, certificate check).
    def __init__(self, pins: Pins, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = pins.connect


class _PinnedHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    def __init__(self, pins: Pins) -> None:
        urllib.request.HTTPHandler.__init__(self)
        urllib.request.HTTPSHandler.__init__(self)
        self.pins = pins

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_PinnedHTTP, self.pins), req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_PinnedHTTPS, self.pins)
        return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, pins: Pins) -> None:
        self.pins = pins

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        checked = self.pins.check(newurl, "redirect")
        return super().redirect_request(req, fp, code, msg, headers, checked)


def fetch(url: str, *, allow_private: bool, pins: Pins | None = None) -> Fetched:
    """GET ``url`` (at most :data:`MAX_BYTES`), checking it and every redirect, and
    connecting to the addresses checked (``pins``, shared by the fetches of a preview)."""
    pins = pins or Pins(allow_private)
    url = pins.check(url, "url")  # the URL checked is fetched
    # An empty ProxyHandler: the preview goes straight to the site, like the check assumed.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _PinnedHandler(pins), _CheckedRedirects(pins)
    )
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            body = response.read(MAX_BYTES)
            return Fetched(response.url, response.status, body, response.headers["Content-Type"])
    except urllib.error.HTTPError as e:
        return Fetched(url, e.code, b"", e.headers.get("Content-Type"))


def fetch_page(url: str, pins: Pins, renderer: PageRenderer | None) -> Fetched:
    """An HTML page: rendered when the source is (``renderer``), else :func:`fetch`."""
    if renderer is None:
        return fetch(url, allow_private=pins.allow_private, pins=pins)
    final, status, html = renderer.render(pins.check(url, "url"))
    page = Fetched(final, status, html.encode("utf-8"), "text/html; charset=utf-8", True)
    page.refused = list(renderer.refused)
    return page


@dataclass
class PreviewArticle:
    url: str
    status: int
    title: str = ""
    publish_time: datetime | None = None
    excerpt: str = ""
    author: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass
class Preview:
    """The start page's links and the first articles as the crawler would extract them."""

    start_url: str
    status: int
    links: list[str] = field(default_factory=list)
    articles: list[PreviewArticle] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _not_fetched(page: Fetched, shown: Preview | PreviewArticle) -> None:
    """A problem per request of a rendered page that was refused: what it would have
    brought (a body a script fetches) is missing for that reason."""
    for url, reason in page.refused:
        shown.problems.append(f"not fetched {url}: {reason}")


def _links(source: Source, page: Fetched) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Article URLs on the start page (and per URL the fields a feed gives)."""
    extra: dict[str, dict[str, str]] = {}
    if source.type == "page":
        return [page.url], extra
    if source.type == "feed":
        links = []
        for entry in feedparser.parse(page.body).entries:
            if entry.get("link"):
                url = urljoin(page.url, entry["link"])
                links.append(url)
                extra[url] = {"title": entry.get("title", ""), "time": entry.get("published", "")}
        return links, extra
    if source.type == "sitemap":
        try:
            return [e["loc"] for e in Sitemap(page.body) if e.get("loc")], extra
        except Exception:  # lxml raises several types on garbage
            return [], extra
    text = decode_body(page.body, _content_type(source, page)).text
    selector = Selector(text=text, base_url=page.url)
    if "links" in source.selectors:
        return [urljoin(page.url, u) for u in select(selector, source.selectors["links"])], extra
    return article_links(selector, page.url), extra


def _content_type(source: Source, page: Fetched) -> str | None:
    if source.encoding and not page.rendered:
        return f"text/html; charset={source.encoding}"
    return page.content_type


def _article(
    source: Source,
    url: str,
    given: dict[str, str],
    now: datetime,
    pins: Pins,
    renderer: PageRenderer | None = None,
) -> PreviewArticle:
    try:
        page = fetch_page(url, pins, renderer)
    except (UrlRefused, OSError) as e:
        return PreviewArticle(url, 0, problems=[str(e)])
    shown = PreviewArticle(page.url, page.status)
    if page.status >= 400:
        shown.problems.append(f"HTTP {page.status}")
        return shown
    decoded = decode_body(page.body, _content_type(source, page))
    if not decoded.is_text:
        shown.problems.append(f"not text ({decoded.method})")
        return shown
    article = extract(decoded.text, page.url, now=now)
    chosen = dict(given)
    if source.selectors.keys() & {"title", "body", "time"}:
        selector = Selector(text=decoded.text, base_url=page.url)
        for name in ("title", "body", "time"):
            expression = source.selectors.get(name)
            texts = select(selector, expression) if expression else []
            if texts:
                chosen[name] = "\n".join(texts) if name == "body" else texts[0]
    shown.title = chosen.get("title") or article.title or ""
    body = chosen.get("body") or article.body
    shown.excerpt = body[:EXCERPT]
    picked = parse_date(chosen["time"], now=now) if chosen.get("time") else None
    shown.publish_time = picked or article.publish_time
    shown.author = article.author or ""
    shown.problems = [n for n in article.notes if n.startswith("no ")]
    _not_fetched(page, shown)
    return shown


def preview(
    source: Source,
    now: datetime,
    *,
    allow_private: bool = False,
    limit: int = 3,
    pins: Pins | None = None,
    settings: dict[str, Any] | None = None,
) -> Preview:
    """Fetch ``source``'s first start URL and extract its first ``limit`` articles
    (rendered first if the source is, with the crawls' ``settings`` for the browser: a
    :class:`~crawler.sources.SourceError` naming ``render`` if there is none)."""
    pins = pins or Pins(allow_private)
    start = pins.check(source.start_urls[0], "start_urls[0]")
    with contextlib.ExitStack() as stack:
        renderer = None
        if source.render:
            from crawler.render import PageRenderer

            renderer = stack.enter_context(
                PageRenderer(
                    source,
                    lambda u: pins.check(u, "url"),
                    lambda: pins.addresses,
                    settings,
                )
            )
        html = source.type in ("list", "page")  # the start pages a crawl renders
        try:
            page = fetch_page(start, pins, renderer if html else None)
        except OSError as e:
            return Preview(start, 0, problems=[f"cannot fetch {start}: {e}"])
        result = Preview(page.url, page.status)
        _not_fetched(page, result)
        if page.status >= 400:
            result.problems.append(f"HTTP {page.status}")
            return result
        links, given = _links(source, page)
        result.links = links
        if not links:
            result.problems.append("no article links found on the start page")
        for url in links[:limit]:
            result.articles.append(_article(source, url, given.get(url, {}), now, pins, renderer))
        return result

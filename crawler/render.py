"""Rendered pages: sources marked ``render`` are fetched through scrapy-playwright in the
system's Chromium (Debian's ``chromium``; nothing is downloaded), so that what their
scripts build (list links, article titles and bodies) is there when the page is parsed.

Only such crawls get the rendering download handler (:class:`RenderHandler`; a plain
crawl never starts Playwright), and within them only the pages that are parsed as HTML go
through the browser (:class:`RenderMiddleware`): list pages and watched pages, articles
and their further pages. robots.txt, feeds and sitemaps are fetched as usual.

Limits (settings): ``YUQING_RENDER_PAGES`` pages at a time per crawl (one browser per
crawl, one context), ``YUQING_RENDER_TIMEOUT`` seconds per page until it settles
(``YUQING_RENDER_WAIT``: ``networkidle`` by default, i.e. no request for half a second;
``load`` or ``domcontentloaded`` wait less): a page that does not settle in time is a run
error naming its URL. ``YUQING_RENDER_BROWSER`` is the Chromium executable.

Addresses (see docs/security.md): the page request passes the pinning middleware like any
other; the browser is started with the crawl's pinned answers for the source's hosts
(``--host-resolver-rules``), so it connects where the check looked; and every request the
page or a popup of it makes (scripts, images, XHR) is checked against the same pinning
resolver and aborted when its host has an internal address the crawl does not allow
(routes on the page and on the browser context). Redirect hops reach no route: each is
checked as the browser reports it, and the page's redirect chain and final URL once it
settled; a page that went through a refused address is a run error, nothing of it kept.
Service workers are blocked and WebSockets are answered by nothing (no connection is
made).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawler.pinning import AddressRefused, PinningMiddleware, is_literal, resolver_of
from crawler.sources import SourceError
from crawler.urls import UrlRefused
from store.model import Source

BROWSER = "/usr/bin/chromium"
PAGES = 2  # pages rendered at a time per crawl
TIMEOUT = 30.0  # seconds a page may take to settle
WAIT = "networkidle"
WAITS = ("networkidle", "load", "domcontentloaded")
# The request kinds (crawler.spiders.base) parsed as HTML pages.
RENDERED = frozenset({"article", "part", "watch"})
CONDITIONAL = (b"If-None-Match", b"If-Modified-Since")
# Schemes a page may use that make no network request.
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
# Each rendering crawl's handler (one for http and https), for abandon().
_HANDLERS: weakref.WeakKeyDictionary[Crawler, RenderHandler] = weakref.WeakKeyDictionary()
# One rendered preview at a time per process: each starts a Chromium of its own, and API
# requests must not be able to start many at once.
_PREVIEWS = threading.Semaphore(1)
# Browser starts per preview (to map hosts checked after the last start): one per page of
# the largest preview (a start page and 10 articles) and one more.
LAUNCHES = 12


def browser_path(settings: dict[str, Any]) -> str:
    """The Chromium executable (``YUQING_RENDER_BROWSER``: a path or a command name)."""
    name = str(settings.get("YUQING_RENDER_BROWSER") or BROWSER)
    return name if os.sep in name else shutil.which(name) or name


def render_settings(source: Source, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings a crawl of ``source`` (``render`` on) adds to ``settings``; a
    :class:`SourceError` naming the missing browser if it cannot render."""
    browser = browser_path(settings)
    if not (os.path.isfile(browser) and os.access(browser, os.X_OK)):
        raise SourceError(
            source.id,
            "render",
            f"rendering pages needs Chromium, but there is no executable {browser}: install"
            " Debian's chromium package (apt-get install chromium) or point"
            " YUQING_RENDER_BROWSER to its path",
        )
    wait = str(settings.get("YUQING_RENDER_WAIT") or WAIT)
    if wait not in WAITS:
        raise SourceError(
            source.id,
            "render",
            f"YUQING_RENDER_WAIT must be one of {', '.join(WAITS)}, not {wait!r}",
        )
    pages = int(settings.get("YUQING_RENDER_PAGES") or PAGES)
    timeout = float(settings.get("YUQING_RENDER_TIMEOUT") or TIMEOUT)
    middlewares = dict(settings.get("DOWNLOADER_MIDDLEWARES") or {})
    # After conditional GET (650): its validators are taken off rendered requests.
    middlewares["crawler.render.RenderMiddleware"] = 660
    return {
        "DOWNLOAD_HANDLERS": {
            "http": "crawler.render.RenderHandler",
            "https": "crawler.render.RenderHandler",
        },
        "DOWNLOADER_MIDDLEWARES": middlewares,
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": browser, "headless": True},
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": pages,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout * 1000,
        "YUQING_RENDER_WAIT": wait,
    }


def abandon(crawler: Crawler) -> None:
    """Fail ``crawler``'s rendered pages in flight now and render no more (its crawl is
    being stopped: a worker's SIGTERM or a crawl's deadline). Scrapy closes a crawl only
    once its downloads have ended, and a page waiting for a script that never comes would
    hold the close for up to ``YUQING_RENDER_TIMEOUT``."""
    handler = _HANDLERS.get(crawler)
    if handler is not None:
        handler.abandon()


class RenderMiddleware:
    """Marks the requests of a rendering crawl that go through the browser."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.wait = crawler.settings.get("YUQING_RENDER_WAIT") or WAIT

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        kind = request.meta.get("kind")
        source = getattr(self.crawler.spider, "source", None)
        lists = kind == "index" and getattr(source, "type", "") == "list"
        if kind not in RENDERED and not lists:
            return
        request.meta["playwright"] = True
        request.meta["playwright_page_goto_kwargs"] = {"wait_until": self.wait}
        request.meta["playwright_context_kwargs"] = {"service_workers": "block"}
        request.meta["playwright_page_init_callback"] = _no_websockets
        # A browser shown "304 Not Modified" has no page to render: always the full page.
        for name in CONDITIONAL:
            request.headers.pop(name, None)


async def _no_websockets(page: Any, request: Request) -> None:
    """A page's WebSockets are routed to nothing: no connection leaves the browser."""
    await page.route_web_socket("**", lambda socket: None)


class RenderHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler with the crawl's address checks (module doc). Requests
    not marked for the browser go to Scrapy's HTTP handler, as in a plain crawl."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.crawler = crawler
        self.guard = PinningMiddleware(crawler)
        self.checking = crawler.settings.getbool("YUQING_PIN_ADDRESSES", True)
        self.abort_request: Callable[[Any], Awaitable[bool] | bool] | None = self._refused
        self.abandoned = False
        self.closed = False
        # Each page in flight (by its Scrapy request) and the checks of its redirect hops.
        self._page_of: dict[Request, Any] = {}
        self._hops: dict[Any, list[asyncio.Future[IgnoreRequest | None]]] = {}
        _HANDLERS[crawler] = self

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """The crawl's one handler for both schemes: one Playwright driver per crawl."""
        shared = _HANDLERS.get(crawler)
        return shared if isinstance(shared, cls) else cls(crawler)

    async def close(self) -> None:
        if not self.closed:  # once, though Scrapy closes it for each scheme
            self.closed = True
            await super().close()

    def abandon(self) -> None:
        """See :func:`abandon`: the browser is closed, pages in flight fail at once."""
        if self.abandoned:
            return
        self.abandoned = True
        browser = getattr(self, "browser", None)
        if browser is not None:
            deferred_from_coro(browser.close())

    async def _download_request_with_retry(self, request: Request, spider: Spider) -> Response:
        # Also where scrapy-playwright retries a page whose browser went away: not now.
        if self.abandoned:
            raise IgnoreRequest(f"not rendered: the crawl is stopping ({request.url})")
        try:
            response = await super()._download_request_with_retry(request, spider)
        except Exception as e:
            if self.abandoned:
                raise IgnoreRequest(f"not rendered: the crawl is stopping ({request.url})") from e
            raise
        finally:
            page = self._page_of.pop(request, None)
            hops = self._hops.pop(page, []) if page is not None else []
        await self._check_redirects(request, response, hops)
        return response

    async def _check_redirects(
        self, request: Request, response: Response, hops: list[asyncio.Future[IgnoreRequest | None]]
    ) -> None:
        """Refuses a page that went through a redirect (no route sees one: Playwright) to
        an address the crawl does not allow, or whose scripts were redirected to one: the
        request was made, but what the page shows is not kept (a run error). A hop that
        failed otherwise (a name not found) failed in the browser too: only logged."""
        for refused in await asyncio.gather(*hops):
            if isinstance(refused, AddressRefused):
                raise refused
        # scrapy-playwright lists the page's redirect hops (its first URL first).
        for url in [*request.meta.get("redirect_urls", []), response.url]:
            refused = await self._judgement(url)
            if refused is not None:
                self._refuse(url, str(refused))
            if isinstance(refused, AddressRefused):
                raise refused

    async def _create_page(self, request: Request, spider: Spider) -> Any:
        page = await super()._create_page(request, spider)
        self._page_of[request] = page
        self._hops[page] = []
        return page

    async def _create_browser_context(
        self, name: str, context_kwargs: dict[str, Any] | None, spider: Spider | None = None
    ) -> Any:
        """The context's own guards, under the routes scrapy-playwright gives each page it
        opens: a popup's requests pass the same check, its WebSockets go nowhere, and
        every redirect hop is checked as it is seen (:meth:`_hop`)."""
        wrapper = await super()._create_browser_context(name, context_kwargs, spider)
        context = wrapper.context
        await context.route_web_socket("**", lambda socket: None)
        await context.route("**", self._route)
        context.on("request", self._hop)
        return wrapper

    async def _route(self, route: Any) -> None:
        if await self._refused(route.request):
            await route.abort()
        else:
            await route.continue_()

    def _hop(self, request: Any) -> None:
        """A request the browser made: a redirect hop is checked (no route saw it), and
        kept with its page's checks, which the page's download awaits."""
        if request.redirected_from is None:
            return
        check = asyncio.ensure_future(self._hop_refused(request.url))
        try:
            page = request.frame.page
        except Exception:  # a worker's request has no frame (workers are blocked)
            return
        if page in self._hops:
            self._hops[page].append(check)

    async def _hop_refused(self, url: str) -> IgnoreRequest | None:
        refused = await self._judgement(url)
        if refused is not None:
            self._refuse(url, str(refused))
        return refused

    async def _maybe_launch_browser(self) -> None:
        if self.abandoned:
            raise IgnoreRequest("not rendered: the crawl is stopping")
        if not hasattr(self, "browser"):
            rules = self._pinned_hosts()
            if rules:
                options = self.config.launch_options
                args = [a for a in options.get("args", []) if "host-resolver-rules" not in a]
                options["args"] = [*args, f"--host-resolver-rules={rules}"]
        await super()._maybe_launch_browser()

    def _pinned_hosts(self) -> str:
        """Chromium's resolver rules: each of the source's host names the crawl has
        looked up (its first request passed the pinning middleware before the browser
        starts) maps to the checked address, so the browser makes no lookup of its own."""
        source = getattr(self.crawler.spider, "source", None)
        resolver = resolver_of(self.crawler)
        rules = []
        for url in getattr(source, "start_urls", []):
            host = (urlsplit(url).hostname or "").lower()
            found = resolver.cached(host) if host and not is_literal(host) else None
            if found:
                address = found[0]
                rules.append(f"MAP {host} {f'[{address}]' if ':' in address else address}")
        return ", ".join(dict.fromkeys(rules))

    async def _refused(self, request: Any) -> bool:
        """Whether to abort a request the page makes (Playwright's request): see
        :meth:`_judgement`."""
        refused = await self._judgement(request.url)
        return refused is not None and self._refuse(request.url, str(refused))

    async def _judgement(self, url: str) -> IgnoreRequest | None:
        """Why the page may not fetch ``url``: a scheme that is not http(s) and makes a
        request, or a host with an internal address this crawl does not allow (the
        pinning middleware's judgement, :class:`AddressRefused`); None if it may."""
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES:
            return None
        if parts.scheme not in ("http", "https"):
            return IgnoreRequest(f"not http(s): {parts.scheme}")
        host = (parts.hostname or "").lower()
        if not self.checking or not host:
            return None
        resolver = resolver_of(self.crawler)
        found = resolver.cached(host)
        try:
            if found is None:
                found = await maybe_deferred_to_future(resolver.addresses(host))
            self.guard._judge(host, found)
        except AddressRefused as e:
            return e
        except Exception as e:  # a lookup failure: the browser would fail it too
            return IgnoreRequest(f"host name not found ({e})")
        return None

    def _refuse(self, url: str, reason: str) -> bool:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("yuqing/render_refused")
        spider = self.crawler.spider
        if spider is not None:
            spider.logger.info("rendering: not fetched %s: %s", url, reason)
        return True


class PageRenderer:
    """Pages rendered outside a crawl, as a crawl renders them: for the source preview
    (:mod:`crawler.preview`), which runs in the API's request thread (no reactor, no event
    loop: Playwright's synchronous API). The same browser and limits
    (:func:`render_settings`: ``YUQING_RENDER_BROWSER``, ``_WAIT``, ``_TIMEOUT``), the
    same guards as :class:`RenderHandler`, at the level of the browser context so that a
    popup's requests pass them too: every request a page makes goes through ``check``
    (which raises for a refused URL: the preview's address check) and is aborted if
    refused, service workers are blocked and WebSockets answered by nothing. Redirect hops
    never reach a route (Playwright), so each hop is checked as it is seen and after the
    page settled (with its final URL): a page that went to a refused address, or whose
    scripts read a redirect to one, is refused (:class:`RenderRefused`), its content
    never read. The hosts ``pinned`` (checked) resolve to their checked addresses
    (``--host-resolver-rules``): the browser is restarted before a page when hosts were
    checked since it started (an article on another host), at most :data:`LAUNCHES` times.

    One browser per renderer (a context manager), started on the first page; one
    renderer at a time per process holds a browser (:data:`_PREVIEWS`): another waits up
    to the render timeout, then is refused (:class:`RenderBusy`). HTML over ``max_bytes``
    (UTF-8; the plain preview's :data:`crawler.preview.MAX_BYTES` by default) is refused
    (:class:`RenderTooLarge`) before it leaves the browser.
    """

    def __init__(
        self,
        source: Source,
        check: Callable[[str], object],
        pinned: Callable[[], dict[str, list[str]]],
        settings: dict[str, Any] | None = None,
        *,
        max_bytes: int | None = None,
    ) -> None:
        from crawler.preview import MAX_BYTES
        from crawler.settings import SETTINGS

        given = SETTINGS | (settings or {})
        self.settings = render_settings(source, given)  # a missing browser: SourceError
        self.check, self.pinned = check, pinned
        self.max_bytes = MAX_BYTES if max_bytes is None else max_bytes
        self.refused: list[tuple[str, str]] = []  # (url, reason) of the last page's aborts
        self._hops: list[tuple[str, str]] = []  # refused redirect hops of the last page
        self._playwright: Any = None
        self._browser: Any = None
        self._mapped: frozenset[str] = frozenset()  # the resolver rules the browser has
        self._launches = 0
        self._holding = False  # this renderer holds _PREVIEWS

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._close_browser()
        finally:
            if self._holding:
                self._holding = False
                _PREVIEWS.release()

    def _close_browser(self) -> None:
        from playwright.sync_api import Error as PlaywrightError

        # A browser that died already cannot be closed: nothing more to release.
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                self._browser.close()
            self._browser = None
        if self._playwright is not None:
            with contextlib.suppress(PlaywrightError):
                self._playwright.stop()
            self._playwright = None

    def _rules(self) -> frozenset[str]:
        return frozenset(
            f"MAP {host} {f'[{found[0]}]' if ':' in found[0] else found[0]}"
            for host, found in self.pinned().items()
            if found and not is_literal(host)
        )

    def _timeout(self) -> float:
        """The render timeout, in milliseconds (Playwright's unit)."""
        return float(self.settings["PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT"])

    def _hold(self, url: str) -> None:
        """Takes the process's one rendered preview (:data:`_PREVIEWS`) for this renderer."""
        if self._holding:
            return
        seconds = self._timeout() / 1000
        if not _PREVIEWS.acquire(timeout=seconds):
            raise RenderBusy(url, f"waited {seconds:g} s")
        self._holding = True

    def _browser_for(self, url: str) -> Any:
        """The browser, started (again) so that every host checked so far is mapped."""
        from playwright.sync_api import sync_playwright

        rules = self._rules()
        if self._browser is not None and not rules <= self._mapped:
            self._close_browser()
        if self._browser is not None:
            return self._browser
        if self._launches >= LAUNCHES:
            raise RenderTooSpread(url, f"the browser was started {LAUNCHES} times")
        options = dict(self.settings["PLAYWRIGHT_LAUNCH_OPTIONS"])
        if rules:
            options["args"] = [f"--host-resolver-rules={', '.join(sorted(rules))}"]
        self._launches += 1
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(**options)
        except Exception:
            self._close_browser()
            raise
        self._mapped = rules
        return self._browser

    def render(self, url: str) -> tuple[str, int, str]:
        """The page at ``url`` (checked by the caller) once it settled: its final URL, HTTP
        status and HTML as its scripts left it. A page that does not settle within the
        timeout raises :class:`RenderTimedOut`; one that went to a refused address
        :class:`RenderRefused`; a browser error :class:`RenderFailed`. :attr:`refused`
        lists the requests of the page that were not made."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        from crawler.settings import USER_AGENT

        self._hold(url)
        self.refused, self._hops = [], []
        context = None
        try:
            browser = self._browser_for(url)
            context = browser.new_context(service_workers="block", user_agent=USER_AGENT)
            context.route_web_socket("**", lambda socket: None)
            context.route("**", self._route)
            context.on("request", self._hop)
            page = context.new_page()
            wait = self.settings["YUQING_RENDER_WAIT"]
            response = page.goto(url, wait_until=wait, timeout=self._timeout())
            self._check_chain(url, response, page.url)
            html = self._html(page, url)
            # A hop seen until the HTML was read (events come in order) may be in it.
            if self._hops:
                raise RenderRefused(url, self._hops[0][1])
            return page.url, response.status if response else 200, html
        except PlaywrightTimeout as e:
            raise RenderTimedOut(url, _first_line(e)) from e
        except PlaywrightError as e:  # the browser would not start, or went away
            raise RenderFailed(url, _first_line(e)) from e
        finally:
            if context is not None:
                # A browser gone away fails the close too: the first error is the one told.
                with contextlib.suppress(PlaywrightError):
                    context.close()

    def _check_chain(self, url: str, response: Any, final: str) -> None:
        """Refuses the page if a redirect hop of its own or the URL it ended on is not
        allowed: the hops were not routed."""
        hops = []
        request = response.request if response is not None else None
        while request is not None:
            hops.append(request.url)
            request = request.redirected_from
        for hop in [*reversed(hops), final]:
            reason = self._reason(hop)
            if reason is not None:
                raise RenderRefused(url, reason)

    def _html(self, page: Any, url: str) -> str:
        """The page's HTML, refused before it is read if over :attr:`max_bytes`."""
        size = int(page.evaluate(_HTML_BYTES))
        if size <= self.max_bytes:
            html = str(page.content())
            size = len(html.encode("utf-8"))
            if size <= self.max_bytes:
                return html
        raise RenderTooLarge(url, f"{size} bytes, over {self.max_bytes}")

    def _reason(self, url: str) -> str | None:
        """Why the preview may not fetch ``url``; None if it may."""
        scheme = urlsplit(url).scheme
        if scheme in LOCAL_SCHEMES:
            return None
        if scheme not in ("http", "https"):
            return f"not http(s): {scheme}"
        try:
            self.check(url)
        except (UrlRefused, OSError, ValueError) as e:
            return str(e)
        return None

    def _route(self, route: Any) -> None:
        url = route.request.url
        reason = self._reason(url)
        if reason is None:
            route.continue_()
        else:
            self.refused.append((url, reason))
            route.abort()

    def _hop(self, request: Any) -> None:
        """A request the browser made (the context's ``request`` event): a redirect hop,
        which no route saw, is checked now; one refused taints the page."""
        if request.redirected_from is None:
            return
        reason = self._reason(request.url)
        if reason is not None:
            self.refused.append((request.url, reason))
            self._hops.append((request.url, reason))


# The UTF-8 size of a page's HTML, measured in the browser (none of it read yet).
_HTML_BYTES = (
    "() => new TextEncoder().encode(document.documentElement"
    " ? document.documentElement.outerHTML : '').length"
)


def _first_line(error: BaseException) -> str:
    """What the browser said, as a crawl's run error has it (:mod:`crawler.report`)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class RenderFailed(OSError):
    """A page the browser could not render (preview); the message says why, as a crawl's
    run error does (:mod:`crawler.report`)."""

    prefix = "render failed"

    def __init__(self, url: str, text: str) -> None:
        super().__init__(f"{self.prefix}: {text} ({url})")
        self.url = url


class RenderTimedOut(RenderFailed):
    prefix = "render timed out: the page did not settle in time"


class RenderRefused(RenderFailed):
    """A page that went (or whose scripts were redirected) to an address the preview does
    not allow: what it shows is not returned."""

    prefix = "render refused: the page went to an address that is not allowed"


class RenderTooLarge(RenderFailed):
    prefix = "render refused: the rendered page is larger than the preview reads"


class RenderTooSpread(RenderFailed):
    prefix = "render refused: the preview's pages are on more hosts than it maps"


class RenderBusy(RenderFailed):
    prefix = "render refused: another rendered preview is running; try again when it is done"

"""Scrapy settings for one crawl run: polite by default, every yuqing component wired here."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from store.clock import Clock
from store.model import Source

VERSION = "0.1"
USER_AGENT = (
    f"yuqing/{VERSION} (public-opinion monitoring crawler; "
    "+https://github.com/yuqing-project/yuqing)"
)

SETTINGS: dict[str, Any] = {
    "BOT_NAME": "yuqing",
    "USER_AGENT": USER_AGENT,
    "ROBOTSTXT_OBEY": True,
    "ROBOTSTXT_USER_AGENT": "yuqing",
    # One run crawls one source, usually one site: these caps are per site.
    "CONCURRENT_REQUESTS": 8,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
    "DOWNLOAD_DELAY": 0.5,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
    "DOWNLOAD_TIMEOUT": 30,
    # Articles are far below this; bigger bodies are dumps or traps (see crawler/extract.py).
    "DOWNLOAD_MAXSIZE": 8 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 2 * 1024 * 1024,
    "REDIRECT_MAX_TIMES": 5,
    "RETRY_TIMES": 1,
    "CLOSESPIDER_TIMEOUT": 1800,  # a run that takes longer is stopped and recorded
    # Cookies stay off: nothing yuqing reads needs a session, and anti-bot challenges that
    # set one in script are to be reported, not answered.
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "LOG_LEVEL": "INFO",
    "SPIDER_MIDDLEWARES": {"crawler.middlewares.SeenFilterMiddleware": 600},
    "DOWNLOADER_MIDDLEWARES": {
        # After the offsite filter (50), before robots.txt (100): see crawler.pinning.
        "crawler.pinning.PinningMiddleware": 60,
        # After Scrapy's DownloadTimeoutMiddleware (350), which sets each request's timeout.
        "crawler.middlewares.DeadlineMiddleware": 360,
        "crawler.middlewares.ConditionalGetMiddleware": 650,
        # Off (COOKIES_ENABLED above); left in, its module and tldextract's are imported
        # by every crawl process only to say so.
        "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    },
    # Each host is looked up once per crawl process, its addresses checked and pinned.
    "TWISTED_DNS_RESOLVER": "crawler.pinning.PinningResolver",
    "EXTENSIONS": {
        "crawler.extensions.ItemErrors": 500,
        # Off by the settings above; out of the list, their modules (the remote control's
        # aiohttp) are not imported at all.
        "scrapy.extensions.telnet.TelnetConsole": None,
        "scrapy.extensions.remote_control.RemoteControl": None,
    },
    "ITEM_PIPELINES": {
        "crawler.pipelines.ExtractPipeline": 100,
        "crawler.pipelines.NormalizePipeline": 200,
        "crawler.events.EventPipeline": 300,
        "crawler.pipelines.MatchPipeline": 400,
        "crawler.pipelines.StorePipeline": 500,
    },
    # yuqing's own, given by the composition root (yuqing.crawl) or a test:
    # business time (a store.clock.Clock; None: the real time in Asia/Shanghai);
    "YUQING_CLOCK": None,
    # what matches each item (crawler.pipelines.ItemMatcher); None: items are not matched;
    "YUQING_MATCHER": None,
    # where new hits go: a callable taking list[store.Item] (or its dotted path); None:
    # nowhere (they are stored, and re-driven by a later run that has a hand-off).
    "YUQING_ON_NEW_HITS": None,
    # Likewise for the run's source health events (list[store.model.HealthEvent]).
    "YUQING_ON_HEALTH_EVENTS": None,
    "YUQING_STORE_BATCH": 100,
    "YUQING_STORE_FLUSH_SECONDS": 2.0,
    "YUQING_EVENT_WINDOW_DAYS": 7,
    # Pages published longer ago than this at first sight are backfill (crawler.backfill).
    "YUQING_BACKFILL_HOURS": 72,
    # Whether a source's first crawl (nothing of it stored yet) brings backfill only;
    # crawler.run sets YUQING_FIRST_CRAWL for the run from it.
    "YUQING_BACKFILL_FIRST_CRAWL": True,
    "YUQING_FIRST_CRAWL": False,
    # DNS rebinding (crawler.pinning): whether hosts resolving to internal addresses are
    # refused at fetch time; how names are looked up (None: getaddrinfo); which networks
    # are internal (None: crawler.urls.internal); host names allowed internal addresses.
    "YUQING_PIN_ADDRESSES": True,
    "YUQING_PIN_SECONDS": 1800,  # how long an answer is kept (a run looks a name up once)
    "YUQING_DNS_LOOKUP": None,
    "YUQING_INTERNAL_NETWORKS": None,
    "YUQING_PRIVATE_HOSTS": [],
    # Sources marked render (crawler.render): the Chromium executable, pages rendered at a
    # time per crawl, seconds a page may take to settle, and what settled means.
    "YUQING_RENDER_BROWSER": "/usr/bin/chromium",
    "YUQING_RENDER_PAGES": 2,
    "YUQING_RENDER_TIMEOUT": 30,
    "YUQING_RENDER_WAIT": "networkidle",
}


def settings_for(source: Source, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings of a run of ``source``: the defaults, its robots policy, ``overrides``,
    and for a source marked ``render`` the browser's (:mod:`crawler.render`; only such a
    crawl starts one)."""
    settings = SETTINGS | {"ROBOTSTXT_OBEY": source.robots == "obey"} | (overrides or {})
    if source.render:
        from crawler.render import render_settings

        settings |= render_settings(source, settings)
    return settings


def clock_of(crawler: Crawler) -> Clock:
    """The crawl's clock (``YUQING_CLOCK``)."""
    clock = crawler.settings.get("YUQING_CLOCK")
    return clock if isinstance(clock, Clock) else Clock()

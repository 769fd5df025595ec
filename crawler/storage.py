"""The store a crawl writes to, opened once per crawler from its settings."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.crawler import Crawler

from store import Store, open_store

_OPEN: WeakKeyDictionary[Crawler, Store] = WeakKeyDictionary()


def store_of(crawler: Crawler) -> Store:
    """The store named by ``YUQING_STORE_URL`` (and ``YUQING_STORE_OPTIONS``), shared by
    the crawler's components and closed when its engine stops."""
    store = _OPEN.get(crawler)
    if store is None:
        url = crawler.settings.get("YUQING_STORE_URL")
        if not url:
            raise RuntimeError("YUQING_STORE_URL is not set: a crawl needs a store")
        store = open_store(url, **crawler.settings.getdict("YUQING_STORE_OPTIONS"))
        _OPEN[crawler] = store

        def closer() -> None:
            release(crawler)

        # Scrapy's signals hold their receivers weakly: the crawler keeps this one alive
        # (a lambda given alone was collected at once, and the store was never closed).
        _CLOSERS[crawler] = closer
        crawler.signals.connect(closer, signal=signals.engine_stopped)
    return store


_CLOSERS: WeakKeyDictionary[Crawler, object] = WeakKeyDictionary()


def release(crawler: Crawler) -> None:
    """Close the crawler's store, if it opened one (when its engine stops; a long-lived
    worker also calls it when the crawl is over)."""
    _CLOSERS.pop(crawler, None)
    _close(crawler)


def _close(crawler: Crawler) -> None:
    store = _OPEN.pop(crawler, None)
    if store is not None:
        store.close()

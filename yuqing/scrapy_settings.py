"""The Scrapy project's settings (``scrapy.cfg`` names this module), so that ``scrapy list``,
``scrapy crawl TYPE -a source=ID`` and ``scrapy shell URL`` work on the project.

The crawl's own settings (:data:`crawler.settings.SETTINGS`: the pipeline, middlewares,
politeness) plus what ``yuqing.crawl`` injects: the configured store, the keyword
library's matcher and the hand-off of new hits and health events to alerting. The
configuration is read like ``yuqing`` reads it (``yuqing.toml``, ``$YUQING_CONFIG``,
``YUQING_*``); nothing is opened until a crawl first needs it, so ``scrapy list`` touches
no store.
"""

from __future__ import annotations

from typing import Any

from crawler.settings import SETTINGS
from store import Item
from store.model import HealthEvent
from yuqing.config import load
from yuqing.wiring import clock_for, store_options

_config = load()


class _Parts:
    """The matcher and the hand-offs, built on first use over a store of their own."""

    def __init__(self) -> None:
        self._built: tuple[Any, Any] | None = None

    def _parts(self) -> tuple[Any, Any]:
        if self._built is None:
            from keywords.live import LiveMatcher
            from store import open_store
            from yuqing.crawl import ToAlerting

            store = open_store(_config.store.url, **store_options(_config))
            self._built = (LiveMatcher(store), ToAlerting(_config, store, clock))
        return self._built

    # crawler.pipelines.ItemMatcher
    def refresh(self) -> object:
        return self._parts()[0].refresh()

    def match_item(self, item: Item, home: str = "") -> Item:
        matched: Item = self._parts()[0].match_item(item, home)
        return matched

    def on_new_hits(self, items: list[Item]) -> None:
        self._parts()[1](items)

    def on_health_events(self, events: list[HealthEvent]) -> None:
        self._parts()[1].health(events)

    def __deepcopy__(self, memo: dict[int, Any]) -> _Parts:
        return self  # Scrapy deep-copies its settings; one set of parts per process


parts = _Parts()
clock = clock_for(_config)

globals().update(SETTINGS)
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
YUQING_STORE_URL = _config.store.url
YUQING_STORE_OPTIONS = store_options(_config)
YUQING_CLOCK = clock
YUQING_MATCHER = parts
YUQING_ON_NEW_HITS = parts.on_new_hits
YUQING_ON_HEALTH_EVENTS = parts.on_health_events
YUQING_BACKFILL_HOURS = _config.alerts.backfill_hours
YUQING_BACKFILL_FIRST_CRAWL = _config.alerts.backfill_first_crawl

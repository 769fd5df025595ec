"""One crawl of one source in a process of its own: ``python -P -m yuqing.crawl SOURCE_ID``.

The composition root of a crawl process: it reads the configuration, opens the store and
gives the crawl (:func:`crawler.run.run_source`) its clock, its matcher (the store's
current keyword library) and its hand-off of new hits and source health events to
alerting. Prints one JSON line, the run's summary; exits 3 when another process holds the
source, 1 when the run failed.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from crawler.run import LEASE, run_source
from keywords.live import LiveMatcher
from monitor.alerts.engine import Alerting
from store import Item, Store, open_store
from store.clock import Clock
from store.model import HealthEvent
from yuqing.config import Config, load
from yuqing.wiring import build_alerting, clock_for, store_options

EXIT_FAILED, EXIT_BUSY = 1, 3


class ToAlerting:
    """The alert engine's intake, built on first use: a broken alerting configuration then
    fails the hand-off (recorded in the run, re-driven by the next), not the crawl."""

    def __init__(self, config: Config, store: Store, clock: Clock) -> None:
        self.config, self.store, self.clock = config, store, clock
        self.alerting: Alerting | None = None

    def __call__(self, items: list[Item]) -> None:
        self._alerting().ingest(items)

    def health(self, events: list[HealthEvent]) -> None:
        """Source health events -> administrators' alerts (one per source and problem)."""
        alerting = self._alerting()
        for e in events:
            alerting.health_event(e.source_id, e.kind, e.message, e.time)

    def _alerting(self) -> Alerting:
        if self.alerting is None:
            self.alerting = build_alerting(self.config, self.store, self.clock)
        return self.alerting

    def __deepcopy__(self, memo: dict[int, Any]) -> ToAlerting:
        # Scrapy deep-copies its settings; this holds the process's open store, to share.
        return self


def settings_for(config: Config, store: Store, clock: Clock) -> dict[str, Any]:
    """The crawl's own settings: where its store is, its matcher and hand-offs."""
    to_alerting = ToAlerting(config, store, clock)
    return {
        "YUQING_STORE_URL": config.store.url,
        "YUQING_STORE_OPTIONS": store_options(config),
        "YUQING_MATCHER": LiveMatcher(store),
        "YUQING_ON_NEW_HITS": to_alerting,
        "YUQING_ON_HEALTH_EVENTS": to_alerting.health,
        "YUQING_BACKFILL_HOURS": config.alerts.backfill_hours,
        "YUQING_BACKFILL_FIRST_CRAWL": config.alerts.backfill_first_crawl,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yuqing.crawl", description=__doc__)
    parser.add_argument("source_id")
    parser.add_argument("--config", help="yuqing configuration file")
    parser.add_argument(
        "-s", "--set", action="append", default=[], metavar="NAME=VALUE",
        help="override a Scrapy setting (JSON values allowed), e.g. -s DOWNLOAD_DELAY=0",
    )  # fmt: skip
    parser.add_argument("--lease", type=float, default=LEASE.total_seconds(), help="seconds")
    parser.add_argument(
        "--if-due", action="store_true", help="skip if another process ran it recently"
    )
    args = parser.parse_args(argv)
    config = load(args.config)
    clock = clock_for(config)
    store = open_store(config.store.url, **store_options(config))
    try:
        settings = settings_for(config, store, clock)
        for pair in args.set:
            name, _, value = pair.partition("=")
            try:
                settings[name] = json.loads(value)
            except ValueError:
                settings[name] = value
        lease = timedelta(seconds=args.lease)
        run = run_source(store, args.source_id, settings, lease, args.if_due, clock)
    finally:
        store.close()
    if run is None:
        # Leased by another process, or (--if-due) run by one within its interval.
        print(json.dumps({"source": args.source_id, "outcome": "busy"}), flush=True)
        return EXIT_BUSY
    summary = {
        "source": run.source_id,
        "run": run.id,
        "outcome": run.outcome,
        "pages": run.pages,
        "not_modified": run.not_modified,
        "items": run.items,
        "new_items": run.new_items,
        "errors": len(run.errors),
        "seconds": round((run.finished or run.started).timestamp() - run.started.timestamp(), 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return EXIT_FAILED if run.outcome in ("failed", "lost") else 0


if __name__ == "__main__":
    sys.exit(main())

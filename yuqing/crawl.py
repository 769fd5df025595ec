"""Crawl processes: one crawl of one source in a process of its own (``python -I -m
yuqing.crawl SOURCE_ID``), or a long-lived worker running many crawls at a time in one
reactor (``python -I -m yuqing.crawl --worker``, started by the scheduler's pool,
:mod:`crawler.pool`).

The composition root of a crawl process: it reads the configuration, opens the store and
gives the crawl (:func:`crawler.run.run_source`) its clock, its matcher (the store's
current keyword library) and its hand-off of new hits and source health events to
alerting. A single crawl prints one JSON line, the run's summary, and exits 3 when another
process holds the source, 1 when the run failed. A worker reads one JSON job per line on
standard input (``{"job": N, "source": ID, "if_due": bool, "deadline": seconds}``),
answers each with a line ``{"job": N, "summary": {...}}`` when it is done, finishes its
crawls and exits at the end of its input, and stops them all at once on SIGTERM (their
runs recorded ``abandoned``). Every run opens the store afresh (a worker lives for hours;
nothing it reads may be a connection's old view), and a crawl that passes its deadline is
closed without touching the worker's other crawls.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from crawler.run import DEADLINE, LEASE, abandon_rendering, run_source
from crawler.settings import settings_for as source_settings
from store import Item, Store, open_store
from store.clock import Clock
from store.model import CrawlRun, HealthEvent, Source
from yuqing.config import Config, load
from yuqing.tablecache import warm_normalizer
from yuqing.wiring import build_alerting, clock_for, overrides, store_options

# The matcher (analysis data, the keyword model) and the alert engine are imported when a
# crawl needs them: a crawl run with ``-s YUQING_MATCHER=null`` (benches) or without new
# hits spends no start-up on them.
if TYPE_CHECKING:
    from keywords.live import LiveMatcher
    from monitor.alerts.engine import Alerting

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


def settings_for(
    config: Config,
    store: Store,
    clock: Clock,
    matcher: LiveMatcher | None = None,
    given: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The crawl's own settings: where its store is, its matcher and hand-offs, then the
    ``given`` overrides (``-s``); a matcher they replace is not made."""
    given = given or {}
    if matcher is None and "YUQING_MATCHER" not in given:
        matcher = live_matcher(store)
    to_alerting = ToAlerting(config, store, clock)
    return {
        "YUQING_STORE_URL": config.store.url,
        "YUQING_STORE_OPTIONS": store_options(config),
        "YUQING_MATCHER": matcher,
        "YUQING_ON_NEW_HITS": to_alerting,
        "YUQING_ON_HEALTH_EVENTS": to_alerting.health,
        "YUQING_BACKFILL_HOURS": config.alerts.backfill_hours,
        "YUQING_BACKFILL_FIRST_CRAWL": config.alerts.backfill_first_crawl,
    } | given


def live_matcher(store: Store) -> LiveMatcher:
    """The matcher following ``store``'s keyword library."""
    from keywords.live import LiveMatcher

    return LiveMatcher(store)


GIVE_UP_SECONDS = 120.0  # after a crawl's deadline, before its run stops waiting for it


def rss_mb() -> float:
    """This process's resident memory now (MB)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Worker:
    """A long-lived crawl process: one reactor, many crawls (jobs on standard input)."""

    def __init__(self, config: Config, settings: dict[str, Any], lease: timedelta) -> None:
        self.config, self.settings, self.lease = config, settings, lease
        self.clock = clock_for(config)
        self.lock = threading.Lock()
        self.active = 0  # jobs taken and not answered
        self.done = 0  # jobs answered
        self.ending = False  # no more input: finish the crawls, then exit
        self.stopping = False  # SIGTERM: stop every crawl now
        self.exiting = False
        self.reactor: Any = None
        self.runner: Any = None
        self.matcher: LiveMatcher | None = None

    def serve(self) -> int:
        from scrapy.crawler import CrawlerRunner
        from scrapy.settings import Settings
        from scrapy.utils.log import configure_logging
        from scrapy.utils.reactor import install_reactor

        install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
        from twisted.internet import reactor as installed

        reactor: Any = installed
        base = Settings(source_settings(_ANY_SOURCE, self.settings))
        configure_logging(base)
        # Scrapy's defaults only: the runner's settings are merged into each crawl's own.
        self.reactor, self.runner = reactor, CrawlerRunner(Settings())
        # One matcher for all of the worker's crawls (compiled once per library version),
        # over a store of its own: each run opens the store afresh for everything else.
        matcher_store = open_store(self.config.store.url, **store_options(self.config))
        if "YUQING_MATCHER" not in self.settings:
            self.matcher = live_matcher(matcher_store)
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._signalled)
        threading.Thread(target=self._read, name="jobs", daemon=True).start()
        try:
            reactor.run(installSignalHandlers=False)
        finally:
            matcher_store.close()
        return 0

    def _signalled(self, number: int, frame: FrameType | None) -> None:
        self.stopping = True
        self.reactor.callFromThread(self._stop_all)

    def _stop_all(self) -> None:
        """Every crawl closes now (``shutdown``: recorded ``abandoned``)."""
        for crawler in list(self.runner.crawlers):
            abandon_rendering(crawler)
        self.runner.stop()
        self._exit_if_idle()

    def _read(self) -> None:
        for line in sys.stdin:
            if not line.strip():
                continue
            job = json.loads(line)
            with self.lock:
                self.active += 1
            threading.Thread(target=self._job, args=(job,), name="job", daemon=True).start()
        # The pool closed our input (or died): finish the crawls taken, then exit.
        self.ending = True
        self.reactor.callFromThread(self._exit_if_idle)

    def _exit_if_idle(self) -> None:
        with self.lock:
            idle = self.active == 0
        if idle and (self.ending or self.stopping) and not self.exiting:
            self.exiting = True
            self.reactor.stop()

    def _job(self, job: dict[str, Any]) -> None:
        source_id = str(job["source"])
        deadline = float(job.get("deadline") or 0)
        try:
            summary = self._run(source_id, bool(job.get("if_due")), deadline)
        except Exception as e:
            import traceback

            traceback.print_exc()
            summary = {"source": source_id, "outcome": "crashed", "stderr": [repr(e)]}
        with self.lock:
            self.active -= 1
            self.done += 1
            summary |= {"worker_jobs": self.done, "worker_rss_mb": round(rss_mb(), 1)}
            # A gone pool cannot hear it; the run is recorded in the store all the same.
            with contextlib.suppress(BrokenPipeError, ValueError):
                print(json.dumps({"job": job["job"], "summary": summary}), flush=True)
        self.reactor.callFromThread(self._exit_if_idle)

    def _run(self, source_id: str, if_due: bool, deadline: float) -> dict[str, Any]:
        if self.stopping:
            return {"source": source_id, "outcome": "busy"}
        store = open_store(self.config.store.url, **store_options(self.config))
        try:
            settings = settings_for(self.config, store, self.clock, self.matcher, self.settings)

            def crawl(source: Source, settings: dict[str, Any]) -> dict[str, Any]:
                return self._crawl(source, settings, deadline)

            run = run_source(store, source_id, settings, self.lease, if_due, self.clock, crawl)
        finally:
            store.close()
        return summary_of(run) if run is not None else {"source": source_id, "outcome": "busy"}

    def _crawl(self, source: Source, settings: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Crawl ``source`` in the worker's reactor (called from a job's thread); the stats.
        At ``deadline`` seconds the crawl is closed (finish reason ``deadline``)."""
        from scrapy.crawler import Crawler
        from twisted.python.failure import Failure

        from crawler.spiders import SPIDERS
        from crawler.storage import release

        finished = threading.Event()
        outcome: dict[str, Any] = {}

        def start() -> None:
            try:
                if self.stopping:
                    raise RuntimeError("the worker is stopping")
                at = {"YUQING_DEADLINE_AT": time.time() + deadline} if deadline else {}
                crawler = Crawler(SPIDERS[source.type], source_settings(source, settings | at))
                done = self.runner.crawl(crawler, source=source)
            except Exception:
                outcome["failure"] = Failure()
                finished.set()
                return
            timer = self.reactor.callLater(deadline, _cancel, crawler) if deadline else None

            def end(result: Any) -> None:
                if timer is not None and timer.active():
                    timer.cancel()
                release(crawler)  # its store: a worker lives on
                if isinstance(result, Failure):
                    outcome["failure"] = result
                outcome["stats"] = crawler.stats.get_stats() if crawler.stats else {}
                finished.set()

            done.addBoth(end)

        self.reactor.callFromThread(start)
        if not finished.wait(deadline + GIVE_UP_SECONDS if deadline else None):
            raise TimeoutError(
                f"the crawl was not closed {GIVE_UP_SECONDS:.0f} s after its deadline"
            )
        failure = outcome.get("failure")
        if failure is not None:
            failure.raiseException()
        stats: dict[str, Any] = outcome["stats"]
        return stats


def _cancel(crawler: Any) -> None:
    """Close one crawl of the reactor (its deadline passed); the others go on."""
    from scrapy.utils.defer import deferred_from_coro

    engine = crawler.engine
    if crawler.crawling and engine is not None and engine.spider is not None:
        # Closing the spider stops its crawler (Scrapy's spider-closed callback); it waits
        # for the downloads in flight, which DeadlineMiddleware has made time out by now.
        deferred_from_coro(engine.close_spider_async(reason=DEADLINE))
        abandon_rendering(crawler)


_ANY_SOURCE = Source("-", "-", "page", ["http://127.0.0.1/"], 600)


def summary_of(run: CrawlRun) -> dict[str, Any]:
    """The one-line JSON summary of a run."""
    return {
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yuqing.crawl", description=__doc__)
    parser.add_argument("source_id", nargs="?")
    parser.add_argument(
        "--worker", action="store_true", help="take crawl jobs on standard input (crawler.pool)"
    )
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
    warm_normalizer()  # every crawl normalises; 6 ms from disk instead of 0.4 s
    # What start-up made (modules, classes, the configuration) lives as long as the process:
    # out of the cyclic collector's sight, its full collections during the crawl cost half
    # as much. A crawl makes many short-lived objects and few cycles: collecting every
    # 10,000 allocations rather than 700 took the collector's CPU on 1,000 pages from
    # 0.85 s to 0.04 s (extraction pauses it anyway; see crawler.extract).
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    lease = timedelta(seconds=args.lease)
    if args.worker:
        return Worker(config, overrides(args.set), lease).serve()
    if not args.source_id:
        parser.error("a source id (or --worker) is needed")
    clock = clock_for(config)
    store = open_store(config.store.url, **store_options(config))
    try:
        settings = settings_for(config, store, clock, given=overrides(args.set))
        run = run_source(store, args.source_id, settings, lease, args.if_due, clock)
    finally:
        store.close()
    if run is None:
        # Leased by another process, or (--if-due) run by one within its interval.
        print(json.dumps({"source": args.source_id, "outcome": "busy"}), flush=True)
        return EXIT_BUSY
    summary = summary_of(run)
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return EXIT_FAILED if run.outcome in ("failed", "lost") else 0


if __name__ == "__main__":
    sys.exit(main())

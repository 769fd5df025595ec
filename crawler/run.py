"""One run of one source: :func:`run_source`, called in a process of its own.

Twisted's reactor cannot be restarted: a run either has a process of its own (``python -m
yuqing.crawl SOURCE``, as "run now" does) or is one of many crawls of a long-lived worker
process sharing one reactor (``yuqing.crawl --worker``, the scheduler's pool,
:mod:`crawler.pool`). The run takes the source's
lease in the store first: if another process is crawling the source, it returns None. New
hits go to ``YUQING_ON_NEW_HITS`` (:mod:`crawler.handoff`), and so do those of earlier runs
whose hand-off failed.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from scrapy.utils.misc import load_object

from crawler import handoff, health, report
from crawler.settings import settings_for
from crawler.sources import SourceError, validate
from store import ConflictError, ItemQuery, Store
from store.clock import Clock
from store.model import CrawlRun, Source

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
DEADLINE = "deadline"  # the finish reason of a crawl cancelled at its deadline
Crawl = Callable[[Source, dict[str, Any]], dict[str, Any]]
EXIT_FAILED, EXIT_BUSY = 1, 3
# A scheduled run is due this share of the interval after the source's last run (by any
# process): the slack absorbs the scheduler's jitter.
DUE_SHARE = 0.8


class _Heartbeat(threading.Thread):
    """Extends the run's lease while the crawl goes on."""

    def __init__(self, store: Store, run: CrawlRun, lease: timedelta, clock: Clock) -> None:
        super().__init__(name="lease", daemon=True)
        self.store, self.crawl_run, self.lease, self.clock = store, run, lease, clock
        self.stop = threading.Event()
        self.lost = False

    def run(self) -> None:
        # The lease is business time; the wait is real (shorter on an accelerated clock).
        while not self.stop.wait(self.lease.total_seconds() / 3 / self.clock.speed):
            try:
                self.store.runs.extend(self.crawl_run, self.clock.now() + self.lease)
            except ConflictError:
                log.error("lost the lease on %s to another process", self.crawl_run.source_id)
                self.lost = True
                return


def abandon_rendering(crawler: Any) -> None:
    """Fail a crawl's rendered pages in flight (a browser page has no download timeout to
    fire; see :func:`crawler.render.abandon`). Only a rendering crawl has imported the
    renderer, and importing it here would cost every other crawl its start-up."""
    render = sys.modules.get("crawler.render")
    if render is not None:
        render.abandon(crawler)


def crawl(source: Source, settings: dict[str, Any]) -> dict[str, Any]:
    """Crawl ``source`` with Scrapy in this process (once per process); the stats.

    SIGINT or SIGTERM (Ctrl-C) closes the crawl as Scrapy does (its run recorded
    ``abandoned``), and first fails the rendered pages in flight by closing the browser:
    Scrapy's stop waits for the downloads, and a page whose script never comes would hold
    it for up to ``YUQING_RENDER_TIMEOUT`` (see :func:`crawler.render.abandon`)."""
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders import SPIDERS

    class Process(CrawlerProcess):
        # Scrapy's own signal handler (private, as of Scrapy 2.19): the one place
        # that runs before Scrapy starts waiting for the downloads in flight. The Ctrl-C
        # test of tests/test_crawl_render.py fails if a release moves it.
        def _signal_shutdown(self, signum: int, frame: Any) -> None:
            from twisted.internet import reactor

            for crawler in list(self.crawlers):
                reactor.callFromThread(abandon_rendering, crawler)
            super()._signal_shutdown(signum, frame)

    process = Process(settings_for(source, settings))
    crawler = process.create_crawler(SPIDERS[source.type])
    process.crawl(crawler, source=source)
    process.start()
    assert crawler.stats is not None
    return crawler.stats.get_stats()


def tally(run: CrawlRun, stats: dict[str, Any]) -> None:
    """Fill ``run`` from a crawl's stats."""

    def get(name: str, default: Any = 0) -> Any:
        return stats.get(report.PREFIX + name, default)

    run.pages, run.not_modified = get("pages"), get("not_modified")
    run.items, run.new_items = get("items"), get("new_items")
    run.parse_failures = get("parse_failures")
    decoded = get("decoded_chars")
    run.replacement_share = get("replaced_chars") / decoded if decoded else 0.0
    run.errors = get("problems", [])
    run.list_pages, run.links = get("list_pages"), get("links")
    run.skipped_links = get("skipped_links")
    if get("blocked"):
        run.outcome = "blocked"
    elif stats.get("finish_reason") == DEADLINE:  # cancelled by its worker (crawler.pool)
        run.outcome = "failed"
        reason = "stopped at its deadline: the crawl took too long (a hung site?)"
        run.errors = [{"url": "-", "reason": reason}, *run.errors]
    elif stats.get("finish_reason") == "shutdown":  # stopped by a signal, e.g. a service stopping
        run.outcome = "abandoned"
    elif run.pages == 0 or (get("errors") and not run.items and not run.not_modified):
        run.outcome = "failed"
    elif get("errors"):
        run.outcome = "partial"
    else:
        run.outcome = "ok"


# A source "usually yields" when this many of its last RECALL_HISTORY runs found links.
RECALL_HISTORY, RECALL_USUAL = 5, 2


def recall_guard(run: CrawlRun, earlier: list[CrawlRun]) -> None:
    """Fail a run that read list pages and found not one article link (known ones
    included) although the source's recent runs did: the site changed or a selector
    broke, and an ``ok`` would hide that nothing is being monitored."""
    if run.outcome not in ("ok", "partial") or run.list_pages == 0 or run.links or run.items:
        return
    recent = [r for r in earlier if r.outcome not in ("running", "lost", "abandoned")]
    yielded = [r for r in recent[:RECALL_HISTORY] if r.links or r.items]
    if len(yielded) < RECALL_USUAL:
        return
    usual = max(max(r.links, r.items) for r in yielded)
    reason = (
        f"recall: {run.list_pages} list page(s) read but no article link found, while "
        f"{len(yielded)} of the last {min(len(recent), RECALL_HISTORY)} runs found some "
        f"(up to {usual}); check the source's link selector or the site's layout"
    )
    if run.skipped_links:
        reason += f"; {run.skipped_links} link(s) skipped as not http(s)"
    run.outcome = "failed"
    run.errors = [{"url": "-", "reason": reason}, *run.errors]


def due_after(store: Store, source_id: str, now: datetime) -> datetime | None:
    """The latest start of a run (by any process) that leaves the source due at ``now``:
    ``DUE_SHARE`` of its interval back (None for a source not in the store)."""
    source = store.sources.get(source_id)
    if source is None:
        return None
    return now - DUE_SHARE * timedelta(seconds=source.effective_interval(now))


def too_recent(store: Store, source_id: str, now: datetime) -> CrawlRun | None:
    """The source's last run (by any process) if it started too recently for the source
    to be due at ``now``, else None."""
    after = due_after(store, source_id, now)
    last = next(iter(store.runs.recent(source_id, 1)), None)
    return last if after is not None and last is not None and last.started > after else None


def is_due(store: Store, source_id: str, now: datetime) -> bool:
    """Whether the source's last run (by any process) lies far enough back."""
    return too_recent(store, source_id, now) is None


def first_crawl(store: Store, source_id: str, earlier: list[CrawlRun]) -> bool:
    """Whether the source has nothing stored yet: what its first crawl brings is its
    archive, backfill (crawler.backfill), however fresh some of it looks. The earlier runs
    answer first (a search may not see what the last run wrote a moment ago); the store
    is asked only when none of them stored anything."""
    if any(run.items for run in earlier):
        return False
    query = ItemQuery(sources=[source_id], size=1, highlight=False)
    return store.items.search(query).total == 0


def run_source(
    store: Store,
    source_id: str,
    settings: dict[str, Any],
    lease: timedelta = LEASE,
    if_due: bool = False,
    clock: Clock | None = None,
    crawl_with: Crawl = crawl,
) -> CrawlRun | None:
    """Run ``source_id`` once if no other process is running it (and, with ``if_due``, if
    no process ran it within its interval); the recorded run, or None. ``settings`` are
    Scrapy's, with yuqing's own (see :mod:`crawler.settings`). ``crawl_with`` crawls (by
    default in a reactor of its own: once per process; a long-lived worker gives its
    own, see :mod:`yuqing.crawl`)."""
    clock = clock or Clock()
    settings = settings | {"YUQING_CLOCK": clock}
    started = clock.now()
    not_since = None
    if if_due:
        # Looked at first, so that a run another process made does not cost a lease write;
        # asked again as the lease is taken, since that process may have started and
        # finished a run in between (a double crawl of one due slot otherwise).
        not_since = due_after(store, source_id, started)
        last = next(iter(store.runs.recent(source_id, 1)), None)
        if not_since is not None and last is not None and last.started > not_since:
            return None
    holder = f"{socket.gethostname()}:{os.getpid()}"
    run = store.runs.start(
        CrawlRun(source_id, holder, started, started + lease), not_since=not_since
    )
    if run is None:
        return None
    earlier = store.runs.recent(source_id, 50)[1:]
    previous = next(iter(earlier), None)
    heartbeat = _Heartbeat(store, run, lease, clock)
    heartbeat.start()
    hand = settings.get("YUQING_ON_NEW_HITS")
    redriven = handoff.redrive(store, run, earlier, load_object(hand)) if hand else []
    try:
        source = store.sources.get(source_id)
        if source is None:
            raise SourceError(source_id, "id", "no such source in the store")
        judged = settings.get("YUQING_BACKFILL_FIRST_CRAWL", True)
        first = {"YUQING_FIRST_CRAWL": bool(judged) and first_crawl(store, source_id, earlier)}
        tally(run, crawl_with(validate(source), settings | first))
        recall_guard(run, earlier)
    except SourceError as e:
        run.outcome, run.errors = "failed", [{"url": "-", "reason": str(e)}]
    except Exception as e:
        # Recorded, then raised for the traceback (the launcher adds its last lines).
        reason = f"{handoff.CRASHED}: {type(e).__name__}: {e}"
        run.outcome, run.errors = "failed", [{"url": "-", "reason": reason}]
        raise
    finally:
        if redriven:
            run.errors = redriven + run.errors
            run.outcome = "partial" if run.outcome == "ok" else run.outcome
        heartbeat.stop.set()
        heartbeat.join()
        run.finished = clock.now()
        if heartbeat.lost:
            run.outcome = "lost"
        found = health.assess(source_id, [run, *store.runs.recent(source_id, 50)[1:]])
        events = health.record(store, run, previous, found)
        store.runs.finish(run)
        on_health = settings.get("YUQING_ON_HEALTH_EVENTS")
        if events and on_health:
            handoff.report_health(load_object(on_health), events)
    return run

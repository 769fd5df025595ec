"""Discovery on its own schedule: an APScheduler job (hourly by default) that runs
:func:`monitor.discovery.run.run_and_save`. Any number of processes may run it; the store
lease ``discovery`` lets one of them run each period, the others skip it."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.discovery.run import Report, run_and_save
from monitor.discovery.terms import Settings
from store import Store
from store.clock import Clock
from yuqing.config import DiscoveryConfig

log = logging.getLogger("yuqing.discovery")
LEASE = "discovery"
FIRST_RUN_SECONDS = 30  # after start: let the crawl and the API settle first


def settings_for(config: DiscoveryConfig) -> Settings:
    return Settings(
        window=timedelta(hours=config.window_hours),
        baseline=timedelta(days=config.baseline_days),
        min_support=config.min_support,
    )


class DiscoveryJob:
    """The scheduled runs over ``store``; :meth:`run_once` is one (lease permitting)."""

    def __init__(self, store: Store, config: DiscoveryConfig, clock: Clock) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.aps = BackgroundScheduler(timezone=clock.zone)

    def start(self) -> None:
        first = self.clock.now() + timedelta(seconds=FIRST_RUN_SECONDS)
        self.aps.add_job(
            self.run_once,
            "interval",
            minutes=self.config.interval_minutes,
            next_run_time=first,
            id="discovery",
            max_instances=1,
            coalesce=True,
        )
        self.aps.start()

    def shutdown(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=True)

    def run_once(self) -> Report | None:
        """One run, if no other process ran this period; None when skipped."""
        now = self.clock.now()
        # Held for the period: whoever runs first runs it, a standby runs the next.
        until = now + timedelta(minutes=self.config.interval_minutes) - timedelta(seconds=5)
        if self.store.leases.acquire(LEASE, self.holder, until, now) is None:
            return None
        try:
            report = run_and_save(self.store, now=now, settings=settings_for(self.config))
        except Exception:
            log.exception("discovery run failed")
            return None
        # One line per run in the service's log (``yuqing run``'s JSON lines): a run reads
        # its whole window, so its size and time say what the run cost.
        fields = {
            "window_docs": report.window_docs,
            "baseline_docs": report.baseline_docs,
            "terms": len(report.terms),
            "clusters": len(report.clusters),
            "seconds": round(report.seconds, 2),
        }
        log.info("discovery", extra={"event": "discovery", "fields": fields})
        return report

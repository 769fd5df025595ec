"""Discovery on its own schedule: an APScheduler job (hourly by default) that runs
:func:`monitor.discovery.run.run_and_save`. Any number of processes may run it; the store
lease ``discovery`` lets one of them run each period, the others skip it.

A run reads every item of its window and segments it: its memory grows with the window
(about 15 KB a document), and a long-lived process keeps what it peaked at. ``yuqing run``
therefore runs each one in a process of its own (``python -I -m yuqing.discovery --now
...``, :data:`COMMAND`), which gives that memory back when the run ends."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.discovery.run import Report, run_and_save
from monitor.discovery.terms import Settings
from store import Store
from store.clock import Clock
from yuqing.config import DiscoveryConfig

log = logging.getLogger("yuqing.discovery")
LEASE = "discovery"
FIRST_RUN_SECONDS = 30  # after start: let the crawl and the API settle first
COMMAND = (sys.executable, "-I", "-m", "yuqing.discovery")  # a run in a process of its own


def settings_for(config: DiscoveryConfig) -> Settings:
    return Settings(
        window=timedelta(hours=config.window_hours),
        baseline=timedelta(days=config.baseline_days),
        min_support=config.min_support,
    )


class DiscoveryJob:
    """The scheduled runs over ``store``; :meth:`run_once` is one (lease permitting)."""

    def __init__(
        self,
        store: Store,
        config: DiscoveryConfig,
        clock: Clock,
        *,
        command: Sequence[str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        """With ``command`` (:data:`COMMAND`), each run is that process, given ``args``
        (``--config``) and the run's time; without, it runs in this process."""
        self.store, self.config, self.clock = store, config, clock
        self.command, self.args = (list(command) if command else None), list(args)
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.aps = BackgroundScheduler(timezone=clock.zone)
        self.child: subprocess.Popen[str] | None = None

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
        child = self.child
        if child is not None and child.poll() is None:
            child.terminate()  # its report is not saved; the next start runs again
        if self.aps.running:
            self.aps.shutdown(wait=True)

    def run_once(self) -> dict[str, Any] | None:
        """One run, if no other process ran this period: its figures (:func:`summary`);
        None when skipped or failed."""
        now = self.clock.now()
        # Held for the period: whoever runs first runs it, a standby runs the next.
        until = now + timedelta(minutes=self.config.interval_minutes) - timedelta(seconds=5)
        if self.store.leases.acquire(LEASE, self.holder, until, now) is None:
            return None
        fields: dict[str, Any] | None
        try:
            if self.command is None:
                report = run_and_save(self.store, now=now, settings=settings_for(self.config))
                fields = summary(report)
            else:
                fields = self._run_apart(now)
        except Exception:
            log.exception("discovery run failed")
            return None
        if fields is None:
            return None
        # One line per run in the service's log (``yuqing run``'s JSON lines): a run reads
        # its whole window, so its size and time say what the run cost.
        log.info("discovery", extra={"event": "discovery", "fields": fields})
        return fields

    def _run_apart(self, now: datetime) -> dict[str, Any] | None:
        assert self.command is not None
        self.child = subprocess.Popen(
            [*self.command, "--now", now.isoformat(), *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        try:
            out, err = self.child.communicate(timeout=self.config.interval_minutes * 60)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.communicate()
            log.error("discovery run stopped: still running after its period")
            return None
        finally:
            status = self.child.returncode
            self.child = None
        if status != 0:
            tail = err.strip().splitlines()[-5:] if status is not None else []
            log.error("discovery run failed (exit %s): %s", status, " / ".join(tail))
            return None
        fields: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return fields


def summary(report: Report) -> dict[str, Any]:
    """A run's figures, as the log and the service's caller see them."""
    return {
        "window_docs": report.window_docs,
        "baseline_docs": report.baseline_docs,
        "terms": len(report.terms),
        "clusters": len(report.clusters),
        "seconds": round(report.seconds, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """One run over the configured store, its report saved; its figures printed as JSON."""
    from yuqing.config import load
    from yuqing.wiring import store_for

    parser = argparse.ArgumentParser(prog="python -m yuqing.discovery", description=main.__doc__)
    parser.add_argument("--now", required=True, help="the run's time (ISO 8601, with its zone)")
    parser.add_argument("--config", help="the configuration file (else as yuqing finds it)")
    parser.add_argument("-s", action="append", default=[], help="crawl settings (not used)")
    options = parser.parse_args(argv)
    config = load(options.config)
    store = store_for(config)
    try:
        report = run_and_save(
            store, now=datetime.fromisoformat(options.now), settings=settings_for(config.discovery)
        )
    finally:
        store.close()
    print(json.dumps(summary(report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

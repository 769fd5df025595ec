"""``yuqing run``: the whole service in one process.

The parts, each of which can be left out to scale out (API replicas and crawler nodes;
any number of processes with mail, of which one at a time sends, see docs/scaling.md):

- crawl: the APScheduler crawl scheduler; runs are crawls in a pool of long-lived worker
  processes (``--workers``, one per core; many crawls each), which match the items and
  hand new hits to alerting (:mod:`yuqing.crawl`, :mod:`crawler.pool`);
- mail: the outbox sender and the alerting tick (updates, escalations, digests), threads
  run by whichever process holds the store lease ``mail`` (:mod:`yuqing.duty`);
- api: the API and console served by waitress (threads).

Logs are JSON lines on standard error, one object per event: ``time``, ``level``,
``event`` and the event's fields (``crawl``, ``alert``, ``emails``, ``started``,
``stopping``, ``stopped``...; other libraries' lines come as ``event: "log"``).

SIGTERM or SIGINT stops it cleanly: the API stops taking requests, no crawl starts, running
crawls get ``grace`` seconds to finish and are then stopped (their runs are recorded as
``abandoned``, and the source's next run hands their hits to alerting again), the sender
stops after its current batch (the rest stays in the outbox) and the store is closed. A
restart resumes the schedule (each source's last run plus its interval) and the outbox.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent

from crawler.handoff import CRASHED, stored_hits
from crawler.operations import seed_sources
from crawler.scheduler import CrawlScheduler
from crawler.sources import load_sources
from monitor.alerts.engine import Alerting
from monitor.alerts.outbox import Sender
from store import Store, StoreUnavailable
from store.acting import SYSTEM, Acting
from store.clock import Clock
from store.secrets import Redactor, redact_url
from yuqing.config import Config
from yuqing.discovery import COMMAND as DISCOVERY_COMMAND
from yuqing.discovery import DiscoveryJob
from yuqing.duty import Duty
from yuqing.wiring import (
    CRAWL_COMMAND,
    CRAWLS_PER_WORKER,
    app_for,
    build_alerting,
    clock_for,
    secret_key,
)

log = logging.getLogger("yuqing.service")

TICK_SECONDS = 60.0  # alerting: throttled updates, escalations, digests
REPORT_SECONDS = 5.0  # how often new alerts and sent emails are logged
MAIL_LEASE = "mail"  # the store lease of the sender and the alerting tick
KILL_SECONDS = 10.0  # after SIGTERM, before a crawl process is killed


class JsonLines(logging.Formatter):
    """One JSON object per log record; :func:`event` records carry their fields. Every
    line passes ``redact``, so no secret of the configuration reaches a log."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created)
            .astimezone()
            .isoformat("T", "milliseconds"),
            "level": record.levelname.lower(),
        }
        name = getattr(record, "event", None)
        if name:
            data["event"] = name
            data |= getattr(record, "fields", {})
        else:
            data |= {"event": "log", "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(data, ensure_ascii=False, default=str))


def setup_logging(level: int = logging.INFO, redact: Redactor | None = None) -> None:
    """Route every logger to standard error as JSON lines, secrets hidden."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines(redact))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Each run is logged as a ``crawl`` event; the scheduler's own line would repeat it.
    logging.getLogger("crawler.scheduler").addFilter(lambda r: not str(r.msg).startswith("run "))
    # Job starts and ends: the events say what matters.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Every Elasticsearch request, and each retry of one with its traceback: an outage is
    # logged once per attempt as ``store_unavailable`` (or answered 503), not per request.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one structured event."""
    log.log(level, name, extra={"event": name, "fields": fields})


@dataclass
class Parts:
    """Which parts this process runs."""

    crawl: bool = True
    mail: bool = True
    api: bool = True


class ServiceError(Exception):
    """A part cannot start (e.g. the API port is taken)."""


class _Stop(SystemExit):
    """Raised in the main thread by SIGTERM/SIGINT (waitress ends its loop on SystemExit)."""


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class Switch:
    """A WSGI app that forwards to another, replaceable while serving: the API port answers
    503 while the store is unreachable at start-up, then the real app, with no restart."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


class Service:
    """The parts of :class:`Parts` over the store ``open_store`` opens; :meth:`run` blocks
    until a signal. ``crawl_args`` go to every crawl process (``--config``, ``-s``
    settings).

    The store is opened after the API port is bound: while it cannot be reached, the API
    answers 503 (health included) and the service logs one ``store_unavailable`` line per
    attempt, ``retry_seconds`` apart, until it comes; then every part starts."""

    def __init__(
        self,
        config: Config,
        open_store: Callable[[], Store],
        parts: Parts,
        *,
        crawl_args: list[str] | None = None,
        workers: int = 2,
        crawls_per_worker: int = CRAWLS_PER_WORKER,
        grace: float = 20.0,
        clock: Clock | None = None,
        retry_seconds: float = 15.0,
    ) -> None:
        self.config, self.open_store, self.parts, self.grace = config, open_store, parts, grace
        self.crawl_args = crawl_args or []
        self.workers, self.retry_seconds = workers, retry_seconds
        self.crawls_per_worker = crawls_per_worker
        self.clock = clock or clock_for(config)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.store: Store | None = None
        self.scheduler: CrawlScheduler | None = None
        self.sender: Sender | None = None
        self.duty: Duty | None = None
        self.discovery: DiscoveryJob | None = None
        self.server: Any = None
        self.switch: Switch | None = None
        self.progress: Progress | None = None
        self.outage = ""

    def now(self) -> datetime:
        return self.clock.now()

    def run(self) -> None:
        """Start the parts, serve until SIGTERM or SIGINT, then stop them cleanly."""
        previous = {s: signal.signal(s, self._signalled) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            if self.parts.api:
                self._bind()
                self._thread("start", self._start)
                self.server.run()  # returns on _Stop, after in-flight requests are done
            else:
                self._start()
                self.stop.wait()
        except _Stop:
            pass
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self._shutdown()

    def _signalled(self, number: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            return  # already stopping; a second signal must not cut the clean-up short
        event("stopping", signal=signal.Signals(number).name)
        self.stop.set()
        raise _Stop(0)

    def _bind(self) -> None:
        """Bind the API port first, so a busy port fails at once and the port answers
        (503) while the store is not there yet."""
        import waitress

        from api import create_waiting_app

        config = self.config
        waiting = create_waiting_app(
            lambda: self.outage or f"connecting to the store at {redact_url(config.store.url)}",
            secret_key=secret_key(config),
        )
        self.switch = Switch(waiting)
        try:
            self.server = waitress.create_server(
                self.switch, host=config.api.host, port=config.api.port, threads=8, ident="yuqing"
            )
        except OSError as e:
            raise ServiceError(f"cannot serve on {config.api.host}:{config.api.port}: {e}") from e

    def _connect(self) -> Store | None:
        """Open the store, trying again every ``retry_seconds`` while it is unreachable;
        None if the service is stopped first."""
        while not self.stop.is_set():
            try:
                return self.open_store()
            except StoreUnavailable as e:
                self.outage = str(e)
                event(
                    "store_unavailable",
                    logging.WARNING,
                    url=redact_url(self.config.store.url),
                    error=str(e),
                    retry_in=self.retry_seconds,
                )
            self.stop.wait(self.retry_seconds)
        return None

    def _start(self) -> None:
        config = self.config
        store = self._connect()
        if store is None:
            return
        if self.stop.is_set():  # stopped while connecting
            store.close()
            return
        self.store = store
        if self.outage:
            event("store_available", url=redact_url(config.store.url))
            self.outage = ""
        if self.parts.crawl:
            self.scheduler = CrawlScheduler(
                store,
                CRAWL_COMMAND,
                workers=self.workers,
                args=self.crawl_args,
                clock=self.clock,
                crawls_per_worker=self.crawls_per_worker,
            )
            if not store.sources.list():
                seed_sources(Acting(SYSTEM, store, self.clock), load_sources())
            self._reclaim()
            self.scheduler.aps.add_listener(self._crawled, EVENT_JOB_EXECUTED)
            self.scheduler.start()
            for source_id, due in sorted(self.scheduler.next_runs().items()):
                event(
                    "scheduled",
                    source=source_id,
                    next_run=due,
                    interval=self.scheduler.intervals.get(source_id),
                )
        if self.parts.mail:
            self.sender = Sender(store, config.smtp, self.clock)
            alerting = build_alerting(config, store, self.clock)
            sender = self.sender

            def mail(stop: threading.Event) -> list[threading.Thread]:
                return [
                    _started("sender", sender.run, stop),
                    _started("tick", tick_every, alerting, stop, TICK_SECONDS),
                ]

            # Any number of processes may run with mail: the lease's holder sends and
            # ticks, the others stand by and take over when it dies.
            self.duty = Duty(
                store,
                MAIL_LEASE,
                mail,
                self.clock,
                on_change=lambda state, holder: event("mail", state=state, holder=holder),
                join_seconds=config.smtp.timeout + 5,
            )
            self._thread("duty", self.duty.run, self.stop)
            self.progress = Progress(store, self.now)
            self._thread("report", self._report, self.progress)
        if self.parts.mail and config.discovery.enabled:
            # Monitoring work like the tick; its own lease lets one process run each period.
            # Each run in a process of its own: what it reads is given back when it ends.
            self.discovery = DiscoveryJob(
                store,
                config.discovery,
                self.clock,
                command=DISCOVERY_COMMAND,
                args=self.crawl_args,
            )
            self.discovery.start()
        if self.switch is not None:
            # "Run now" from the console starts crawls the way the scheduler does.
            self.switch.app = app_for(config, store, clock=self.clock, crawl_args=self.crawl_args)
        event(
            "started",
            store=store.display_url,
            parts=[name for name in ("crawl", "mail", "api") if getattr(self.parts, name)],
            api=f"http://{config.api.host}:{config.api.port}/api/health"
            if self.parts.api
            else None,
        )

    def _thread(self, name: str, target: Any, *args: Any) -> None:
        self.threads.append(_started(name, target, *args))

    def _shutdown(self) -> None:
        self.stop.set()
        if self.server is not None:
            self.server.close()  # the listening socket
        if self.scheduler is not None:
            self._stop_crawls(self.scheduler)
        if self.sender is not None:
            self.sender.wake.set()
        if self.discovery is not None:
            self.discovery.shutdown()
        for thread in self.threads:
            thread.join(timeout=self.config.smtp.timeout + 5)
        if self.sender is not None:
            self.sender.close()
        if self.progress is not None:
            self.progress.report()  # what happened since the last look
        if self.store is not None:
            self.store.close()
        event("stopped")

    def _stop_crawls(self, scheduler: CrawlScheduler) -> None:
        """No new runs; running crawls finish within ``grace`` seconds or are stopped."""
        if not scheduler.aps.running:
            return
        scheduler.aps.pause()
        deadline = time.monotonic() + self.grace
        while scheduler.crawling() and time.monotonic() < deadline:
            time.sleep(0.1)
        stopped = scheduler.crawling()
        scheduler.stop_crawls(KILL_SECONDS)
        scheduler.shutdown(wait=True)
        for source_id, pid in stopped.items():
            self._abandon(source_id, pid)

    @property
    def _store(self) -> Store:
        assert self.store is not None, "the store is open once the parts run"
        return self.store

    def _reclaim(self) -> None:
        """Release the sources whose runs died with an earlier service on this host (killed
        with its crawls, e.g. out of memory): their leases would otherwise keep the
        sources from being crawled until they run out. Runs of live processes, and of
        other hosts, are left to their leases."""
        host = socket.gethostname()
        sources = self._store.sources.list()
        newest = self._store.runs.recent_many([s.id for s in sources], 1)
        for source in sources:
            for run in newest[source.id]:
                name, _, pid = run.holder.rpartition(":")
                if run.outcome != "running" or name != host or _alive(int(pid or 0)):
                    continue
                run.outcome, run.finished = "lost", self.now()
                run.errors.insert(0, {"url": "-", "reason": "its process was gone at start-up"})
                self._store.runs.finish(run)
                event("crawl", logging.WARNING, source=source.id, run=run.id, outcome="lost")

    def _abandon(self, source_id: str, pid: int) -> None:
        """Mark the run of a crawl process this shutdown stopped ``abandoned``: left
        ``running`` by the kill, or recorded as a crash by :func:`crawler.scheduler.launch`."""
        holder = f"{socket.gethostname()}:{pid}"
        for run in self._store.runs.recent(source_id, 5):
            crashed = any(e["reason"].startswith(CRASHED) for e in run.errors)
            if run.holder != holder or not (run.outcome == "running" or crashed):
                continue
            run.outcome, run.finished = "abandoned", run.finished or self.now()
            run.errors.insert(0, {"url": "-", "reason": "stopped by the service shutting down"})
            self._store.runs.finish(run)
            event("crawl", logging.WARNING, source=source_id, run=run.id, outcome="abandoned")

    def _crawled(self, job: JobExecutionEvent) -> None:
        if not job.job_id.startswith("crawl:") or not isinstance(job.retval, dict):
            return
        summary = dict(job.retval)
        if summary.get("outcome") == "crashed" and self.stop.is_set():
            return  # killed by the shutdown: logged as abandoned
        summary["hits"] = self._hits(summary)
        failed = summary.get("outcome") in ("failed", "lost", "crashed", "blocked")
        event("crawl", logging.WARNING if failed else logging.INFO, **summary)

    def _hits(self, summary: dict[str, Any]) -> int | None:
        """New items of the run that hit a rule (None for a run that did not happen)."""
        source_id, run_id = summary.get("source"), summary.get("run")
        if not source_id or not run_id:
            return None
        for run in self._store.runs.recent(source_id, 5):
            if run.id == run_id and run.finished is not None:
                # Items of the run are first seen between its start and its end.
                until = run.finished + timedelta(seconds=1)
                return sum(
                    len(batch) for batch in stored_hits(self._store, source_id, run.started, until)
                )
        return None

    def _report(self, progress: Progress) -> None:
        while not self.stop.wait(REPORT_SECONDS):
            progress.report()


class Progress:
    """Logs new alerts (written by crawl processes) and the outbox's progress."""

    # Look back further than the last look, for an alert written just after it with an
    # earlier creation time.
    OVERLAP = timedelta(seconds=60)

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self.store, self.now = store, now
        self.since = now()
        # Alerts from before the start are not news.
        recent = store.alerts.list(since=self.since - self.OVERLAP, limit=1000)
        self.seen = {a.id: a.created for a in recent}
        self.counts = store.outbox.counts()

    def report(self) -> None:
        try:
            now = self.now()
            for alert in reversed(
                self.store.alerts.list(since=self.since - self.OVERLAP, limit=1000)
            ):
                if alert.id not in self.seen:
                    self.seen[alert.id] = alert.created
                    event(
                        "alert",
                        id=alert.id,
                        rule=alert.rule,
                        severity=alert.severity,
                        items=alert.items,
                        title=alert.title,
                        source=alert.source_id,
                    )
            self.seen = {k: t for k, t in self.seen.items() if t >= now - 2 * self.OVERLAP}
            self.since = now
            latest = self.store.outbox.counts()
            sent = latest.get("sent", 0) - self.counts.get("sent", 0)
            failed = latest.get("failed", 0) - self.counts.get("failed", 0)
            if sent or failed:
                level = logging.WARNING if failed else logging.INFO
                event("emails", level, sent=sent, failed=failed, pending=latest.get("pending", 0))
            self.counts = latest
        except Exception:
            log.exception("reporting the service's progress failed")


def _started(name: str, target: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def tick_every(alerting: Alerting, stop: threading.Event, seconds: float) -> None:
    """Alerting's periodic work (throttled updates, escalations, digests) until ``stop``."""
    while not stop.wait(seconds):
        try:
            alerting.tick()
        except Exception:
            log.exception("alert tick failed")

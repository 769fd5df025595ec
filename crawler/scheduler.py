"""Scheduling: one APScheduler per process, one interval job per enabled source.

Each run is a crawl in a long-lived worker process of a pool (:mod:`crawler.pool`, many
crawls per worker) or, without a pool, a subprocess of its own (the ``command`` the
composition root gives, which calls :func:`crawler.run.run_source`; Twisted's reactor
cannot be restarted); "run now" uses :func:`launch`. Within a process a source never runs
twice at once (``max_instances=1``); across processes the run's lease in the store sees to
it, so several schedulers can share the sources. The schedule survives a restart: a
source's next run is its last recorded run plus its interval.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from crawler.handoff import CRASHED
from crawler.run import too_recent
from store import Store
from store.clock import Clock
from store.model import CrawlRun

log = logging.getLogger(__name__)

SYNC_SECONDS = 30  # how soon source changes (and emergencies) reach the schedule
MAX_JITTER = 60  # seconds; spreads sources sharing an interval
RUN_TIMEOUT = 2 * 3600
STDERR_LINES = 20  # of a crashed run, kept in its record
# Seconds an interrupted crawl has to record its run and exit: a few on a quiet machine,
# over 20 at load 10 (closing Chromium and Scrapy); past it the crawl is killed unrecorded.
INTERRUPT_GRACE = 60.0


def launch(
    command: Sequence[str],
    source_id: str,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
    running: dict[str, subprocess.Popen[str]] | None = None,
    store: Store | None = None,
    clock: Clock | None = None,
    interruptible: bool = False,
) -> dict[str, Any]:
    """Run ``source_id`` in a fresh process (``command`` followed by the source id and
    ``args``) and wait; its one-line JSON summary (outcome
    ``busy`` when another process holds the source). ``running`` holds the process while
    it runs, so a service shutting down can stop it. A process that crashes (no summary)
    has the end of its stderr recorded in its run in ``store``.

    ``interruptible`` (a crawl run from a terminal): the crawl process gets a process
    group of its own, and a Ctrl-C (KeyboardInterrupt) of this process is passed on to it
    once (a terminal would send it to both, and Scrapy takes a second SIGINT as "kill
    now", leaving its run unrecorded); it stops at once, its run recorded ``abandoned``,
    and the summary it printed comes back marked ``interrupted``. SIGTERM and SIGHUP of
    this process (``timeout``, a closed terminal) are taken the same way, since its own
    group no longer reaches the crawl; a crawl that does not stop within
    ``INTERRUPT_GRACE`` is killed with its whole group (its browser included)."""
    interrupted = False
    with (
        subprocess.Popen(
            [*command, source_id, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or dict(os.environ),
            process_group=0 if interruptible else None,
        ) as process,
        _stops_as_interrupt(interruptible),
    ):

        def kill() -> None:
            if not interruptible:
                process.kill()
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        if running is not None:
            running[source_id] = process
        try:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except KeyboardInterrupt:
                if not interruptible:
                    raise
                interrupted = True
                process.send_signal(signal.SIGINT)
                try:
                    stdout, stderr = process.communicate(timeout=INTERRUPT_GRACE)
                except subprocess.TimeoutExpired:
                    kill()
                    stdout, stderr = process.communicate()
        except BaseException:
            kill()  # a timeout, or a second Ctrl-C while the crawl was stopping
            raise
        finally:
            if running is not None:
                running.pop(source_id, None)
    lines = stdout.strip().splitlines()
    try:
        summary: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = stderr.strip().splitlines()[-STDERR_LINES:]
        summary = {"source": source_id, "outcome": "crashed", "stderr": tail}
        if store is not None:
            holder = f"{socket.gethostname()}:{process.pid}"
            record_crash(store, source_id, holder, process.returncode, tail, clock)
    summary["exit"] = process.returncode
    if interrupted:
        summary["interrupted"] = True
    return summary


@contextlib.contextmanager
def _stops_as_interrupt(active: bool) -> Iterator[None]:
    """While ``active`` (and on the main thread, where Python handles signals), SIGTERM
    and SIGHUP raise KeyboardInterrupt, as Ctrl-C does, unless ignored; the handlers
    before are put back after."""
    if not active or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # A signal ignored on purpose (``nohup`` ignores SIGHUP) stays ignored.
    previous = {
        sig: signal.signal(sig, interrupt)
        for sig in (signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(sig) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def record_crash(
    store: Store,
    source_id: str,
    holder: str,
    status: int,
    tail: list[str],
    clock: Clock | None = None,
) -> CrawlRun | None:
    """Put a crashed process's last stderr lines into its run: the run it recorded (left
    ``running`` if it died hard), or a new failed run if it died before recording one
    (unless another process holds the source by then: that is only logged)."""
    now = (clock or Clock()).now()
    reason = f"{CRASHED} (exit {status}): " + " | ".join(tail)
    run = next((r for r in store.runs.recent(source_id, 10) if r.holder == holder), None)
    if run is None:
        run = store.runs.start(CrawlRun(source_id, holder, now, now))
        if run is None:
            log.warning("run of %s crashed before it started: %s", source_id, reason)
            return None
    if run.outcome == "running":
        run.outcome, run.finished = "failed", now
    run.errors = [{"url": "-", "reason": reason}, *run.errors]
    return store.runs.finish(run)


class CrawlScheduler:
    """Keeps one interval job per enabled source in step with the store.

    Each run is a crawl in a pool of ``workers`` long-lived worker processes running up to
    ``crawls_per_worker`` crawls each (:class:`crawler.pool.WorkerPool`), or with
    ``crawls_per_worker=0`` a process of its own (``command``, see :func:`launch``),
    ``workers`` at a time; ``args`` and ``env`` go to every crawl process (store, settings
    overrides).
    """

    def __init__(
        self,
        store: Store,
        command: Sequence[str],
        *,
        workers: int = 2,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        sync_seconds: float = SYNC_SECONDS,
        clock: Clock | None = None,
        crawls_per_worker: int = 0,
        max_crawls: int | None = None,
    ) -> None:
        from crawler.pool import MAX_CRAWLS, WorkerPool

        self.store, self.command = store, list(command)
        self.clock = clock or Clock()
        self.args = list(args)
        self.env = env
        self.sync_seconds = sync_seconds
        self.intervals: dict[str, int] = {}
        self.results: deque[dict[str, Any]] = deque(maxlen=100)  # latest run summaries
        self.running: dict[str, subprocess.Popen[str]] = {}  # source id -> its crawl process
        self.pool = (
            WorkerPool(
                command,
                size=workers,
                args=args,
                env=env,
                store=store,
                clock=self.clock,
                max_crawls=max_crawls or MAX_CRAWLS,
            )
            if crawls_per_worker > 0
            else None
        )
        self.closing = False
        self.active = 0  # jobs running (runs, syncs)
        self.idle = threading.Condition()
        at_once = workers * crawls_per_worker if self.pool is not None else workers
        self.aps = BackgroundScheduler(
            timezone=self.clock.zone,
            executors={"default": ThreadPoolExecutor(at_once)},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )

    def start(self, paused: bool = False) -> None:
        """Schedule the sources and start (``paused``: compute the schedule, run nothing)."""
        self.sync()
        self.aps.add_job(
            self.sync, IntervalTrigger(seconds=self.sync_seconds), id="sync", max_instances=1
        )
        self.aps.start(paused=paused)

    def shutdown(self, wait: bool = True) -> None:
        """Start no more runs; with ``wait``, return when the running ones are done."""
        self.closing = True  # dispatches still queued start no crawl
        if self.pool is not None:
            self.pool.close()  # the workers finish their crawls and exit
        # APScheduler would wait for the running jobs holding the lock that adding or
        # moving a job takes: a job doing so then (sync, follow) would wait for ever.
        self.aps.shutdown(wait=False)
        if wait:
            with self.idle:
                self.idle.wait_for(lambda: self.active == 0)

    @contextlib.contextmanager
    def _job(self) -> Iterator[None]:
        with self.idle:
            self.active += 1
        try:
            yield
        finally:
            with self.idle:
                self.active -= 1
                self.idle.notify_all()

    def crawling(self) -> dict[str, int]:
        """The sources being crawled and the pid of the process crawling each."""
        if self.pool is not None:
            return self.pool.running()
        return {source: process.pid for source, process in dict(self.running).items()}

    def stop_crawls(self, kill_after: float) -> None:
        """Stop every running crawl now (SIGTERM: recorded ``abandoned``); a process still
        there ``kill_after`` seconds later is killed."""
        if self.pool is not None:
            self.pool.terminate(kill_after)
            return
        stopped = list(self.running.values())
        for process in stopped:
            process.terminate()  # Scrapy closes the crawl and records the run
        deadline = time.monotonic() + kill_after
        for process in stopped:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def sync(self) -> None:
        """Add, reschedule or drop jobs after sources changed (or an emergency began)."""
        with self._job():
            self._sync()

    def _sync(self) -> None:
        now = self.clock.now()
        wanted = {s.id: s for s in self.store.sources.list() if s.enabled}
        for source_id in set(self.intervals) - set(wanted):
            self.aps.remove_job(f"crawl:{source_id}")
            del self.intervals[source_id]
        changed = [
            (source, interval)
            for source in wanted.values()
            if self.intervals.get(source.id) != (interval := source.effective_interval(now))
        ]
        # Every source's last start in one request (at start-up, all of them: 10,000
        # reads one by one took over a minute on Elasticsearch).
        last = self.store.runs.last_started([s.id for s, _ in changed]) if changed else {}
        for source, interval in changed:
            due = self.real(self.next_due(last.get(source.id), interval, now), now)
            # APScheduler waits in real time; an accelerated clock (a demo) shortens the wait.
            every = interval / self.clock.speed
            self.aps.add_job(
                self.run,
                IntervalTrigger(seconds=every, start_date=due, jitter=self.jitter(every)),
                # Explicit, or APScheduler would push a start that is already past (it is
                # by the time the scheduler starts) by a whole interval.
                next_run_time=due,
                args=[source.id],
                id=f"crawl:{source.id}",
                name=source.name,
                replace_existing=True,
            )
            self.intervals[source.id] = interval
            log.info("source %s every %ss", source.id, interval)

    @staticmethod
    def next_due(last: datetime | None, interval: int, now: datetime) -> datetime:
        """The next run after a run started at ``last`` (None: never ran; an overdue
        source runs now): the last run plus ``interval``, so a restart keeps the rhythm."""
        return now if last is None else max(now, last + timedelta(seconds=interval))

    def real(self, when: datetime, now: datetime) -> datetime:
        """The real instant at which the clock shows ``when`` (``now`` being its time now)."""
        if self.clock.speed == 1:
            return when
        return datetime.now(self.clock.zone) + (when - now) / self.clock.speed

    @staticmethod
    def jitter(interval: float) -> int | None:
        return min(MAX_JITTER, int(interval) // 10) or None

    def next_runs(self) -> dict[str, datetime | None]:
        """Next run time of each source's job."""
        return {
            job.id.removeprefix("crawl:"): job.next_run_time
            for job in self.aps.get_jobs()
            if job.id.startswith("crawl:")
        }

    def follow(self, source_id: str, started: datetime, now: datetime) -> None:
        """Move the source's next run to an interval after the run another process
        ``started`` (plus this process's jitter): each process's own rhythm would drift
        apart from the others' (every jitter adds to it), and the source would run as soon
        as the earliest of them found it due, down to ``DUE_SHARE`` of its interval."""
        interval = self.intervals.get(source_id)
        if interval is None:
            return
        every = interval / self.clock.speed
        when = self.real(started + timedelta(seconds=interval), now)
        when += timedelta(seconds=random.uniform(0, self.jitter(every) or 0))
        with contextlib.suppress(JobLookupError):
            self.aps.modify_job(f"crawl:{source_id}", next_run_time=when)

    def run(self, source_id: str) -> dict[str, Any]:
        with self._job():
            if self.closing:
                return {"source": source_id, "outcome": "busy"}
            return self._run(source_id)

    def _run(self, source_id: str) -> dict[str, Any]:
        # Every process schedules every source: whichever comes first runs it, and the
        # others are told here, from the store, rather than by a worker's round trip (a
        # third of the work of a small run); the crawl asks again as it takes the lease.
        now = self.clock.now()
        try:
            last = too_recent(self.store, source_id, now)
        except Exception:
            log.warning("could not tell whether %s is due; its crawl will", source_id)
            last = None
        if last is not None:
            self.follow(source_id, last.started, now)
            summary: dict[str, Any] = {"source": source_id, "outcome": "busy"}
            self.results.append(summary)
            return summary
        if self.pool is not None:
            summary = self.pool.run(source_id, if_due=True)
            self.results.append(summary)
            log.info("run %s", json.dumps(summary, ensure_ascii=False))
            return summary
        summary = launch(
            self.command,
            source_id,
            ["--if-due", *self.args],
            self.env,
            running=self.running,
            store=self.store,
            clock=self.clock,
        )
        self.results.append(summary)
        log.info("run %s", json.dumps(summary, ensure_ascii=False))
        return summary

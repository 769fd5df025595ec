"""A pool of long-lived crawl worker processes (one per core by default), each running
many crawls at a time in one reactor (``command``: the composition root's worker,
``python -I -m yuqing.crawl --worker``, see :mod:`yuqing.crawl`).

A job goes to the live worker with the fewest crawls in hand; :meth:`WorkerPool.run`
waits for its summary (the same one-line summary a crawl process of its own prints). A
worker that has done ``max_crawls`` crawls or grown above ``max_memory_mb`` takes no more:
its input is closed, it finishes what it has and exits, and the next job starts a fresh
one (a long-lived process's memory only grows). A worker that dies has each of its crawls
in hand recorded as crashed with the end of its stderr, as a crawl process of its own
would (:func:`crawler.scheduler.record_crash`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import IO, Any

from crawler.scheduler import RUN_TIMEOUT, STDERR_LINES, record_crash
from store import Store
from store.clock import Clock

log = logging.getLogger(__name__)

MAX_CRAWLS = 500  # crawls of a worker before it is recycled
MAX_MEMORY_MB = 1024.0  # resident memory above which a worker is recycled


@dataclass
class Worker:
    """One worker process and the jobs it has in hand (job number -> source, future)."""

    process: subprocess.Popen[str]
    jobs: dict[int, tuple[str, Future[dict[str, Any]]]] = field(default_factory=dict)
    done: int = 0
    rss_mb: float = 0.0
    retiring: bool = False  # takes no more jobs
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_LINES))
    tail: threading.Thread | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def holder(self) -> str:
        """How the worker's runs name their holder in the store."""
        return f"{socket.gethostname()}:{self.process.pid}"


class WorkerPool:
    """Up to ``size`` worker processes started on demand from ``command`` (with ``args``
    and ``env``); each crawl closed at ``deadline`` seconds by its worker."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        size: int | None = None,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        max_crawls: int = MAX_CRAWLS,
        max_memory_mb: float = MAX_MEMORY_MB,
        deadline: float = RUN_TIMEOUT,
        store: Store | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.command, self.args, self.env = list(command), list(args), env
        self.size = size or os.cpu_count() or 1
        self.max_crawls, self.max_memory_mb, self.deadline = max_crawls, max_memory_mb, deadline
        self.store, self.clock = store, clock
        self.workers: list[Worker] = []
        self.lock = threading.Lock()
        self.numbers = itertools.count(1)
        self.closed = False
        self.started = 0  # worker processes started, recycled ones included

    # -- jobs -------------------------------------------------------------------------

    def run(self, source_id: str, if_due: bool = False) -> dict[str, Any]:
        """Run ``source_id`` in a worker and wait; its summary (``busy`` when another
        process holds the source or the pool is stopping, ``crashed`` when its worker
        died)."""
        future: Future[dict[str, Any]] = Future()
        job = {"source": source_id, "if_due": if_due, "deadline": self.deadline}
        with self.lock:
            if self.closed:
                return {"source": source_id, "outcome": "busy"}
            worker = self._pick()
            number = next(self.numbers)
            worker.jobs[number] = (source_id, future)
            # A worker that died a moment ago: its reader records the crash.
            with contextlib.suppress(OSError):
                self._send(worker, {"job": number, **job})
        summary = future.result()
        summary.setdefault("worker", worker.pid)
        return summary

    def _pick(self) -> Worker:
        """The live worker with the fewest jobs; a new one while fewer than ``size`` run."""
        live = [w for w in self.workers if not w.retiring and w.process.poll() is None]
        if len(live) < self.size and (not live or min(len(w.jobs) for w in live) > 0):
            return self._start()
        return min(live, key=lambda w: len(w.jobs))

    def _start(self) -> Worker:
        process = subprocess.Popen(
            [*self.command, "--worker", *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=self.env or dict(os.environ),
        )
        worker = Worker(process)
        self.workers.append(worker)
        self.started += 1
        assert process.stdout is not None and process.stderr is not None
        threading.Thread(
            target=self._read, args=(worker, process.stdout), name="worker-out", daemon=True
        ).start()
        worker.tail = threading.Thread(
            target=self._tail, args=(worker, process.stderr), name="worker-err", daemon=True
        )
        worker.tail.start()
        log.info("crawl worker %s started", worker.pid)
        return worker

    @staticmethod
    def _send(worker: Worker, message: dict[str, Any]) -> None:
        stdin = worker.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(message) + "\n")
        stdin.flush()

    def _read(self, worker: Worker, stdout: IO[str]) -> None:
        """The worker's answers, until it exits; then its unanswered jobs are crashes."""
        for line in stdout:
            try:
                answer = json.loads(line)
                number, summary = int(answer["job"]), dict(answer["summary"])
            except (ValueError, KeyError, TypeError):
                continue  # not an answer (a library printing to stdout)
            with self.lock:
                _, future = worker.jobs.pop(number, ("", None))
                worker.done = int(summary.pop("worker_jobs", worker.done + 1))
                worker.rss_mb = float(summary.pop("worker_rss_mb", 0.0))
                if not worker.retiring and (
                    worker.done >= self.max_crawls or worker.rss_mb > self.max_memory_mb
                ):
                    self._retire(worker)
            if future is not None:
                future.set_result(summary)
        worker.process.wait()
        if worker.tail is not None:
            worker.tail.join(timeout=5)  # its last stderr lines
        with self.lock:
            lost = dict(worker.jobs)
            worker.jobs.clear()
            if worker in self.workers:
                self.workers.remove(worker)
        tail = list(worker.stderr)
        status = worker.process.returncode
        if lost:
            log.warning("crawl worker %s exited (%s) with %d crawls", worker.pid, status, len(lost))
        for source_id, future in lost.values():
            if self.store is not None and not self.closed:
                try:
                    record_crash(self.store, source_id, worker.holder, status, tail, self.clock)
                except Exception:
                    log.exception("recording the crash of %s failed", source_id)
            future.set_result(
                {"source": source_id, "outcome": "crashed", "stderr": tail, "exit": status}
            )

    @staticmethod
    def _tail(worker: Worker, stderr: IO[str]) -> None:
        for line in stderr:
            worker.stderr.append(line.rstrip("\n"))

    def _retire(self, worker: Worker) -> None:
        """No more jobs for ``worker``: it finishes those it has and exits."""
        worker.retiring = True
        log.info(
            "crawl worker %s recycled after %d crawls (%.0f MB)",
            worker.pid,
            worker.done,
            worker.rss_mb,
        )
        stdin = worker.process.stdin
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()

    # -- stopping ---------------------------------------------------------------------

    def running(self) -> dict[str, int]:
        """The sources being crawled and the pid of the worker crawling each."""
        with self.lock:
            return {source: w.pid for w in self.workers for source, _ in w.jobs.values()}

    def close(self) -> None:
        """Take no more jobs; the workers finish theirs and exit."""
        with self.lock:
            self.closed = True
            for worker in self.workers:
                if not worker.retiring:
                    self._retire(worker)

    def terminate(self, kill_after: float) -> None:
        """Stop every crawl now (SIGTERM: the runs are recorded ``abandoned``); a worker
        still there ``kill_after`` seconds later is killed."""
        self.close()
        with self.lock:
            processes = [w.process for w in self.workers]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + kill_after
        for process in processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

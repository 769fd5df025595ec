"""Long operations (imports, backtests, exports) run in the background with progress
the console can poll; results are kept in the process for an hour.

They run in a small pool of worker threads apart from the threads that answer requests,
so however many heavy files arrive at once, the console and the health check still answer:
a job waits its turn (shown as running, at 0%) rather than taking a request thread."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

KEEP_SECONDS = 3600
WORKERS = 2  # jobs at once per process; more wait


@dataclass
class Download:
    """A file a job made, e.g. an export."""

    filename: str
    mimetype: str
    data: bytes


@dataclass
class Job:
    id: str
    kind: str
    owner: str
    done: int = 0
    total: int | None = None
    state: str = "running"  # running | done | failed
    error: str = ""
    result: Any = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def progress(self, done: int, total: int | None = None) -> None:
        """Report progress: ``done`` of ``total`` units (rows, items, days)."""
        self.done = done
        if total is not None:
            self.total = total

    def public(self) -> dict[str, Any]:
        percent = None
        if self.total:
            percent = round(100 * min(self.done, self.total) / self.total)
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "percent": percent,
            "error": self.error,
            "download": isinstance(self.result, Download),
        }


class Jobs:
    """The background jobs of one app."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="job")

    def start(self, kind: str, owner: str, work: Callable[[Job], Any]) -> Job:
        """Run ``work(job)`` in a thread inside this app's context; its return value
        becomes ``job.result``, an exception's message ``job.error``. A result of
        :class:`Download` is offered as a file."""
        job = Job(secrets.token_urlsafe(12), kind, owner)
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job

        app = current_app._get_current_object()  # type: ignore[attr-defined]

        def run() -> None:
            try:
                with app.app_context():
                    job.result = work(job)
                job.state = "done"
            except Exception as e:  # the job reports it; the service goes on
                job.state, job.error = "failed", str(e) or type(e).__name__
            finally:
                job.finished = time.time()

        self._pool.submit(run)
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        """The job, if it exists and belongs to ``owner``."""
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def _forget_old(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for key in [k for k, j in self._jobs.items() if j.finished and j.finished < cutoff]:
            del self._jobs[key]


def jobs_of(app: Flask) -> Jobs:
    jobs: Jobs = app.extensions.setdefault("yuqing.jobs", Jobs())
    return jobs

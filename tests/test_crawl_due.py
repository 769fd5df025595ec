"""Scheduled runs across crawler processes: a source runs once per due slot, however the
processes' looks at its last run and their leases interleave (crawler.run.run_source)."""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.base import STATE_STOPPED
from waiting import wait_for

from crawler.run import LEASE, run_source
from crawler.scheduler import CrawlScheduler
from store import Store
from store.clock import Clock, ManualClock
from store.model import CrawlRun, Source

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)


class Crawls:
    """The crawl run_source is given: counts its calls and reports one page read."""

    def __init__(self) -> None:
        self.sources: list[str] = []

    def __call__(self, source: Source, settings: dict[str, Any]) -> dict[str, Any]:
        self.sources.append(source.id)
        return {"yuqing/pages": 1, "finish_reason": "finished"}


def another_process_runs_first(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between this process's look at the source's last run and its taking the lease,
    another process starts and finishes a whole run of the source (a fast run, a fast
    machine, or this process held up by its load)."""
    start = store.runs.start

    def start_after_another(run: CrawlRun, **options: Any) -> CrawlRun | None:
        other = start(CrawlRun(run.source_id, "other:1", run.started, run.started + LEASE))
        assert other is not None
        other.outcome, other.finished = "ok", run.started
        store.runs.finish(other)
        monkeypatch.setattr(store.runs, "start", start)  # once
        return start(run, **options)

    monkeypatch.setattr(store.runs, "start", start_after_another)


def test_a_run_another_process_made_meanwhile_is_not_made_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.sources.put(Source("s1", "站点", "list", ["http://127.0.0.1:9/"], 600))
    clock, crawls = ManualClock(T0), Crawls()
    another_process_runs_first(store, monkeypatch)
    assert run_source(store, "s1", {}, if_due=True, clock=clock, crawl_with=crawls) is None
    assert crawls.sources == []
    assert [r.holder for r in store.runs.recent("s1")] == ["other:1"]
    # Its next slot is this process's again.
    clock.advance(timedelta(minutes=10))
    run = run_source(store, "s1", {}, if_due=True, clock=clock, crawl_with=crawls)
    assert run is not None and run.outcome == "ok" and crawls.sources == ["s1"]


def test_run_now_runs_whatever_ran_before(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.sources.put(Source("s1", "站点", "list", ["http://127.0.0.1:9/"], 600))
    clock, crawls = ManualClock(T0), Crawls()
    another_process_runs_first(store, monkeypatch)
    run = run_source(store, "s1", {}, clock=clock, crawl_with=crawls)
    assert run is not None and crawls.sources == ["s1"]
    assert len(store.runs.recent("s1")) == 2


def test_the_scheduler_does_not_dispatch_a_source_another_process_just_ran(
    store: Store, tmp_path: Path
) -> None:
    store.sources.put(Source("s1", "站点", "list", ["http://127.0.0.1:9/"], 600))
    clock = ManualClock(T0)
    other = store.runs.start(CrawlRun("s1", "other:1", T0, T0 + LEASE))
    assert other is not None
    other.outcome, other.finished = "ok", T0
    store.runs.finish(other)
    marker = tmp_path / "dispatched"
    # A crawl command that leaves a mark and prints no summary (recorded as a crash).
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"]
    scheduler = CrawlScheduler(store, command, clock=clock)
    scheduler.start(paused=True)
    try:
        assert scheduler.next_runs()["s1"] == T0 + timedelta(minutes=10)
        # The source ran in another process meanwhile (whose rhythm differs): this
        # process does not dispatch it and follows that run's rhythm.
        clock.advance(timedelta(minutes=13))
        other = store.runs.start(CrawlRun("s1", "other:1", clock.now(), clock.now() + LEASE))
        assert other is not None
        other.outcome, other.finished = "ok", clock.now()
        store.runs.finish(other)
        clock.advance(timedelta(minutes=2))
        assert scheduler.run("s1") == {"source": "s1", "outcome": "busy"}
        assert not marker.exists()
        following = scheduler.next_runs()["s1"]
        assert following is not None
        assert T0 + timedelta(minutes=23) <= following <= T0 + timedelta(minutes=24)
        clock.advance(timedelta(minutes=8))  # due again
        assert scheduler.run("s1")["outcome"] == "crashed"
        assert marker.read_text() == "x"
    finally:
        scheduler.shutdown(wait=False)


def test_the_scheduler_starts_from_every_last_run_read_at_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart keeps each source's rhythm (last run plus interval, or now if it never
    ran or is overdue), reading the last runs of all sources in one store operation."""
    clock = ManualClock(T0)
    last = {"s0": T0 - timedelta(minutes=4), "s1": T0 - timedelta(minutes=7)}
    last["s2"] = T0 - timedelta(hours=2)  # overdue
    for n in range(4):  # s3 never ran
        store.sources.put(Source(f"s{n}", f"站点{n}", "list", ["http://127.0.0.1:9/"], 600))
    for source_id, started in last.items():
        done = store.runs.start(CrawlRun(source_id, "other:1", started, started + LEASE))
        assert done is not None
        done.outcome, done.finished = "ok", started
        store.runs.finish(done)
    reads: list[str] = []
    for name in ("recent", "last_started"):
        real = getattr(store.runs, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            reads.append(_name)
            return _real(*args, **kw)

        monkeypatch.setattr(store.runs, name, counted)
    scheduler = CrawlScheduler(store, [sys.executable, "-c", "pass"], clock=clock)
    scheduler.start(paused=True)
    try:
        assert scheduler.next_runs() == {
            "s0": T0 + timedelta(minutes=6),
            "s1": T0 + timedelta(minutes=3),
            "s2": T0,
            "s3": T0,
        }
        assert reads == ["last_started"]
    finally:
        scheduler.shutdown(wait=False)


def test_a_scheduler_stops_while_a_job_moves_its_next_run(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """APScheduler waits for running jobs holding the lock that moving a job takes: a job
    following another process's run as the scheduler stopped waited for ever."""
    store.sources.put(Source("s1", "站点", "list", ["http://127.0.0.1:9/"], 600))
    clock = Clock()
    other = store.runs.start(CrawlRun("s1", "other:1", clock.now(), clock.now() + LEASE))
    assert other is not None
    other.outcome, other.finished = "ok", clock.now()
    store.runs.finish(other)
    scheduler = CrawlScheduler(store, [sys.executable, "-c", "pass"], clock=clock)
    scheduler.start()
    entered, go_on = threading.Event(), threading.Event()
    recent = store.runs.recent

    def held_up(source_id: str, limit: int = 20) -> list[CrawlRun]:
        entered.set()
        go_on.wait(30)
        return recent(source_id, limit)

    monkeypatch.setattr(store.runs, "recent", held_up)
    scheduler.aps.add_job(scheduler.run, args=["s1"], id="now")  # runs at once
    assert entered.wait(30)
    stopping = threading.Thread(target=scheduler.shutdown, daemon=True)
    stopping.start()
    wait_for("the scheduler stopping", lambda: scheduler.aps.state == STATE_STOPPED, 10)
    go_on.set()  # the job finds s1 not due and moves its next run
    stopping.join(30)
    assert not stopping.is_alive()
    assert scheduler.results[-1] == {"source": "s1", "outcome": "busy"}

"""Scheduled runs across crawler processes: a source runs once per due slot, however the
processes' looks at its last run and their leases interleave (crawler.run.run_source)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crawler.run import LEASE, run_source
from crawler.scheduler import CrawlScheduler
from store import Store
from store.clock import ManualClock
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
    clock.advance(timedelta(minutes=4))  # within the interval: another process ran it
    assert scheduler.run("s1") == {"source": "s1", "outcome": "busy"}
    assert not marker.exists()
    clock.advance(timedelta(minutes=6))  # due again
    assert scheduler.run("s1")["outcome"] == "crashed"
    assert marker.read_text() == "x"

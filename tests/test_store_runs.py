"""Crawl runs and their leases: the contract, on both backends."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store import ConflictError, Store
from store.model import CrawlRun

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)


def run(at: datetime = T0, source_id: str = "s1", holder: str = "h:1") -> CrawlRun:
    return CrawlRun(source_id, holder, at, lease_until=at + timedelta(minutes=5))


def test_one_live_run_per_source(store: Store) -> None:
    first = store.runs.start(run())
    assert first is not None and first.id
    assert store.runs.start(run(T0 + timedelta(minutes=1), holder="h:2")) is None
    assert store.runs.start(run(T0 + timedelta(minutes=1), source_id="s2")) is not None
    first.outcome, first.finished, first.pages, first.new_items = "ok", T0, 7, 3
    first.errors = [{"url": "http://x/a", "reason": "timeout"}]
    store.runs.finish(first)
    second = store.runs.start(run(T0 + timedelta(minutes=2)))
    assert second is not None
    runs = store.runs.recent("s1")
    assert [r.id for r in runs] == [second.id, first.id]
    done = runs[1]
    assert done.outcome == "ok" and done.finished == T0 and done.pages == 7
    assert done.new_items == 3 and done.errors == [{"url": "http://x/a", "reason": "timeout"}]
    assert runs[0].outcome == "running" and runs[0].started == T0 + timedelta(minutes=2)


def test_an_expired_lease_is_taken_over_and_the_old_run_is_lost(store: Store) -> None:
    first = store.runs.start(run())
    assert first is not None
    later = T0 + timedelta(minutes=6)
    second = store.runs.start(run(later, holder="h:2"))
    assert second is not None
    with pytest.raises(ConflictError):
        store.runs.extend(first, later + timedelta(minutes=5))
    store.runs.extend(second, later + timedelta(minutes=10))
    assert store.runs.start(run(later + timedelta(minutes=9))) is None
    outcomes = {r.id: r.outcome for r in store.runs.recent("s1")}
    assert outcomes == {first.id: "lost", second.id: "running"}
    # A late finish of the lost run is recorded but does not release the new lease.
    first.outcome = "ok"
    store.runs.finish(first)
    assert store.runs.start(run(later + timedelta(minutes=9))) is None


def test_racing_processes_get_one_lease(store: Store) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def take(n: int) -> None:
        barrier.wait()
        results.append(store.runs.start(run(holder=f"h:{n}")) is not None)

    threads = [threading.Thread(target=take, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert len(store.runs.recent("s1")) == 1


def test_runs_started_in_a_period_are_counted_per_source(store: Store) -> None:
    """What a daily report counts: every run started that day, not the recent ones."""
    for n in range(120):
        started = store.runs.start(run(T0 + timedelta(minutes=n)))
        assert started is not None
        started.outcome, started.finished = "ok", started.started
        store.runs.finish(started)
    other = store.runs.start(run(T0 + timedelta(hours=1), source_id="s2"))
    assert other is not None
    assert store.runs.started_per_source(T0, T0 + timedelta(hours=3)) == {"s1": 120, "s2": 1}
    assert store.runs.started_per_source(
        T0 + timedelta(minutes=60), T0 + timedelta(minutes=90)
    ) == {
        "s1": 30,
        "s2": 1,
    }
    assert store.runs.started_per_source(T0 - timedelta(days=1), T0) == {}


def test_the_last_start_of_every_source_in_one_request(store: Store) -> None:
    """What the scheduler reads at start-up, for all sources at once."""
    assert store.runs.last_started() == {} and store.runs.last_started(["s1"]) == {}
    for n in range(3):
        done = store.runs.start(run(T0 + timedelta(minutes=10 * n)))
        assert done is not None
        done.outcome, done.finished = "ok", done.started
        store.runs.finish(done)
    running = store.runs.start(run(T0 + timedelta(minutes=5), source_id="s2"))
    assert running is not None  # a run still going counts: it is the newest
    expected = {"s1": T0 + timedelta(minutes=20), "s2": T0 + timedelta(minutes=5)}
    got = store.runs.last_started()
    assert got == expected and all(t.tzinfo == SH for t in got.values())
    assert got["s1"] == store.runs.recent("s1", 1)[0].started
    odd = store.runs.start(run(T0 + timedelta(hours=1, microseconds=123_456), source_id="s3"))
    assert odd is not None  # as recorded, not rounded to the millisecond
    assert store.runs.last_started(["s3"]) == {"s3": store.runs.recent("s3", 1)[0].started}
    assert store.runs.last_started(["s2", "nowhere"]) == {"s2": expected["s2"]}
    assert store.runs.last_started([]) == {}


def test_the_last_starts_come_page_by_page(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """More sources than one page of the aggregation (Elasticsearch) or one chunk of ids
    (SQLite): the listing of sources once stopped at 10,000 (and the runs counted per
    source for reports at 10,000 buckets)."""
    monkeypatch.setattr("store.elastic.runs.PAGE", 3)
    monkeypatch.setattr("store.elastic.runs.TERMS", 4)
    monkeypatch.setattr("store.sqlite.runs._CHUNK", 4)
    expected = {}
    for n in range(11):
        started = T0 + timedelta(minutes=n)
        recorded = store.runs.start(run(started, source_id=f"s{n:02d}"))
        assert recorded is not None
        expected[recorded.source_id] = started
    assert store.runs.last_started() == expected
    assert store.runs.last_started(sorted(expected)) == expected
    counted = store.runs.started_per_source(T0, T0 + timedelta(hours=1))
    assert counted == dict.fromkeys(expected, 1)
    odd = [f"s{n:02d}" for n in range(1, 11, 2)]
    assert store.runs.last_started(odd) == {s: expected[s] for s in odd}


def test_runs_of_a_period_are_listed_newest_first(store: Store) -> None:
    for n in range(70):  # more than the recent runs a source page shows
        started = store.runs.start(run(T0 + timedelta(minutes=n)))
        assert started is not None
        started.outcome, started.finished = "ok", started.started
        store.runs.finish(started)
    found = store.runs.between("s1", T0 + timedelta(minutes=5), T0 + timedelta(minutes=65))
    assert [r.started for r in found] == [T0 + timedelta(minutes=n) for n in range(64, 4, -1)]
    assert store.runs.between("s2", T0, T0 + timedelta(hours=2)) == []


def test_a_run_started_since_a_time_refuses_the_lease(store: Store) -> None:
    first = store.runs.start(run())
    assert first is not None
    first.outcome, first.finished = "ok", T0 + timedelta(seconds=5)
    store.runs.finish(first)
    later = T0 + timedelta(minutes=1)
    # The lease is free, but a run started after ``not_since``: the source is not due.
    assert store.runs.start(run(later), not_since=T0 - timedelta(minutes=8)) is None
    assert [r.id for r in store.runs.recent("s1")] == [first.id]
    # A refusal leaves the lease free; a run started exactly then does not count.
    second = store.runs.start(run(later), not_since=T0)
    assert second is not None
    assert store.runs.start(run(later), not_since=T0 - timedelta(days=1)) is None
    assert [r.id for r in store.runs.recent("s1")] == [second.id, first.id]


def test_the_recent_runs_of_many_sources_at_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What every view of source health reads: each source's newest runs, exactly as
    recent() gives them, over more sources than one page of the aggregation
    (Elasticsearch) or one chunk of ids (SQLite)."""
    monkeypatch.setattr("store.elastic.runs.PAGE", 3)
    monkeypatch.setattr("store.elastic.runs.TERMS", 4)
    monkeypatch.setattr("store.sqlite.runs._CHUNK", 4)
    assert store.runs.recent_many(None, 5) == {} and store.runs.recent_many(["s1"], 5) == {"s1": []}
    ids = [f"s{n:02d}" for n in range(11)]
    for n, source_id in enumerate(ids):
        for k in range(n % 4 + 1):  # 1 to 4 runs a source; two start at the same time
            at = T0 + timedelta(minutes=10 * k - (k == 3) * 10, microseconds=n * 1_001)
            done = store.runs.start(run(at, source_id=source_id))
            assert done is not None
            if k < 3:
                done.outcome, done.finished, done.pages = "ok", at, k
                store.runs.finish(done)
    for limit in (1, 2, 3, 20):
        expected = {i: store.runs.recent(i, limit) for i in ids}
        assert store.runs.recent_many(None, limit) == expected
        assert store.runs.recent_many([*ids, "nowhere"], limit) == expected | {"nowhere": []}
    # Fewer sources a page when each brings many runs (Elasticsearch).
    monkeypatch.setattr("store.elastic.runs.HITS", 6)
    assert store.runs.recent_many(ids, 3) == {i: store.runs.recent(i, 3) for i in ids}
    # More runs a source than one top_hits may return: read source by source.
    monkeypatch.setattr("store.elastic.runs.INNER", 2)
    assert store.runs.recent_many(ids[:5], 3) == {i: store.runs.recent(i, 3) for i in ids[:5]}
    assert store.runs.recent_many([], 3) == {}
    got = store.runs.recent_many(["s03"], 4)["s03"]
    assert [r.started for r in got] == sorted((r.started for r in got), reverse=True)
    assert all(r.started.tzinfo == SH for r in got)

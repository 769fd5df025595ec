"""A scheduler starting up over a province: every source's last run read one by one (as
before) against all of them at once (``RunRepo.last_started``), in the same run.

    python bench/scheduler_startup.py [--sources 10000] [--store URL] [--repeat 1]

The sources and their one past run each are ``bench/province_sim.py``'s (same interval
mix, same seed), written under a fresh prefix of the checkout's Elasticsearch node
(``make es``; deleted at the end) or into ``--store sqlite:///path``. A
:class:`~crawler.scheduler.CrawlScheduler` then starts paused (the schedule computed,
nothing run) and shuts down, twice per repetition:

* ``one by one``: the peer, the store asked for each source's newest run
  (``runs.recent(id, 1)``, what the scheduler did before);
* ``at once``: the scheduler as it is.

Printed: seconds (wall and this process's CPU) of each start-up, the ratio one by one /
at once and the machine's load average; both must compute the same schedule.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

# Run as a script, the repository root is not on sys.path; the packages live there.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from province_sim import es_url, plan, seed  # noqa: E402

from crawler.dates import SHANGHAI  # noqa: E402
from crawler.scheduler import CrawlScheduler  # noqa: E402
from store import Store, open_store  # noqa: E402
from store.clock import ManualClock  # noqa: E402


def one_by_one(store: Store) -> Any:
    """``runs.last_started`` as the scheduler used to get it: a read per source."""

    def last_started(source_ids: Iterable[str] | None = None) -> dict[str, datetime]:
        assert source_ids is not None
        out = {}
        for source_id in source_ids:
            last = next(iter(store.runs.recent(source_id, 1)), None)
            if last is not None:
                out[source_id] = last.started
        return out

    return last_started


def start_up(store: Store, now: datetime) -> tuple[float, float, dict[str, datetime | None]]:
    """Wall and CPU seconds of a scheduler's start-up; each source's first run (as given
    to APScheduler: the jitter applies to the runs after it)."""
    # A clock standing still at ``now``: both start-ups compute the same due times.
    scheduler = CrawlScheduler(store, [sys.executable, "-c", "pass"], clock=ManualClock(now))
    wall, cpu = time.perf_counter(), time.process_time()
    scheduler.start(paused=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    due = scheduler.next_runs()
    scheduler.shutdown(wait=False)
    return wall, cpu, due


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--store", default="", help="store URL (default: the node of make es)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    url = args.store or es_url()
    elastic = url.startswith("http")
    prefix = f"startup-{uuid.uuid4().hex[:8]}-"
    store = open_store(url, **({"prefix": prefix} if elastic else {}))
    rows: dict[str, list[tuple[float, float]]] = {"one by one": [], "at once": []}
    loads = [os.getloadavg()[0]]
    try:
        plans = plan(args.sources, 100_000.0, args.seed)
        t0 = time.perf_counter()
        now = datetime.now(SHANGHAI)
        seed(store, plans, "http://127.0.0.1:9", now, random.Random(1))
        print(
            f"{args.sources:,} sources with a run each written in {time.perf_counter() - t0:.1f} s"
        )
        at_once = store.runs.last_started
        for _ in range(args.repeat):
            store.runs.last_started = one_by_one(store)  # type: ignore[method-assign]
            wall, cpu, before = start_up(store, now)
            rows["one by one"].append((wall, cpu))
            store.runs.last_started = at_once  # type: ignore[method-assign]
            wall, cpu, after = start_up(store, now)
            rows["at once"].append((wall, cpu))
            loads.append(os.getloadavg()[0])
            # The same schedule (each source's first run), to the microsecond.
            assert before.keys() == after.keys() and len(after) == args.sources
            drift = max(abs((b - a).total_seconds()) for b, a in _pairs(before, after))
            assert drift == 0, drift
    finally:
        if elastic:
            es = store.es  # type: ignore[attr-defined]
            for index in es.indices.get(index=f"{prefix}*"):
                es.indices.delete(index=index)
        store.close()
    print(f"store {'elasticsearch' if elastic else 'sqlite'}; load average {loads}")
    print(f"{'scheduler start-up':<22}{'wall s':>9}{'CPU s':>8}")
    best = {name: min(r) for name, r in rows.items()}
    for name, (wall, cpu) in best.items():
        print(f"{name:<22}{wall:>9.2f}{cpu:>8.2f}")
    ratio = best["one by one"][0] / best["at once"][0]
    print(f"one by one / at once: {ratio:.1f}x (wall, best of {args.repeat}); same schedule")
    return {"before": best["one by one"][0], "after": best["at once"][0], "ratio": ratio}


def _pairs(
    before: dict[str, datetime | None], after: dict[str, datetime | None]
) -> list[tuple[datetime, datetime]]:
    out = []
    for key, b in before.items():
        a = after[key]
        assert a is not None and b is not None
        out.append((b, a))
    return out


if __name__ == "__main__":
    main()

"""Source health over a province: every source's recent runs read one by one (as the
health views did before) against all of them at once (``RunRepo.recent_many``), in the
same run.

    python bench/source_health.py [--sources 10000] [--runs 5] [--store URL] [--repeat 1]

The sources are ``bench/province_sim.py``'s (same interval mix, same seed), each with
``--runs`` finished runs in the past, written under a fresh prefix of the checkout's
Elasticsearch node (``make es``; deleted at the end) or into ``--store sqlite:///path``.
Then, per repetition, what the API's source list, the reports and ``yuqing status`` read
(``HEALTH_RUNS`` runs of every source):

* ``one by one``: the peer, ``runs.recent(id, HEALTH_RUNS)`` per source;
* ``at once``: ``runs.recent_many(ids, HEALTH_RUNS)``.

Printed: seconds (wall and this process's CPU) of each, the ratio one by one / at once
and the machine's load average; both must give the same runs, source by source.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

# Run as a script, the repository root is not on sys.path; the packages live there.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from province_sim import es_url, plan, run_doc, seed  # noqa: E402

from api.reports import HEALTH_RUNS  # noqa: E402
from crawler.dates import SHANGHAI  # noqa: E402
from store import Store, open_store  # noqa: E402
from store.model import CrawlRun  # noqa: E402
from store.sqlite.common import ms  # noqa: E402


def earlier_runs(store: Store, ids: list[str], runs: int, now: datetime) -> None:
    """``runs - 1`` more finished runs of each source, an hour apart before the seeded one."""
    extra = []
    for source_id in ids:
        for k in range(1, runs):
            started = now - timedelta(hours=k, seconds=random.uniform(0, 600))
            run = CrawlRun(source_id, "seed:0", started, started, finished=started, outcome="ok")
            run.pages = run.list_pages = 1
            extra.append(run)
    es = getattr(store, "es", None)
    if es is None:  # SQLite: rows as SQLiteRuns writes them, in one transaction
        rows = []
        for run in extra:
            row = asdict(run) | {"id": uuid.uuid4().hex}
            for name in ("started", "lease_until", "finished"):
                row[name] = ms(row[name])
            rows.append((row["id"], run.source_id, ms(run.started), json.dumps(row)))
        with store.transaction() as db:  # type: ignore[attr-defined]
            db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?)", rows)
        return
    from elasticsearch.helpers import bulk

    index: str = store.runs.index  # type: ignore[attr-defined]
    actions = [{"_index": index, "_id": uuid.uuid4().hex, "_source": run_doc(r)} for r in extra]
    bulk(es, actions, chunk_size=2000, refresh=True)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="runs per source")
    parser.add_argument("--store", default="", help="store URL (default: the node of make es)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    url = args.store or es_url()
    elastic = url.startswith("http")
    prefix = f"health-{uuid.uuid4().hex[:8]}-"
    store = open_store(url, **({"prefix": prefix} if elastic else {}))
    rows: dict[str, list[tuple[float, float]]] = {"one by one": [], "at once": []}
    loads = [os.getloadavg()[0]]
    try:
        plans = plan(args.sources, 100_000.0, args.seed)
        t0 = time.perf_counter()
        now = datetime.now(SHANGHAI)
        seed(store, plans, "http://127.0.0.1:9", now, random.Random(1))
        ids = [s.id for s in store.sources.list()]
        random.seed(args.seed)
        earlier_runs(store, ids, args.runs, now)
        took = time.perf_counter() - t0
        print(f"{len(ids):,} sources with {args.runs} runs each written in {took:.1f} s")
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            before = {i: store.runs.recent(i, HEALTH_RUNS) for i in ids}
            rows["one by one"].append((time.perf_counter() - wall, time.process_time() - cpu))
            wall, cpu = time.perf_counter(), time.process_time()
            after = store.runs.recent_many(ids, HEALTH_RUNS)
            rows["at once"].append((time.perf_counter() - wall, time.process_time() - cpu))
            loads.append(os.getloadavg()[0])
            assert len(after) == args.sources and sum(map(len, after.values())) == (
                args.sources * args.runs
            )
            assert before == after, "recent_many differs from recent per source"
    finally:
        if elastic:
            es = store.es  # type: ignore[attr-defined]
            for index in es.indices.get(index=f"{prefix}*"):
                es.indices.delete(index=index)
        store.close()
    print(f"store {'elasticsearch' if elastic else 'sqlite'}; load average {loads}")
    print(f"{f'{HEALTH_RUNS} runs of every source':<26}{'wall s':>9}{'CPU s':>8}")
    best = {name: min(r) for name, r in rows.items()}
    for name, (wall, cpu) in best.items():
        print(f"{name:<26}{wall:>9.2f}{cpu:>8.2f}")
    ratio = best["one by one"][0] / best["at once"][0]
    print(f"one by one / at once: {ratio:.1f}x (wall, best of {args.repeat}); same runs")
    return {"before": best["one by one"][0], "after": best["at once"][0], "ratio": ratio}


if __name__ == "__main__":
    main()

"""Memory of one long-lived crawl worker over many crawls (``crawler.pool``).

    python bench/worker_memory.py [--crawls 400] [--sources 20]

A local server (its own process) serves ``--sources`` small list pages, each linking 5 of
the generated 50-150 KB articles of ``bench/crawl.py``; one worker crawls them round and
round (the first round stores the articles, later rounds find them known, as most
scheduled runs do), one crawl after another. Printed: the worker's resident memory after
each tenth of the crawls, its growth per crawl over the second half (a leak shows there,
not in the warm-up), and the seconds per crawl, against a fresh process per crawl on the
same sources in the same run (the baseline: its memory is its peak, every time).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from crawl import FAST, bench_env, serve

from crawler.pool import WorkerPool
from crawler.scheduler import launch
from store import open_store
from store.model import Source
from yuqing.wiring import CRAWL_COMMAND


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crawls", type=int, default=400)
    parser.add_argument("--sources", type=int, default=20)
    args = parser.parse_args()
    ready: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.sources * 5, 2, ready), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ready.get(timeout=600)}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "memory.db"
            store = open_store(f"sqlite:///{db}")
            for n in range(args.sources):
                url = f"{base}/small/{n}.html"
                store.sources.put(Source(f"s{n}", f"s{n}", "list", [url], 600, max_pages=1))
            env = bench_env(db, Path(tmp))
            pool = WorkerPool(CRAWL_COMMAND, size=1, args=FAST, env=env, max_crawls=10**9)
            rss: list[float] = []
            start = time.perf_counter()
            for n in range(args.crawls):
                summary = pool.run(f"s{n % args.sources}")
                assert summary["outcome"] == "ok", summary
                rss.append(pool.workers[0].rss_mb)
            per_crawl = (time.perf_counter() - start) / args.crawls
            pool.terminate(10)
            # The baseline: a process per crawl, a tenth as many crawls.
            count = max(args.sources, args.crawls // 10)
            start = time.perf_counter()
            peaks = [
                launch(CRAWL_COMMAND, f"s{n % args.sources}", FAST, env, timeout=600)["max_rss_mb"]
                for n in range(count)
            ]
            per_process = (time.perf_counter() - start) / count
            store.close()
    finally:
        server.terminate()
    step = max(1, args.crawls // 10)
    print(f"one worker, {args.crawls} crawls of {args.sources} small sources")
    print(f"{'crawls':>8}{'RSS MB':>10}")
    for n in range(step - 1, args.crawls, step):
        print(f"{n + 1:>8}{rss[n]:>10.1f}")
    half = args.crawls // 2
    growth = (rss[-1] - rss[half]) / max(1, args.crawls - 1 - half) * 1000
    print(f"growth over the second half: {growth:.1f} KB per crawl")
    print(
        f"seconds per crawl: {per_crawl:.3f} in the worker, {per_process:.3f} as a process each "
        f"({per_process / per_crawl:.1f}x); a process's peak RSS {max(peaks):.0f} MB"
    )


if __name__ == "__main__":
    main()

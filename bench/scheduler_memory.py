"""Scheduler memory over a long run: RSS of the scheduler process across many crawl runs.

    python bench/scheduler_memory.py [--runs 120] [--interval 5] [--workers 2] [--store URL]

The demo site runs in its own process; its five list and feed sources are registered in a
store (SQLite in a temporary folder unless ``--store`` names another) and put in emergency
mode at ``--interval`` seconds, the real way to crawl faster than the 60 s minimum. A
:class:`~crawler.scheduler.CrawlScheduler` in this process runs them (each run its own
``crawler.run`` process) until ``--runs`` have finished. Printed: this process's RSS at the
first finished run and at the end, with samples between. Each crawl is a separate
process, so the scheduler's RSS should stay flat.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timedelta
from pathlib import Path

# Run as a script, the repository root is not on sys.path; the packages live there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.dates import SHANGHAI
from crawler.scheduler import CrawlScheduler
from crawler.sources import load_sources, set_emergency
from store import open_store
from store.elastic import ElasticStore
from yuqing.wiring import CRAWL_COMMAND

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["-s", "LOG_LEVEL=WARNING", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false"]


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def serve_demo(port: int) -> subprocess.Popen[bytes]:
    site = subprocess.Popen(
        [sys.executable, "-m", "devtools.demosite", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return site
        except OSError:
            if time.monotonic() > deadline:
                site.kill()
                raise
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--interval", type=int, default=5, help="seconds between runs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8611, help="demo site port")
    parser.add_argument("--store", default="", help="store URL (default: SQLite, temporary)")
    args = parser.parse_args()

    site = serve_demo(args.port)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store or f"sqlite:///{tmp}/bench.db"
        prefix = f"bench-{uuid.uuid4().hex[:8]}-"
        store = open_store(url, **({"prefix": prefix} if url.startswith("http") else {}))
        config = Path(tmp) / "yuqing.toml"
        config.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env |= {"YUQING_CONFIG": str(config), "YUQING_STORE": url, "PYTHONPATH": str(ROOT)}
        if isinstance(store, ElasticStore):
            env["YUQING_STORE_PREFIX"] = prefix
        base = f"http://127.0.0.1:{args.port}"
        for source in load_sources():
            if source.enabled:
                source.start_urls = [
                    u.replace("http://127.0.0.1:8610", base) for u in source.start_urls
                ]
                store.sources.put(source)
        until = datetime.now(SHANGHAI) + timedelta(hours=6)
        ids = [s.id for s in store.sources.list()]
        set_emergency(store, interval=args.interval, until=until, source_ids=ids)
        scheduler = CrawlScheduler(store, CRAWL_COMMAND, workers=args.workers, args=ARGS, env=env)
        started = time.monotonic()
        scheduler.start()
        samples: list[tuple[int, float]] = []
        try:
            while len(scheduler.results) < 1:
                time.sleep(0.2)
            first = rss_mb()
            done = 0
            while done < args.runs:
                time.sleep(1)
                done = sum(1 for i in ids for r in store.runs.recent(i, args.runs) if r.finished)
                if not samples or done - samples[-1][0] >= args.runs // 10:
                    samples.append((done, rss_mb()))
        finally:
            scheduler.shutdown()
            site.terminate()
            site.wait()
        end = rss_mb()
        outcomes: dict[str, int] = {}
        for i in ids:
            for r in store.runs.recent(i, args.runs * 2):
                outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        if isinstance(store, ElasticStore):  # leave no benchmark indices behind
            for index in store.es.indices.get(index=f"{prefix}*"):
                store.es.indices.delete(index=index)
        store.close()
    minutes = (time.monotonic() - started) / 60
    print(f"store {url.split('://')[0]}: {done} runs of {len(ids)} sources in {minutes:.1f} min")
    print("outcomes:", outcomes)
    print("rss MB by finished runs:", ", ".join(f"{n}: {mb:.1f}" for n, mb in samples))
    print(f"scheduler RSS start {first:.1f} MB, end {end:.1f} MB, change {end - first:+.1f} MB")


if __name__ == "__main__":
    main()

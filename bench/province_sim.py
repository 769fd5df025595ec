"""A province simulation: thousands of sources, three crawler processes, one store.

    python bench/province_sim.py [--sources 10000] [--minutes 10] [--crawlers 3]
    python bench/province_sim.py --smoke          # --minutes 1 --sources 500

The interval mix (drawn per source from ``--seed``): 85% of the sources every 10-60
minutes (10 min 30%, 15 min 20%, 20 min 15%, 30 min 20%, 60 min 15% of those), 13% every
5 minutes, 2% in emergency mode at 1 minute (interval 10 min, ``emergency_interval`` 60 s
until tomorrow). At 10,000 sources that is about 15 runs a second.

* **The web** is a process of its own (asyncio, one port, one site per source under
  ``/s/N/``). Source N publishes articles at its own rate (a heavy-tailed share of
  ``--items-per-day``, the first at a random offset); its list page shows its 20 newest
  articles published since the simulation began, with ``Last-Modified`` (a list that did
  not change answers 304 to a conditional GET). Articles are ``bench/crawl.py``'s 50-150
  KB news pages dated when they were published.
* **The crawlers** are ``--crawlers`` processes, each composed as ``yuqing run`` composes
  its crawl part (``yuqing.service``): a :class:`~crawler.scheduler.CrawlScheduler` over the
  store with a pool of ``--workers`` long-lived crawl workers (``python -I -m yuqing.crawl
  --worker``) running up to ``--crawls-per-worker`` crawls each, with ``bench/crawl.py``'s
  crawl settings (no matcher, no download delay). They share the sources through the
  store's leases, as crawler nodes do.
* **The store** is the checkout's Elasticsearch node (``make es``; indices under a fresh
  prefix, deleted at the end) or ``--store sqlite:///path``.
* **History:** every source gets one finished run in the past (started a random share of
  its interval ago), as if the province had been crawled all along; so due times are
  spread, not all "now".

Printed, from the store's run records over the window (runs that started between the
crawlers' start and their stop): schedule lag (start minus due time, due being the
previous run's start plus the source's interval, as ``CrawlScheduler.due`` has it; the
scheduler adds up to ``min(60 s, interval/10)`` of jitter on purpose), double crawls
(overlapping runs of a source, or a run that started less than ``DUE_SHARE`` of the
interval after the previous: the same due slot), lease operations per second (the
Elasticsearch lease index's writes and reads), runs/s, items stored/s, the CPU of every
process (each crawler with its workers, the web, the Elasticsearch node) and the machine's
load average, then the cost per run and per item that ``docs/scaling.md`` extrapolates
from.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import itertools
import json
import logging
import multiprocessing
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, the repository root is not on sys.path; the packages live there.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crawl import FAST, article_page, list_page  # noqa: E402

from crawler.dates import SHANGHAI  # noqa: E402
from crawler.run import DUE_SHARE  # noqa: E402
from store import Store, open_store  # noqa: E402
from store.model import CrawlRun, Source  # noqa: E402

EVERY = [(600, 30), (900, 20), (1200, 15), (1800, 20), (3600, 15)]  # minutes 10-60, weights
FIVE_MINUTES, EMERGENCY = 300, 60
PER_LIST = 20
TICK = os.sysconf("SC_CLK_TCK")
ARGS = [*FAST, "-s", "LOG_LEVEL=WARNING"]


# -- the province ---------------------------------------------------------------------


@dataclass
class Plan:
    """Source ``n``'s interval (effective), whether in emergency, and its articles: the
    ``k``-th published at ``origin + offset + k * period`` (seconds)."""

    interval: int
    emergency: bool
    period: float
    offset: float


def plan(sources: int, items_per_day: float, seed: int) -> list[Plan]:
    """Intervals and publication rates of the province's sources (deterministic)."""
    rng = random.Random(seed)
    weights = [rng.lognormvariate(0, 1.2) for _ in range(sources)]
    total = sum(weights)
    out = []
    for w in weights:
        u = rng.random()
        if u < 0.02:
            interval, emergency = EMERGENCY, True
        elif u < 0.15:
            interval, emergency = FIVE_MINUTES, False
        else:
            interval = rng.choices([i for i, _ in EVERY], [w for _, w in EVERY])[0]
            emergency = False
        period = 86_400 * total / (w * items_per_day)  # seconds between its articles
        out.append(Plan(interval, emergency, period, rng.uniform(0, period)))
    return out


def published(p: Plan, origin: float, now: float) -> int:
    """How many of the source's articles are online at ``now``."""
    if now < origin + p.offset:
        return 0
    return int((now - origin - p.offset) // p.period) + 1


# -- the web --------------------------------------------------------------------------


def serve(plans: list[Plan], origin: float, ready: multiprocessing.Queue[int]) -> None:
    """The fake web of every source, until killed (a process of its own)."""
    count = len(plans)
    article = re.compile(rb"2021-02-\d\d 10:\d\d")
    cache: dict[int, bytes] = {}

    def page(path: str, since: str | None) -> tuple[bytes, bytes, bytes]:
        now = time.time()
        if path == "/robots.txt":
            return b"200 OK", b"", b"User-agent: *\nDisallow: /private/\n"
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "s" and parts[3] == "index.html":
            n = int(parts[2])
            if not 0 <= n < count:
                return b"404 Not Found", b"", b"not found"
            p = plans[n]
            online = published(p, origin, now)
            newest = origin + p.offset + (online - 1) * p.period if online else origin
            modified = email.utils.formatdate(int(newest), usegmt=True)
            header = f"Last-Modified: {modified}\r\n".encode()
            if since is not None:
                try:
                    seen = email.utils.parsedate_to_datetime(since).timestamp()
                except (TypeError, ValueError):
                    seen = 0.0
                if int(newest) <= seen:
                    return b"304 Not Modified", header, b""
            ids = [k * count + n for k in range(online - 1, max(-1, online - 1 - PER_LIST), -1)]
            return b"200 OK", header, list_page(f"s{n}", 0, ids)
        if len(parts) == 3 and parts[1] == "a" and parts[2].endswith(".html"):
            g = int(parts[2].removesuffix(".html"))
            n, k = g % count, g // count
            p = plans[n]
            if k >= published(p, origin, now):
                return b"404 Not Found", b"", b"not found"
            if g not in cache:
                if len(cache) > 2000:
                    cache.clear()
                when = datetime.fromtimestamp(origin + p.offset + k * p.period, SHANGHAI)
                stamp = when.strftime("%Y-%m-%d %H:%M").encode()
                cache[g] = article.sub(stamp, article_page(g), count=1)
            return b"200 OK", b"", cache[g]
        return b"404 Not Found", b"", b"not found"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ", 2)[1].split("?")[0]
                since = next(
                    (v.strip() for k, _, v in (h.partition(":") for h in lines[1:])
                     if k.lower() == "if-modified-since"),
                    None,
                )  # fmt: skip
                status, extra, body = page(path, since)
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
                    + extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )  # fmt: skip
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        ready.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


# -- the store --------------------------------------------------------------------------


def run_doc(r: CrawlRun) -> dict[str, Any]:
    """A run as the Elasticsearch store writes it (for bulk seeding)."""
    doc = asdict(r)
    del doc["id"]
    for name in ("started", "lease_until", "finished"):
        doc[name] = doc[name].isoformat()
    return doc


def seed(store: Store, plans: list[Plan], base: str, now: datetime, rng: random.Random) -> None:
    """The sources, each with one finished run a random share of its interval ago."""
    sources, runs = [], []
    for n, p in enumerate(plans):
        source = Source(f"s{n:05d}", f"站点{n}", "list", [f"{base}/s/{n}/index.html"], 600)
        source.max_pages = 1
        if p.emergency:
            source.emergency_interval, source.emergency_until = EMERGENCY, now + timedelta(days=1)
        else:
            source.interval = p.interval
        started = now - timedelta(seconds=rng.uniform(0, p.interval))
        run = CrawlRun(source.id, "seed:0", started, started, finished=started, outcome="ok")
        run.pages = run.list_pages = 1
        sources.append(source)
        runs.append(run)
    es = getattr(store, "es", None)
    if es is None:  # SQLite: the store's own operations are fast enough
        for source, run in zip(sources, runs, strict=True):
            store.sources.put(source)
            recorded = store.runs.start(run)
            assert recorded is not None
            store.runs.finish(recorded)
        return
    # Elasticsearch: one bulk request per thousand documents, the documents as the store
    # writes them (a put per source refreshes the index each time: minutes for 10,000).
    from elasticsearch.helpers import bulk

    def source_doc(s: Source) -> dict[str, Any]:
        doc = asdict(s)
        del doc["version"]
        if s.emergency_until is not None:
            doc["emergency_until"] = s.emergency_until.isoformat()
        return doc

    runs_index: str = store.runs.index  # type: ignore[attr-defined]
    sources_index: str = store.sources.index  # type: ignore[attr-defined]
    actions = [{"_index": sources_index, "_id": s.id, "_source": source_doc(s)} for s in sources]
    actions += [
        {"_index": runs_index, "_id": uuid.uuid4().hex, "_source": run_doc(r)} for r in runs
    ]
    bulk(es, actions, chunk_size=1000, refresh=True)


def lease_stats(store: Store) -> dict[str, int]:
    """Writes (index, delete) and reads (get) on the lease index so far (Elasticsearch)."""
    es = getattr(store, "es", None)
    if es is None:
        return {}
    index: str = store.runs.leases  # type: ignore[attr-defined]
    total = es.indices.stats(index=index, metric="indexing,get")["_all"]["primaries"]
    return {
        "writes": total["indexing"]["index_total"] + total["indexing"]["delete_total"],
        "reads": total["get"]["total"],
    }


def store_requests(store: Store, prefix: str) -> dict[str, int]:
    """Operations on the simulation's indices so far, by index and kind (``runs:get``)."""
    es = getattr(store, "es", None)
    if es is None:
        return {}
    stats = es.indices.stats(index=f"{prefix}*", metric="indexing,get,search")["indices"]
    out: dict[str, int] = {}
    for index, s in stats.items():
        p, name = s["primaries"], re.sub(r"-v\d+(-\d+)?$", "", index.removeprefix(prefix))
        for kind, n in (
            ("index", p["indexing"]["index_total"]),
            ("delete", p["indexing"]["delete_total"]),
            ("get", p["get"]["total"]),
            ("search", p["search"]["query_total"]),
        ):
            out[f"{name}:{kind}"] = out.get(f"{name}:{kind}", 0) + n
    return out


def es_cpu_seconds(store: Store) -> float | None:
    es = getattr(store, "es", None)
    if es is None:
        return None
    nodes = es.nodes.stats(metric="process")["nodes"]
    return sum(n["process"]["cpu"]["total_in_millis"] for n in nodes.values()) / 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


# -- a crawler process ------------------------------------------------------------------


def crawler_main(workers: int, per_worker: int, base: str) -> None:
    """One crawler node (``--crawler``): the scheduler and its worker pool as ``yuqing
    run`` composes them, until SIGTERM; then one JSON line: run outcomes and CPU."""
    from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent

    from crawler.scheduler import CrawlScheduler
    from yuqing.config import load
    from yuqing.wiring import CRAWL_COMMAND, clock_for, store_for

    # The pool's own account of its workers (started, recycled, exited) on stderr.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("crawler.pool").setLevel(logging.INFO)
    config = load(None)
    store = store_for(config)
    scheduler = CrawlScheduler(
        store,
        CRAWL_COMMAND,
        workers=workers,
        args=ARGS,
        clock=clock_for(config),
        crawls_per_worker=per_worker,
    )
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def crawled(event: JobExecutionEvent) -> None:
        if event.job_id.startswith("crawl:") and isinstance(event.retval, dict):
            with lock:
                key = str(event.retval.get("outcome"))
                outcomes[key] = outcomes.get(key, 0) + 1

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.monotonic()
    pool = scheduler.pool
    if pool is not None:
        # The workers started and warm before the window (a worker's start-up and its
        # first crawl take seconds of CPU, which would weigh on a short run's figures):
        # one crawl each at once, of a disabled source of its own that no one schedules.
        ids = [f"warm-{os.getpid()}-{n}" for n in range(workers)]
        for ident in ids:
            store.sources.put(Source(ident, ident, "list", [base], 3600, enabled=False))
        warm = [threading.Thread(target=pool.run, args=(ident,)) for ident in ids]
        for t in warm:
            t.start()
        for t in warm:
            t.join()
    scheduler.aps.add_listener(crawled, EVENT_JOB_EXECUTED)
    scheduler.start()
    up = resource.getrusage(resource.RUSAGE_SELF)
    live = [w.pid for w in pool.workers] if pool is not None else []
    print(json.dumps({
        "scheduled": len(scheduler.intervals), "seconds": time.monotonic() - started,
        "cpu": up.ru_utime + up.ru_stime, "workers_cpu": sum(cpu_seconds(p) for p in live),
    }), flush=True)  # fmt: skip
    stop.wait()
    # Dispatches waiting for a free crawl slot (the executor's queue) as the window ends.
    executor = getattr(scheduler.aps, "_executors", {}).get("default")
    queue = getattr(getattr(executor, "_pool", None), "_work_queue", None)
    backlog = queue.qsize() if queue is not None else -1
    scheduler.shutdown(wait=True)
    deadline = time.monotonic() + 60
    while pool is not None and pool.workers and time.monotonic() < deadline:
        time.sleep(0.2)  # the workers exit and are waited for (their CPU counted below)
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    store.close()
    print(json.dumps({
        "outcomes": outcomes,
        "queued": backlog,
        "scheduler_cpu": me.ru_utime + me.ru_stime,
        "workers_cpu": kids.ru_utime + kids.ru_stime,
        "workers_started": pool.started if pool is not None else 0,
    }), flush=True)  # fmt: skip


# -- the run records ----------------------------------------------------------------------


@dataclass
class Figures:
    runs: int = 0  # started in the window (after every scheduler was up)
    lags: list[float] | None = None
    steady: list[float] | None = None  # lags of runs due after every scheduler was up
    overlapping: int = 0
    same_slot: int = 0
    new_items: int = 0
    pages: int = 0
    not_modified: int = 0
    outcomes: dict[str, int] | None = None
    doubles: list[str] | None = None
    seconds: list[float] | None = None  # how long the window's runs took


def analyse(
    store: Store, plans: list[Plan], since: datetime, up: datetime, until: datetime
) -> Figures:
    out = Figures(lags=[], steady=[], outcomes={}, doubles=[], seconds=[])
    assert out.lags is not None and out.steady is not None and out.outcomes is not None
    assert out.doubles is not None and out.seconds is not None
    history = since - timedelta(hours=2)
    for n, p in enumerate(plans):
        runs = sorted(store.runs.between(f"s{n:05d}", history, until), key=lambda r: r.started)
        for before, run in itertools.pairwise(runs):
            if run.started < since:
                continue
            if run.started >= up:
                out.runs += 1
                out.outcomes[run.outcome] = out.outcomes.get(run.outcome, 0) + 1
                out.new_items += run.new_items
                out.pages += run.pages
                out.not_modified += run.not_modified
                if run.finished is not None:
                    out.seconds.append((run.finished - run.started).total_seconds())
            due = before.started + timedelta(seconds=p.interval)
            lag = (run.started - due).total_seconds()
            out.lags.append(lag)
            if due >= up:
                out.steady.append(lag)
            end = before.finished or before.lease_until
            gap = (run.started - before.started).total_seconds()
            if run.started < end:
                out.overlapping += 1
                out.doubles.append(f"{run.source_id}: {before.started} - {end} and {run.started}")
            elif gap < DUE_SHARE * p.interval:
                out.same_slot += 1
                out.doubles.append(f"{run.source_id}: {before.started} then {run.started}")
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the simulation -------------------------------------------------------------------------


def es_url() -> str:
    from devtools import eslocal

    node = eslocal.status()
    if node is None:
        raise SystemExit("no Elasticsearch node for this checkout: run `make es` (or --store)")
    return node.url


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    """Run the simulation; the figures (also printed)."""
    plans = plan(args.sources, args.items_per_day, args.seed)
    origin = time.time()
    ready: multiprocessing.Queue[int] = multiprocessing.Queue()
    web = multiprocessing.Process(target=serve, args=(plans, origin, ready), daemon=True)
    web.start()
    base = f"http://127.0.0.1:{ready.get(timeout=60)}"
    url = args.store or es_url()
    prefix = f"sim-{uuid.uuid4().hex[:8]}-"
    elastic = url.startswith("http")
    store = open_store(url, **({"prefix": prefix} if elastic else {}))
    crawlers: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            t0 = time.monotonic()
            seed(store, plans, base, datetime.now(SHANGHAI), random.Random(args.seed + 1))
            seeded = time.monotonic() - t0
            config = Path(tmp) / "yuqing.toml"
            config.write_text("")
            env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
            env |= {"YUQING_CONFIG": str(config), "YUQING_STORE": url}
            if elastic:
                env["YUQING_STORE_PREFIX"] = prefix
            requests0 = store_requests(store, prefix)
            es0, web0 = es_cpu_seconds(store), cpu_seconds(web.pid or 0)
            since = datetime.now(SHANGHAI)
            load0 = os.getloadavg()
            command = [sys.executable, str(Path(__file__).resolve()), "--crawler",
                       "--workers", str(args.workers),
                       "--crawls-per-worker", str(args.crawls_per_worker),
                       "--base", f"{base}/s/0/index.html"]  # fmt: skip
            logs = [Path(tmp) / f"crawler-{n + 1}.log" for n in range(args.crawlers)]
            for log in logs:
                with log.open("w") as err:
                    crawlers.append(
                        subprocess.Popen(
                            command, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=tmp
                        )
                    )
            startup = []
            for c in crawlers:
                assert c.stdout is not None
                line = c.stdout.readline()
                if not line:
                    raise SystemExit(f"crawler process {c.pid} exited: {c.wait()}")
                startup.append(json.loads(line))
            up = datetime.now(SHANGHAI)
            # Rates are taken from here: the schedulers' start-up (reading every
            # source's last run) is reported apart.
            leases_up, requests_up = lease_stats(store), store_requests(store, prefix)
            es_up = es_cpu_seconds(store)
            loads = [load0]
            end = time.monotonic() + args.minutes * 60
            while time.monotonic() < end:
                time.sleep(min(15.0, max(0.0, end - time.monotonic())))
                loads.append(os.getloadavg())
            until = datetime.now(SHANGHAI)
            leases1, requests1 = lease_stats(store), store_requests(store, prefix)
            es1, web1 = es_cpu_seconds(store), cpu_seconds(web.pid or 0)
            for c in crawlers:
                c.send_signal(signal.SIGTERM)
            reports = []
            for c in crawlers:
                out, _ = c.communicate(timeout=300)
                reports.append(json.loads(out.strip().splitlines()[-1]))
            crawlers.clear()
            for n, log in enumerate(logs):
                lines = log.read_text(errors="replace").splitlines()
                pool = [x for x in lines if "crawl worker" in x]  # started, recycled, exited
                reports[n]["log"] = pool + [x for x in lines if x not in pool][:5]
            figures = analyse(store, plans, since, up, until)
        finally:
            for c in crawlers:
                c.kill()
                c.wait()
            web.kill()
            web.join()
            if elastic:
                for index in store.es.indices.get(index=f"{prefix}*"):  # type: ignore[attr-defined]
                    store.es.indices.delete(index=index)  # type: ignore[attr-defined]
            store.close()
    wall = (until - up).total_seconds()
    return report(args, plans, figures, reports, {
        "wall": wall, "seeded": seeded, "startup": startup, "loads": loads,
        "leases": {k: leases1[k] - leases_up[k] for k in leases1},
        "requests": {k: requests1[k] - requests_up.get(k, 0) for k in requests1},
        "startup_requests": sum(requests_up.values()) - sum(requests0.values()),
        "startup_es_cpu": None if es0 is None or es_up is None else es_up - es0,
        "es_cpu": None if es_up is None or es1 is None else es1 - es_up,
        "total_wall": (until - since).total_seconds(),
        "web_cpu": web1 - web0, "store": "elasticsearch" if elastic else "sqlite",
    })  # fmt: skip


def report(
    args: argparse.Namespace,
    plans: list[Plan],
    f: Figures,
    reports: list[dict[str, Any]],
    m: dict[str, Any],
) -> dict[str, Any]:
    """Print the tables; the headline figures."""
    assert f.lags is not None and f.steady is not None and f.doubles is not None
    wall = m["wall"]  # from every scheduler up to the stop
    offered = sum(1 / p.interval for p in plans)
    mix: dict[int, int] = {}
    for p in plans:
        mix[p.interval] = mix.get(p.interval, 0) + 1
    for r, up in zip(reports, m["startup"], strict=True):
        r["scheduler_cpu"] -= up["cpu"]  # the window's, start-up apart
        r["workers_cpu"] -= up["workers_cpu"]
    crawl_cpu = [r["scheduler_cpu"] + r["workers_cpu"] for r in reports]
    loads = [x[0] for x in m["loads"]]
    print(
        f"{args.sources:,} sources ("
        + ", ".join(f"{n} every {i // 60} min" for i, n in sorted(mix.items()))
        + f"); due {offered:.2f} runs/s; {args.items_per_day:,.0f} items/day published "
        f"({args.items_per_day / 86_400:.2f}/s)"
    )
    print(
        f"{args.crawlers} crawler processes x {args.workers} worker(s) x "
        f"{args.crawls_per_worker} crawls; store {m['store']}; seeded in {m['seeded']:.1f} s"
    )
    print(
        "scheduler start-up (every source's last run read): "
        + ", ".join(f"{u['seconds']:.1f} s ({u['cpu']:.1f} s CPU)" for u in m["startup"])
        + (f"; {m['startup_requests']:,} store operations" if m["requests"] else "")
    )
    print(
        f"window {wall:.0f} s after start-up ({m['total_wall']:.0f} s in all); load average "
        f"(1 min) {min(loads):.2f}-{max(loads):.2f}, mean {statistics.mean(loads):.2f} on "
        f"{os.cpu_count()} cores\n"
    )

    def lag_row(name: str, values: list[float]) -> str:
        figures = [pct(values, 0.5), pct(values, 0.95), max(values, default=float("nan")),
                   min(values, default=float("nan"))]  # fmt: skip
        return f"{name:<34}{len(values):>7}" + "".join(f"{x:>9.1f}" for x in figures)

    print(f"{'schedule lag (s)':<34}{'runs':>7}{'p50':>9}{'p95':>9}{'max':>9}{'min':>9}")
    print(lag_row("every run (start-up included)", f.lags))
    print(lag_row("runs due once all were up", f.steady))
    print()
    rows = [
        ("runs", f"{f.runs}", f"{f.runs / wall:.2f}/s of {offered:.2f}/s due"),
        ("double crawls", f"{f.overlapping + f.same_slot}",
         f"{f.overlapping} overlapping, {f.same_slot} in the same due slot"),
        ("outcomes", "", json.dumps(f.outcomes, ensure_ascii=False)),
        ("pages fetched", f"{f.pages}", f"{f.pages / wall:.2f}/s, {f.not_modified} of them 304"),
        ("items stored", f"{f.new_items}", f"{f.new_items / wall:.2f}/s"),
        ("run duration (s)", "", f"p50 {pct(f.seconds or [], 0.5):.2f}, "
         f"p95 {pct(f.seconds or [], 0.95):.2f}, max {max(f.seconds or [0.0]):.2f}"),
    ]  # fmt: skip
    if m["leases"]:
        lw, lr = m["leases"]["writes"], m["leases"]["reads"]
        rate = f"{(lw + lr) / wall:.1f}/s ({lw / wall:.1f} writes, {lr / wall:.1f} reads)"
        rows.append(("lease operations", f"{lw + lr}", rate))
        r = m["requests"]
        kinds: dict[str, int] = {}
        indices: dict[str, int] = {}
        for key, n in r.items():
            index, kind = key.rsplit(":", 1)
            kinds[kind] = kinds.get(kind, 0) + n
            indices[index] = indices.get(index, 0) + n
        ops = ", ".join(f"{k} {v / wall:.1f}/s" for k, v in kinds.items())
        rows.append(("store operations", f"{sum(r.values())}", ops))
        runs = max(1, f.runs)
        busiest = sorted(indices.items(), key=lambda kv: -kv[1])
        rows.append(
            ("  per run, by index", "", ", ".join(f"{i} {n / runs:.1f}" for i, n in busiest if n))
        )
        detail = sorted(r.items(), key=lambda kv: -kv[1])[:8]
        rows.append(("  per run, busiest", "", ", ".join(f"{k} {n / runs:.1f}" for k, n in detail)))
    for name, count, note in rows:
        print(f"{name:<34}{count:>9}  {note}")
    print()
    print(f"{'process (window)':<34}{'CPU s':>9}{'cores':>7}  notes")
    for n, (r, cpu) in enumerate(zip(reports, crawl_cpu, strict=True)):
        note = (
            f"scheduler {r['scheduler_cpu']:.1f} s, workers {r['workers_cpu']:.1f} s "
            f"({r['workers_started']} started); jobs {json.dumps(r['outcomes'])}, "
            f"{r['queued']} queued at the end"
        )
        print(
            f"{f'crawler {n + 1} (scheduler + workers)':<34}{cpu:>9.1f}{cpu / wall:>7.2f}  {note}"
        )
    print(f"{'fake web':<34}{m['web_cpu']:>9.1f}{m['web_cpu'] / wall:>7.2f}")
    if m["es_cpu"] is not None:
        print(
            f"{'Elasticsearch node':<34}{m['es_cpu']:>9.1f}{m['es_cpu'] / wall:>7.2f}  "
            "the whole node (other checkouts' tests may use it too)"
        )
    runs = max(1, f.runs)
    print()
    print(
        f"per run: crawl CPU {sum(crawl_cpu) / runs * 1000:.0f} ms (schedulers "
        f"{sum(r['scheduler_cpu'] for r in reports) / runs * 1000:.0f} ms, workers "
        f"{sum(r['workers_cpu'] for r in reports) / runs * 1000:.0f} ms)"
        + (
            f"; Elasticsearch CPU {m['es_cpu'] / runs * 1000:.0f} ms; store operations "
            f"{sum(m['requests'].values()) / runs:.1f}, of them lease "
            f"{sum(m['leases'].values()) / runs:.1f}"
            if m["es_cpu"] is not None
            else ""
        )
    )
    for n, r in enumerate(reports):
        for line in r["log"][:8]:
            print(f"crawler {n + 1} log: {line[:300]}")
    for d in f.doubles[:10]:
        print("double:", d)
    return {
        "runs": f.runs,
        "doubles": f.overlapping + f.same_slot,
        "lag_p50": pct(f.lags, 0.5),
        "lag_p95": pct(f.lags, 0.95),
        "items": f.new_items,
        "wall": wall,
    }


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--smoke", action="store_true", help="--minutes 1 --sources 500")
    parser.add_argument("--crawlers", type=int, default=3, help="crawler processes")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per crawler")
    parser.add_argument("--crawls-per-worker", type=int, default=8)
    parser.add_argument("--items-per-day", type=float, default=100_000.0)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--store", default="", help="store URL (default: the node of make es)")
    parser.add_argument("--crawler", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base", default="", help=argparse.SUPPRESS)  # a list page to warm up
    args = parser.parse_args(argv)
    if args.crawler:
        crawler_main(args.workers, args.crawls_per_worker, args.base)
        return None
    if args.smoke:
        args.minutes, args.sources = 1.0, 500
        args.items_per_day = args.items_per_day * 500 / 10_000
    return simulate(args)


if __name__ == "__main__":
    main()

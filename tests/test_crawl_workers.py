"""Long-lived crawl workers (crawler.pool, ``yuqing.crawl --worker``) as real processes
against real HTTP servers on 127.0.0.1: many crawls at a time in one worker, a hung crawl
closed at its deadline while its worker's other crawls go on, a worker recycled after its
crawls; and ``yuqing run`` started in a directory holding files named like the project's
packages, stopped with SIGTERM while a crawl hangs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pagesite import PageSite, serve_pages
from test_scrapy_project import FIRE, MEETING, SITE
from waiting import wait_for

from crawler.pool import WorkerPool
from store import ItemQuery, Store, open_store
from store.model import Source
from yuqing.wiring import CRAWL_COMMAND

FAST = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=WARNING",
    "-s", "HTTPPROXY_ENABLED=false", "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
    "-s", "ROBOTSTXT_OBEY=false", "-s", "YUQING_MATCHER=null",
]  # fmt: skip
YUQING = str(Path(sys.executable).with_name("yuqing"))


@pytest.fixture
def site() -> Iterator[PageSite]:
    with serve_pages(SITE) as served:
        yield served


@pytest.fixture
def hanging() -> Iterator[str]:
    """A server that takes every connection and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        for conn in held:
            conn.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'yuqing.db'}")
    yield store
    store.close()


def environment(store: Store, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "yuqing.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return env | {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url}


def lists(store: Store, base: str, *ids: str) -> None:
    for ident in ids:
        store.sources.put(Source(ident, ident, "list", [f"{base}/list/index.html"], 600))


def test_one_worker_crawls_at_once_and_closes_a_hung_crawl_at_its_deadline(
    site: PageSite, hanging: str, sqlite_store: Store, tmp_path: Path
) -> None:
    lists(sqlite_store, site.url, "news", "news2")
    sqlite_store.sources.put(Source("hung", "hung", "page", [f"{hanging}/a.html"], 600))
    pool = WorkerPool(
        CRAWL_COMMAND,
        size=1,
        args=[*FAST, "-s", "DOWNLOAD_TIMEOUT=120"],
        env=environment(sqlite_store, tmp_path),
        # Long enough for the other two crawls to finish first on a loaded machine.
        deadline=15,
        store=sqlite_store,
    )
    try:
        with ThreadPoolExecutor(3) as threads:
            hung = threads.submit(pool.run, "hung")
            wait_for("the hung crawl", lambda: "hung" in pool.running())
            started = time.monotonic()
            news = [threads.submit(pool.run, s) for s in ("news", "news2")]
            done = [f.result(timeout=60) for f in news]
            assert not hung.done(), "the hung crawl is still open while the others finish"
            hung_summary = hung.result(timeout=60)
            closed_after = time.monotonic() - started
        assert [s["outcome"] for s in done] == ["ok", "ok"], done
        assert all(s["new_items"] == 2 for s in done), done
        assert hung_summary["outcome"] == "failed", hung_summary
        # One worker did all three, and lives on for the next crawl.
        assert {s["worker"] for s in [*done, hung_summary]} == {pool.workers[0].pid}
        run = sqlite_store.runs.recent("hung", 1)[0]
        assert run.outcome == "failed" and "deadline" in run.errors[0]["reason"], run.errors
        # Closed at its deadline: long before its download would have timed out (120 s).
        assert closed_after < 60, closed_after
        again = pool.run("news")
        assert again["outcome"] == "ok" and again["worker"] == hung_summary["worker"]
        assert pool.started == 1
    finally:
        pool.terminate(10)
    titles = {h.item.title for h in sqlite_store.items.search(ItemQuery(highlight=False)).hits}
    assert titles == {FIRE, MEETING}


def test_a_worker_is_recycled_after_its_crawls(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    lists(sqlite_store, site.url, "a", "b", "c")
    pool = WorkerPool(
        CRAWL_COMMAND,
        size=1,
        args=FAST,
        env=environment(sqlite_store, tmp_path),
        max_crawls=2,
        store=sqlite_store,
    )
    try:
        summaries = [pool.run(source) for source in ("a", "b", "c")]
    finally:
        pool.terminate(10)
    assert [s["outcome"] for s in summaries] == ["ok", "ok", "ok"], summaries
    first, second, third = (s["worker"] for s in summaries)
    assert first == second != third
    assert pool.started == 2
    # The recycled worker exited once its crawls were done.
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)


# Files named like the project's packages where ``yuqing run`` starts: imported in place
# of the project's code, they would hang every crawl.
IMPOSTOR = "import time\ntime.sleep(3600)\n"


def test_crawls_ignore_the_working_directory_and_stop_within_the_grace_period(
    site: PageSite, hanging: str, sqlite_store: Store, tmp_path: Path
) -> None:
    workdir = tmp_path / "here"
    workdir.mkdir()
    for name in ("monitor", "crawler", "store", "keywords", "yuqing", "scrapy"):
        (workdir / f"{name}.py").write_text(IMPOSTOR)
    lists(sqlite_store, site.url, "news")
    sqlite_store.sources.put(Source("hung", "hung", "page", [f"{hanging}/a.html"], 600))
    env = environment(sqlite_store, tmp_path)
    grace = 2.0
    log = tmp_path / "service.log"
    with log.open("w") as err:
        service = subprocess.Popen(
            [YUQING, "run", "--no-api", "--no-mail", "--workers", "2", "--grace", str(grace),
             *FAST, "-s", "DOWNLOAD_TIMEOUT=300"],
            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True,
        )  # fmt: skip
    try:
        wait_for(
            "the news crawl",
            lambda: any(r.outcome == "ok" for r in sqlite_store.runs.recent("news", 5)),
            timeout=90,
        )
        wait_for(
            "the hung crawl",
            lambda: any(r.outcome == "running" for r in sqlite_store.runs.recent("hung", 5)),
        )
        service.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = service.wait(60)
        took = time.monotonic() - started
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    assert code == 0, log.read_text()[-3000:]
    # The grace period, then the stop of the crawls (KILL_SECONDS at most): not the
    # download's 300 s.
    assert took < grace + 10 + 5, took
    assert sqlite_store.runs.recent("hung", 1)[0].outcome == "abandoned"
    assert sqlite_store.runs.recent("news", 1)[0].new_items == 2

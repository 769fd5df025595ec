"""Rendered pages (crawler.render): a source marked ``render`` is crawled through
scrapy-playwright in the system's Chromium, so that list links and articles built by
JavaScript are stored; without ``render`` they are not; a page whose script never loads
is a run error naming the page, not a hang. A real HTTP server on 127.0.0.1 serves the
pages; real crawl processes (``yuqing.crawl``, alone and as a long-lived worker) crawl
them into SQLite with Debian's chromium (a missing browser fails these tests)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dnsstub
import pytest
from api_support import make_app, signed_in
from pagesite import PageSite, serve_pages
from waiting import wait_for

from crawler.pinning import checker
from crawler.pool import WorkerPool
from crawler.preview import Pins, preview
from crawler.scheduler import launch
from crawler.settings import settings_for
from crawler.sources import SourceError
from store import Item, ItemQuery, Store, open_store
from store.model import Source
from yuqing.wiring import CRAWL_COMMAND

TESTS = Path(__file__).parent
ARGS = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=WARNING",
    "-s", "HTTPPROXY_ENABLED=false", "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
    "-s", "ROBOTSTXT_OBEY=false", "-s", "YUQING_MATCHER=null",
]  # fmt: skip

ARTICLES = {
    "t20210301_1": (
        "潼南区召开防汛工作会议部署汛期工作",
        "潼南区召开防汛工作会议，部署今年汛期各项防范措施，要求各镇街立即开展隐患排查。"
        "会议指出，要加强对涪江、琼江沿线低洼地带的巡查，提前转移受威胁群众，确保人员安全。",
    ),
    "t20210302_2": (
        "梓潼街道处置一起燃气泄漏",
        "3月2日，梓潼街道对辖区一处燃气泄漏进行处置。现场无人员受伤，供气已于当晚恢复。"
        "街道随后组织对辖区老旧小区燃气管线开展排查，督促物业单位落实安全责任。",
    ),
}


def _list_page() -> str:
    """A list whose links a script writes: the HTML as served has none."""
    links = [[f"/art/{key}.html", title] for key, (title, _) in ARTICLES.items()]
    return (
        "<html><head><meta charset='utf-8'><title>要闻</title></head><body><ul id='list'></ul>"
        f"<script>for (const [href, text] of {json.dumps(links, ensure_ascii=False)}) {{"
        "const a = document.createElement('a'); a.href = href; a.textContent = text;"
        "const li = document.createElement('li'); li.appendChild(a);"
        "document.getElementById('list').appendChild(li); }</script></body></html>"
    )


def _article_page(key: str) -> str:
    """An empty shell whose title and body a script fetches and inserts after loading."""
    return (
        "<html><head><meta charset='utf-8'><title>加载中</title></head><body>"
        "<div id='app'>加载中…</div><script>"
        f"fetch('/api/{key}.json').then(r => r.json()).then(d => {{"
        "document.title = d.title;"
        "document.getElementById('app').innerHTML = '<div class=\"article\"><h1>' + d.title +"
        ' \'</h1><div class="info">发布时间：2021-03-01 09:30</div><div class="content">\''
        " + d.paragraphs.map(p => '<p>' + p + '</p>').join('') + '</div></div>'; });"
        "</script></body></html>"
    )


def _pages() -> dict[str, str]:
    pages = {"/list/index.html": _list_page()}
    for key, (title, body) in ARTICLES.items():
        pages[f"/art/{key}.html"] = _article_page(key)
        half = len(body) // 2
        data = {"title": title, "paragraphs": [body[:half], body[half:]]}
        pages[f"/api/{key}.json"] = json.dumps(data, ensure_ascii=False)
    # A page whose script never arrives: it never finishes loading.
    pages["/slow/index.html"] = (
        "<html><head><meta charset='utf-8'><title>慢</title></head><body><ul id='list'></ul>"
        "<script src='/stall.js'></script></body></html>"
    )
    return pages


@pytest.fixture
def site() -> Iterator[PageSite]:
    with serve_pages(_pages()) as served:
        served.stalled.add("/stall.js")
        yield served


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'yuqing.db'}")
    yield store
    store.close()


def _env(store: Store, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "yuqing.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return env | {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url}


def _source(ident: str, url: str, render: bool) -> Source:
    return Source(ident, ident, "list", [url], 600, render=render)


def _crawl(store: Store, tmp_path: Path, source: Source, *more: str) -> dict[str, object]:
    store.sources.put(source)
    return launch(CRAWL_COMMAND, source.id, [*ARGS, *more], _env(store, tmp_path), timeout=120)


def _items(store: Store, source_id: str) -> dict[str, Item]:
    query = ItemQuery(sources=[source_id], size=50, highlight=False)
    found = store.items.search(query).hits
    return {hit.item.url.rsplit("/", 1)[-1].removesuffix(".html"): hit.item for hit in found}


def test_a_rendered_source_stores_what_scripts_build_and_a_plain_one_does_not(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    url = f"{site.url}/list/index.html"
    summary = _crawl(sqlite_store, tmp_path, _source("plain", url, render=False))
    # As served, the list has no links: nothing to store (and no article page asked for).
    assert summary["outcome"] == "ok" and summary["items"] == 0, summary
    assert not [p for p in site.requested if p.startswith(("/art/", "/api/"))]

    summary = _crawl(sqlite_store, tmp_path, _source("rendered", url, render=True))
    assert summary["outcome"] == "ok", summary
    items = _items(sqlite_store, "rendered")
    assert set(items) == set(ARTICLES)
    for key, (title, body) in ARTICLES.items():
        assert items[key].title == title
        assert items[key].body.replace("\n", "") == body
        assert "加载中" not in items[key].body
    # The browser fetched what the scripts asked for, from the same site.
    assert {f"/api/{key}.json" for key in ARTICLES} <= set(site.requested)
    assert _items(sqlite_store, "plain") == {}


def test_a_page_that_never_settles_is_a_run_error_naming_it(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    url = f"{site.url}/slow/index.html"
    source = _source("slow", url, render=True)
    summary = _crawl(sqlite_store, tmp_path, source, "-s", "YUQING_RENDER_TIMEOUT=2")
    assert summary["outcome"] == "failed", summary
    run = sqlite_store.runs.recent("slow", 1)[0]
    assert [e["url"] for e in run.errors] == [url], run.errors
    assert run.errors[0]["reason"].startswith("render timed out"), run.errors
    assert "/stall.js" in site.requested


def test_a_worker_renders_one_source_while_crawling_a_plain_one(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    """The long-lived worker (one asyncio reactor, many crawls): the rendered crawl and the
    plain one run side by side; only the first starts a browser."""
    url = f"{site.url}/list/index.html"
    sqlite_store.sources.put(_source("rendered", url, render=True))
    sqlite_store.sources.put(_source("plain", url, render=False))
    pool = WorkerPool(
        CRAWL_COMMAND, size=1, args=ARGS, env=_env(sqlite_store, tmp_path), store=sqlite_store
    )
    try:
        with ThreadPoolExecutor(2) as threads:
            done = list(threads.map(pool.run, ["rendered", "plain"]))
    finally:
        pool.terminate(10)
    assert [s["outcome"] for s in done] == ["ok", "ok"], done
    assert pool.started == 1
    assert set(_items(sqlite_store, "rendered")) == set(ARTICLES)
    assert _items(sqlite_store, "plain") == {}


def test_a_missing_browser_is_a_clear_error_naming_the_setting(tmp_path: Path) -> None:
    source = _source("r", "http://news.example/list/", render=True)
    missing = str(tmp_path / "chromium")
    with pytest.raises(SourceError) as raised:
        settings_for(source, {"YUQING_RENDER_BROWSER": missing})
    assert raised.value.field == "render"
    assert missing in str(raised.value) and "YUQING_RENDER_BROWSER" in str(raised.value)
    assert "no executable" in str(raised.value)
    # A plain source never needs it, and gets Scrapy's own download handlers.
    plain = settings_for(_source("p", "http://news.example/list/", render=False))
    assert "DOWNLOAD_HANDLERS" not in plain
    rendered = settings_for(source)
    assert rendered["DOWNLOAD_HANDLERS"]["https"] == "crawler.render.RenderHandler"
    assert rendered["PLAYWRIGHT_MAX_PAGES_PER_CONTEXT"] == 2


def test_the_browser_connects_where_the_check_looked_and_no_further(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """With a DNS stub in place of real DNS (as in tests/test_crawl_pinning.py): the
    browser reaches the source's name only through the crawl's pinned answer (Chromium
    cannot look ``news.example`` up itself), the name is looked up once though it
    rebinds to an internal address, and a picture on a host whose answer is internal is
    never requested (Chromium alone would have fetched ``localhost`` from 127.0.0.1)."""
    pages = _pages()
    with serve_pages(pages) as site:
        port = site.url.rsplit(":", 1)[1]
        key = next(iter(ARTICLES))
        site.pages[f"/art/{key}.html"] = _article_page(key).replace(
            "<body>", f"<body><img src='http://localhost:{port}/pixel.png'>"
        )
        answers = {"news.example": [["127.0.0.1"], ["10.0.0.7"]], "localhost": [["10.0.0.5"]]}
        env = dict(_env(sqlite_store, tmp_path))
        dns = tmp_path / "dns.json"
        dnsstub.write(dns, answers)
        path = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
        env |= {"YUQING_TEST_DNS": str(dns), "PYTHONPATH": path}
        source = _source("pinned", f"http://news.example:{port}/list/index.html", render=True)
        sqlite_store.sources.put(source)
        stub = ["-s", "YUQING_DNS_LOOKUP=dnsstub.lookup"]
        stub += ["-s", 'YUQING_INTERNAL_NETWORKS=["10.0.0.0/8"]']
        command = [sys.executable, "-m", "yuqing.crawl"]  # without -I: PYTHONPATH counts
        summary = launch(command, "pinned", [*ARGS, *stub], env, timeout=120)
    assert summary["outcome"] == "ok", summary
    assert set(_items(sqlite_store, "pinned")) == set(ARTICLES)
    assert sorted(dnsstub.lookups(dns)) == ["localhost", "news.example"]
    assert set(site.hosts) == {f"news.example:{port}"}
    assert "/pixel.png" not in site.requested


def test_scrapy_crawl_renders_a_configured_render_source(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    """``scrapy crawl list -a source=ID`` (the project's Scrapy way) sets the rendering up
    from the stored source as ``yuqing.crawl`` does."""
    sqlite_store.sources.put(_source("rendered", f"{site.url}/list/index.html", render=True))
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    done = subprocess.run(
        # Scrapy's own -s takes no JSON: no YUQING_MATCHER=null (the empty library matches).
        [scrapy, "crawl", "list", "-a", "source=rendered", *ARGS[:-2]],
        cwd=TESTS.parent,
        env=_env(sqlite_store, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    items = _items(sqlite_store, "rendered")
    assert set(items) == set(ARTICLES)
    assert items[next(iter(ARTICLES))].title == next(iter(ARTICLES.values()))[0]


def test_a_stopping_worker_does_not_wait_for_a_page_that_never_settles(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    """SIGTERM while a rendered page waits for a script that never comes (and a page
    timeout far beyond the pool's grace): the page is failed at once, the run recorded
    ``abandoned`` and the worker exits by itself (a worker killed at the grace's end would
    answer ``crashed``)."""
    sqlite_store.sources.put(_source("slow", f"{site.url}/slow/index.html", render=True))
    args = [*ARGS, "-s", "YUQING_RENDER_TIMEOUT=600"]
    pool = WorkerPool(
        CRAWL_COMMAND, size=1, args=args, env=_env(sqlite_store, tmp_path), store=sqlite_store
    )
    with ThreadPoolExecutor(1) as threads:
        running = threads.submit(pool.run, "slow")
        wait_for("the page's script requested", lambda: "/stall.js" in site.requested)
        pool.terminate(30)
        summary = running.result(timeout=60)
    assert summary["outcome"] == "abandoned", summary
    assert sqlite_store.runs.recent("slow", 1)[0].outcome == "abandoned"


def test_the_preview_of_a_rendered_source_shows_what_scripts_build(site: PageSite) -> None:
    """ "Test this source" (API and console) goes through the crawl's browser: the list's
    links and the articles' titles and bodies are the ones the scripts insert."""
    url = f"{site.url}/list/index.html"
    now = datetime.now(UTC)
    plain = preview(_source("plain", url, render=False), now, allow_private=True)
    assert plain.status == 200 and plain.links == [] and plain.articles == []
    shown = preview(_source("rendered", url, render=True), now, allow_private=True)
    assert shown.status == 200 and not shown.problems, shown
    assert shown.links == [f"{site.url}/art/{key}.html" for key in ARTICLES]
    for article, (title, body) in zip(shown.articles, ARTICLES.values(), strict=True):
        assert article.status == 200 and article.title == title, article
        assert article.excerpt.replace("\n", "") == body[: len(article.excerpt)]
        assert article.publish_time is not None and article.publish_time.day == 1
    assert {f"/api/{key}.json" for key in ARTICLES} <= set(site.requested)


def test_a_rendered_preview_checks_what_the_page_asks_for_and_never_settling_fails(
    site: PageSite, tmp_path: Path
) -> None:
    """The preview's address checks hold in the browser: the source's name is looked up
    once (its DNS then rebinds to an internal address) and the browser connects to that
    answer; a picture on a host with an internal address is never fetched. A page that
    never settles is a problem named in the preview, within the render timeout."""
    key = next(iter(ARTICLES))
    port = site.url.rsplit(":", 1)[1]
    site.pages[f"/art/{key}.html"] = _article_page(key).replace(
        "<body>", f"<body><img src='http://localhost:{port}/pixel.png'>"
    )
    answers = {"news.example": [["127.0.0.1"], ["10.0.0.7"]], "localhost": [["10.0.0.5"]]}
    asked: list[str] = []

    def lookup(host: str) -> list[str]:
        asked.append(host)
        return answers[host][min(asked.count(host), len(answers[host])) - 1]

    pins = Pins(False, lookup=lookup, is_internal=checker(["10.0.0.0/8"]))
    source = _source("pinned", f"http://news.example:{port}/list/index.html", render=True)
    shown = preview(source, datetime.now(UTC), pins=pins)
    assert not shown.problems and [a.title for a in shown.articles] == [
        title for title, _ in ARTICLES.values()
    ], shown
    assert sorted(asked) == ["localhost", "news.example"]
    assert "/pixel.png" not in site.requested
    assert set(site.hosts) == {f"news.example:{port}"}

    slow = _source("slow", f"{site.url}/slow/index.html", render=True)
    settings = {"YUQING_RENDER_TIMEOUT": 2}
    stuck = preview(slow, datetime.now(UTC), allow_private=True, settings=settings)
    assert stuck.status == 0 and len(stuck.problems) == 1, stuck
    assert stuck.problems[0].startswith(f"cannot fetch {slow.start_urls[0]}: render timed out")


def test_the_api_preview_renders_with_the_crawls_settings_or_names_the_missing_browser(
    site: PageSite, sqlite_store: Store, tmp_path: Path
) -> None:
    """``POST /api/sources/preview`` (the console's "test this source" calls the same
    operation) with the ``-s`` settings the crawls get (``yuqing run -s ...``)."""
    missing = str(tmp_path / "chromium")
    rendered = {
        "id": "rendered",
        "name": "要闻",
        "type": "list",
        "start_urls": [f"{site.url}/list/index.html"],
        "interval": 600,
        "render": True,
        "allow_private": True,
        "limit": 1,
    }
    app = make_app(sqlite_store, tmp_path, crawl_args=["-s", "YUQING_RENDER_TIMEOUT=2"])
    admin = signed_in(app, "admin")
    found = admin.post("/api/sources/preview", json=rendered)
    assert found.status_code == 200, found.get_json()
    title = next(iter(ARTICLES.values()))[0]
    assert [a["title"] for a in found.get_json()["articles"]] == [title]
    slow = rendered | {"start_urls": [f"{site.url}/slow/index.html"]}
    stuck = admin.post("/api/sources/preview", json=slow).get_json()
    # In 2 s, not the default 30: the browser names the timeout it was given.
    assert "render timed out" in stuck["problems"][0], stuck
    assert "Timeout 2000ms exceeded" in stuck["problems"][0], stuck
    assert sqlite_store.sources.list() == []

    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")  # another installation
    try:
        args = ["-s", f"YUQING_RENDER_BROWSER={missing}"]
        app = make_app(other, tmp_path / "other", crawl_args=args)
        refused = signed_in(app, "admin").post("/api/sources/preview", json=rendered)
    finally:
        other.close()
    assert refused.status_code == 400 and refused.get_json()["field"] == "render"
    detail = refused.get_json()["detail"]
    assert missing in detail and "no executable" in detail


class HeldArticles:
    """A site on 127.0.0.1 whose list links ``count`` static articles; each article's
    response is held until the test lets one go (:meth:`release`), so the requests in
    flight at once are the pages the browser has open at once."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.in_flight = self.most = self.served = 0
        self.lock = threading.Lock()
        self.gate = threading.Semaphore(0)
        self.closing = threading.Event()
        links = "".join(f"<li><a href='/art/{n}.html'>第{n}篇</a></li>" for n in range(count))
        self.list = f"<html><head><meta charset='utf-8'></head><body><ul>{links}</ul></body></html>"

    def article(self, n: int) -> str:
        text = "".join(random.Random(n).choices(HANZI, k=300))  # each its own text
        return (
            f"<html><head><meta charset='utf-8'><title>第{n}篇 {text[:12]}</title></head><body>"
            f"<div class='article'><h1>第{n}篇 {text[:12]}</h1>"
            f"<div class='content'><p>{text[:150]}。</p><p>{text[150:]}。</p></div></div>"
            "</body></html>"
        )

    def release(self) -> None:
        self.gate.release()

    def handle(self, path: str) -> bytes | None:
        if path == "/list/index.html":
            return self.list.encode()
        if not path.startswith("/art/"):
            return None
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            while not self.gate.acquire(timeout=0.1):
                if self.closing.is_set():
                    return None
            return self.article(int(path.split("/")[-1].split(".")[0])).encode()
        finally:
            with self.lock:
                self.in_flight -= 1
                self.served += 1


HANZI = "防汛会议部署汛期工作要求各镇街开展隐患排查加强对沿线低洼地带巡查提前转移群众确保安全"


@contextmanager
def held_site(count: int) -> Iterator[tuple[HeldArticles, str]]:
    site = HeldArticles(count)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = site.handle(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield site, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        site.closing.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("limit", [None, 3])
def test_no_more_pages_render_at_once_than_the_limit_and_it_is_reached(
    limit: int | None, sqlite_store: Store, tmp_path: Path
) -> None:
    """``YUQING_RENDER_PAGES`` (2 by default) pages in the browser at once, though Scrapy
    would send 8 requests to the site at a time: the articles' responses are held, one
    let go at a time once the limit's worth are waiting (or all that are left)."""
    pages = limit or 2
    count = 7
    more = ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "YUQING_RENDER_TIMEOUT=60"]
    if limit is not None:
        more += ["-s", f"YUQING_RENDER_PAGES={limit}"]
    with held_site(count) as (site, url), ThreadPoolExecutor(1) as threads:
        source = _source("held", f"{url}/list/index.html", render=True)
        source.selectors = {"links": "ul a::attr(href)"}
        crawl = threads.submit(_crawl, sqlite_store, tmp_path, source, *more)
        for n in range(count):
            waiting = min(pages, count - n)
            wait_for(
                f"{waiting} article pages in flight after {n} served",
                lambda n=n, waiting=waiting: site.served == n and site.in_flight >= waiting,
                timeout=60,
            )
            site.release()
        summary = crawl.result(timeout=120)
    assert summary["outcome"] == "ok" and summary["items"] == count, summary
    assert site.most == pages


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_ctrl_c_stops_a_single_crawl_at_once_though_its_page_never_settles(
    site: PageSite, sqlite_store: Store, tmp_path: Path, stop: str
) -> None:
    """``yuqing crawl`` on a rendered page waiting for a script that never comes (page
    timeout 600 s), then Ctrl-C (SIGINT to the foreground process group, as a terminal
    sends it) or SIGTERM to the command alone (``timeout``, a service manager; the crawl
    runs in a process group of its own, which that signal does not reach): the browser
    is closed, the run recorded ``abandoned``, and the command exits at once saying so
    (it waited for the page's timeout before; on SIGTERM it died and left the crawl
    running)."""
    sqlite_store.sources.put(_source("slow", f"{site.url}/slow/index.html", render=True))
    yuqing = str(Path(sys.executable).with_name("yuqing"))
    # Started as from a terminal, where Ctrl-C is not ignored: a job a shell puts in the
    # background (a CI run, nohup) inherits SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler at all.
    default_int = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    command = [sys.executable, "-c", default_int, yuqing, "crawl", "slow", *ARGS]
    command += ["-s", "YUQING_RENDER_TIMEOUT=600"]
    env = _env(sqlite_store, tmp_path)
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    ) as cli:  # fmt: skip
        try:
            wait_for("the page's script requested", lambda: "/stall.js" in site.requested)
            if stop == "ctrl-c":
                os.killpg(cli.pid, signal.SIGINT)
            else:
                cli.send_signal(signal.SIGTERM)
            # "At once" against the 600 s the page would hold it: the bound leaves a loaded
            # machine room for closing Chromium and Scrapy (4 s idle; over 20 s once at
            # load 10). A crawl that hung would be killed by the command at INTERRUPT_GRACE
            # (60 s) with its browser, and its run not recorded abandoned: the asserts below.
            try:
                out, err = cli.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(cli.pid, signal.SIGKILL)
                out, err = cli.communicate(timeout=30)
                pytest.fail(f"yuqing crawl still running 120 s after {stop}:\n{err[-3000:]}")
        finally:
            if cli.poll() is None:
                os.killpg(cli.pid, signal.SIGKILL)
    assert cli.returncode == 130, err[-2000:]
    assert "已中断：信息源 slow 的抓取已停止，本次运行记为 abandoned" in err, err[-2000:]
    assert "Traceback" not in err
    assert json.loads(out.strip().splitlines()[-1])["outcome"] == "abandoned"
    assert sqlite_store.runs.recent("slow", 1)[0].outcome == "abandoned"

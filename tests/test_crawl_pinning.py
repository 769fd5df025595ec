"""Address pinning against DNS rebinding (crawler.pinning), in real crawl processes
(``yuqing.crawl``) against a real HTTP server on 127.0.0.1, with a DNS stub in place of
real DNS (tests/dnsstub.py). To keep all traffic on 127.0.0.1 while still testing
refusals, the crawls treat 10.0.0.0/8 as the internal networks (``YUQING_INTERNAL_NETWORKS``)
and 127.0.0.1 as a public address."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import dnsstub
import pytest
from pagesite import serve_pages
from twisted.python.failure import Failure

from crawler.operations import create_source, update_source
from crawler.pinning import AddressRefused, checker, system_lookup
from crawler.pool import WorkerPool
from crawler.report import explain
from crawler.scheduler import launch
from crawler.settings import SETTINGS
from store import ItemQuery, Store, open_store
from store.acting import Acting
from store.clock import Clock
from store.model import Source

TESTS = Path(__file__).parent
# yuqing's crawl command without -I (isolated mode ignores PYTHONPATH), so that the crawl
# processes can load the DNS stub from this directory.
COMMAND = [sys.executable, "-m", "yuqing.crawl"]
ARGS = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=WARNING",
    "-s", "HTTPPROXY_ENABLED=false", "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
    "-s", "YUQING_MATCHER=null", "-s", "YUQING_DNS_LOOKUP=dnsstub.lookup",
    "-s", 'YUQING_INTERNAL_NETWORKS=["10.0.0.0/8"]',
]  # fmt: skip
BODY = "潼南区召开防汛工作会议，部署今年汛期各项防范措施，要求各镇街立即开展隐患排查。" * 3


def _article(title: str) -> str:
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<div class='article'><h1>{title}</h1><div class='info'>发布时间：2021-03-01 09:30"
        f"</div><div class='content'><p>{BODY}</p></div></div></body></html>"
    )


def _list(links: list[str]) -> str:
    items = "".join(
        f"<li><a href='{href}'>防汛工作会议部署汛期工作之{n}</a></li>"
        for n, href in enumerate(links)
    )
    return (
        "<html><head><meta charset='utf-8'><title>要闻</title></head><body>"
        f"<ul>{items}</ul></body></html>"
    )


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'yuqing.db'}")
    yield store
    store.close()


def _crawl(
    store: Store, tmp_path: Path, url: str, answers: dict[str, list[list[str]]], *more: str
) -> tuple[dict[str, Any], list[str]]:
    """One crawl of a source ``news`` of ``url``; its summary and the names the stub was
    asked."""
    store.sources.put(_source("news", url))
    return _run(store, tmp_path, "news", answers, *more)


def _source(ident: str, url: str) -> Source:
    return Source(id=ident, name=ident, type="list", start_urls=[url], interval=600)


def _env(store: Store, tmp_path: Path, answers: dict[str, list[list[str]]]) -> dict[str, str]:
    """The environment of a crawl process: the test's store, the stub's answers."""
    config = tmp_path / "yuqing.toml"
    config.write_text("")
    dns = tmp_path / "dns.json"
    dnsstub.write(dns, answers)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    path = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
    return env | {
        "YUQING_CONFIG": str(config),
        "YUQING_STORE": store.url,
        "YUQING_TEST_DNS": str(dns),
        "PYTHONPATH": path,
    }


def _run(
    store: Store, tmp_path: Path, ident: str, answers: dict[str, list[list[str]]], *more: str
) -> tuple[dict[str, Any], list[str]]:
    env = _env(store, tmp_path, answers)
    summary = launch(COMMAND, ident, [*ARGS, *more], env, timeout=120)
    return summary, dnsstub.lookups(tmp_path / "dns.json")


def _urls(store: Store) -> set[str]:
    found = store.items.search(ItemQuery(size=50, highlight=False)).hits
    return {hit.item.url.rsplit("/", 1)[-1] for hit in found}


def test_a_rebinding_name_is_looked_up_once_and_its_first_answer_is_used(
    sqlite_store: Store, tmp_path: Path
) -> None:
    articles = ["/art/t20210301_1.html", "/art/t20210301_2.html", "/art/t20210301_3.html"]
    pages = {"/list/index.html": _list(articles)}
    pages |= {a: _article(f"防汛工作会议部署汛期工作之{n}") for n, a in enumerate(articles)}
    with serve_pages(pages) as site:
        port = site.url.rsplit(":", 1)[1]
        # First answer public (127.0.0.1 here), every later one internal.
        answers = {"news.example": [["127.0.0.1"], ["10.0.0.7"]]}
        summary, asked = _crawl(
            sqlite_store,
            tmp_path,
            f"http://news.example:{port}/list/index.html",
            answers,
            "-s",
            "ROBOTSTXT_OBEY=true",
        )
    assert summary["outcome"] == "ok", summary
    assert asked == ["news.example"], "one lookup for the whole crawl"
    # robots.txt, the list and every article came from the first answer's address.
    assert {"/robots.txt", "/list/index.html", *articles} <= set(site.requested)
    assert set(site.hosts) == {f"news.example:{port}"}
    assert _urls(sqlite_store) == {a.rsplit("/", 1)[1] for a in articles}
    run = sqlite_store.runs.recent("news", 1)[0]
    assert run.errors == []


def test_redirects_are_checked_at_fetch_time(sqlite_store: Store, tmp_path: Path) -> None:
    articles = ["/art/t20210302_1.html", "/art/t20210302_2.html", "/art/t20210302_3.html"]
    pages = {"/list/index.html": _list(articles), "/art/t20210302_1.html": _article("本站")}
    pages["/moved.html"] = _article("转到另一台主机")
    with serve_pages(pages) as site:
        port = site.url.rsplit(":", 1)[1]
        site.redirects = {
            # To another host of the site that resolves to an allowed address: fetched.
            "/art/t20210302_2.html": f"http://www.news.example:{port}/moved.html",
            # To a host whose DNS answer is internal: refused before connecting.
            "/art/t20210302_3.html": f"http://oa.news.example:{port}/secret.html",
        }
        answers = {
            "news.example": [["127.0.0.1"]],
            "www.news.example": [["127.0.0.1"]],
            "oa.news.example": [["10.0.0.9", "127.0.0.1"]],
        }
        summary, asked = _crawl(
            sqlite_store, tmp_path, f"http://news.example:{port}/list/index.html", answers
        )
    assert summary["outcome"] == "partial", summary
    assert sorted(asked) == ["news.example", "oa.news.example", "www.news.example"]
    assert "/secret.html" not in site.requested
    assert f"oa.news.example:{port}" not in site.hosts
    assert _urls(sqlite_store) == {"t20210302_1.html", "moved.html"}
    run = sqlite_store.runs.recent("news", 1)[0]
    assert len(run.errors) == 1, run.errors
    error = run.errors[0]
    assert error["url"].endswith("/secret.html")
    assert "oa.news.example" in error["reason"] and "10.0.0.9" in error["reason"]
    assert error["reason"].startswith("refused:")
    assert "127.0.0.1" not in error["reason"], "only the internal address is named"


def test_a_name_an_admin_allowed_may_be_internal_and_no_other(
    sqlite_store: Store, tmp_path: Path
) -> None:
    articles = ["/art/t20210303_1.html"]
    pages = {"/list/index.html": _list(articles), articles[0]: _article("内网通知")}
    # Here 127.0.0.0/8 is internal, so the site's address is an internal one.
    internal = ["-s", 'YUQING_INTERNAL_NETWORKS=["127.0.0.0/8"]']
    with serve_pages(pages) as site:
        port = site.url.rsplit(":", 1)[1]
        answers = {"oa.example": [["127.0.0.1"]], "news.example": [["127.0.0.1"]]}
        acting = Acting("管理员", sqlite_store, Clock())
        allowed = _source("oa", f"http://oa.example:{port}/list/index.html")
        create_source(acting, allowed, allow_private=True)
        # Edited later without allow_private: the kept URL keeps its permission.
        update_source(acting, "oa", replace(allowed, name="内网", version=None))
        summary, asked = _run(sqlite_store, tmp_path, "oa", answers, *internal)
        assert summary["outcome"] == "ok", summary
        assert asked == ["oa.example"]
        assert set(site.hosts) == {f"oa.example:{port}"}
        stored = sqlite_store.sources.get("oa")
        assert stored is not None and stored.allow_private

        # The permission is the source's field, whatever the audit says: here none.
        direct = replace(_source("oa2", allowed.start_urls[0]), allow_private=True)
        sqlite_store.sources.put(direct)
        assert sqlite_store.audit.list(target="source:oa2") == []
        summary, asked = _run(sqlite_store, tmp_path, "oa2", answers, *internal)
        assert summary["outcome"] == "ok", summary

        # A name saved while it looked public (no permission) that now answers internal.
        sqlite_store.sources.put(_source("news", f"http://news.example:{port}/list/index.html"))
        before = len(site.requested)
        summary, asked = _run(sqlite_store, tmp_path, "news", answers, *internal)
    assert summary["outcome"] == "failed", summary
    assert len(site.requested) == before, "nothing was fetched from the internal address"
    run = sqlite_store.runs.recent("news", 1)[0]
    assert [e["url"] for e in run.errors] == [f"http://news.example:{port}/list/index.html"]
    assert run.errors[0]["reason"].startswith("refused: news.example")
    assert "127.0.0.1" in run.errors[0]["reason"]


def test_a_long_lived_worker_pins_for_all_its_crawls(sqlite_store: Store, tmp_path: Path) -> None:
    """A worker runs its crawls in one reactor through Scrapy's CrawlerRunner, which
    installs no resolver: the middleware installs the pinning one, shared by the crawls."""
    articles = ["/art/t20210304_1.html", "/art/t20210304_2.html"]
    pages = {"/list/index.html": _list(articles)}
    pages |= {a: _article(f"防汛工作会议部署汛期工作之{n}") for n, a in enumerate(articles)}
    answers = {"news.example": [["127.0.0.1"], ["10.0.0.7"]]}
    with serve_pages(pages) as site:
        port = site.url.rsplit(":", 1)[1]
        for ident in ("a", "b"):
            sqlite_store.sources.put(_source(ident, f"http://news.example:{port}/list/index.html"))
        pool = WorkerPool(
            COMMAND,
            size=1,
            args=ARGS,
            env=_env(sqlite_store, tmp_path, answers),
            store=sqlite_store,
        )
        try:
            with ThreadPoolExecutor(2) as threads:
                done = list(threads.map(pool.run, ["a", "b"]))
        finally:
            pool.terminate(10)
    assert [s["outcome"] for s in done] == ["ok", "ok"], done
    assert len({s["worker"] for s in done}) == 1 and pool.started == 1
    assert dnsstub.lookups(tmp_path / "dns.json") == ["news.example"]
    assert set(site.hosts) == {f"news.example:{port}"}
    assert _urls(sqlite_store) == {a.rsplit("/", 1)[1] for a in articles}


def test_pinning_is_on_by_default_and_the_refusal_names_host_and_address() -> None:
    assert SETTINGS["TWISTED_DNS_RESOLVER"] == "crawler.pinning.PinningResolver"
    assert SETTINGS["YUQING_PIN_ADDRESSES"] is True
    assert "crawler.pinning.PinningMiddleware" in SETTINGS["DOWNLOADER_MIDDLEWARES"]
    reason, transient, blocked = explain(Failure(AddressRefused("oa.example", ["10.1.2.3"])))
    assert reason.startswith("refused: oa.example") and "10.1.2.3" in reason
    assert not transient and not blocked, "retrying a refused host would not help"
    # The standard check is the one source creation uses; the injected one replaces it.
    assert checker(None)("10.1.2.3") and checker(None)("::ffff:127.0.0.1")
    assert not checker(None)("93.184.216.34")
    assert checker(["10.0.0.0/8"])("10.1.2.3") and not checker(["10.0.0.0/8"])("127.0.0.1")
    assert system_lookup("127.0.0.1") == ["127.0.0.1"]  # a literal: no DNS involved

"""The address checks of rendered pages (crawler.render) where Playwright's page routes
do not reach: redirect hops (of the page and of its scripts' requests) and a popup's
first request are checked too, in the source preview and in a crawl; hosts the preview
checks after the browser started are mapped to their checked addresses; what was refused
is named in the preview; the browser dying is a render failure; a rendered page over the
preview's size limit is refused; one rendered preview runs at a time per process.

A real HTTP server on 127.0.0.1 and Debian's chromium; a lookup function (preview) or the
DNS stub (crawl) in place of DNS, with 10.0.0.0/8 as the internal networks, so that
``localhost`` answering 10.0.0.5 is an internal host the checks refuse, while Chromium
left to itself would resolve it to 127.0.0.1 and fetch from the test's server."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import dnsstub
import pytest
from pagesite import PageSite, serve_pages
from waiting import wait_for

from crawler.pinning import checker
from crawler.preview import MAX_BYTES, Pins, Preview, preview
from crawler.render import PageRenderer
from crawler.scheduler import launch
from store import ItemQuery, open_store
from store.model import Source

TESTS = Path(__file__).parent
ARGS = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=WARNING",
    "-s", "HTTPPROXY_ENABLED=false", "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
    "-s", "ROBOTSTXT_OBEY=false", "-s", "YUQING_MATCHER=null",
]  # fmt: skip
SECRET = "内部机密"  # in every page on the internal host: must never show


def _article(title: str, script: str = "") -> str:
    body = f"{title}。潼南区召开防汛工作会议，部署今年汛期各项防范措施，要求各镇街开展隐患排查。"
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<div class='article'><h1>{title}</h1><div class='info'>发布时间：2021-03-01 09:30</div>"
        f"<div class='content'><p>{body * 2}</p></div></div>{script}</body></html>"
    )


def _shell(api: str) -> str:
    """An article whose title and body a script reads from ``api`` (JSON). Synchronously:
    the request and any redirect of it happen before the page has loaded, so they are
    seen before the page settles however slow the machine (a request made later could
    not bring anything into the HTML read, but would make the test's outcome vary)."""
    return (
        "<html><head><meta charset='utf-8'><title>加载中</title></head><body>"
        "<div id='app'>加载中</div><script>try {"
        f" const x = new XMLHttpRequest(); x.open('GET', '{api}', false); x.send();"
        " const d = JSON.parse(x.responseText); document.title = d.title;"
        " document.getElementById('app').innerHTML = '<div class=\"article\"><h1>' + d.title"
        " + '</h1><div class=\"content\"><p>' + d.body + '</p></div></div>';"
        " } catch (e) {}</script></body></html>"
    )


def _list(*links: str) -> str:
    items = "".join(f"<li><a href='{href}'>{n}</a></li>" for n, href in enumerate(links))
    return f"<html><head><meta charset='utf-8'></head><body><ul>{items}</ul></body></html>"


@pytest.fixture
def site() -> Iterator[PageSite]:
    with _site() as served:
        yield served


@contextmanager
def _site() -> Iterator[PageSite]:
    """News on ``news.example``, and an internal host's pages under /secret/ (reached as
    ``localhost``: the checks refuse it, Chromium alone would not)."""
    with serve_pages({}) as served:
        port = served.url.rsplit(":", 1)[1]
        inside = f"http://localhost:{port}/secret"
        secret = f'{{"title": "{SECRET}", "body": "{SECRET}的正文"}}'
        served.pages |= {
            "/art/ok.html": _article("防汛工作会议"),
            "/art/xhr.html": _shell("/api/moved.json"),  # its data is redirected inside
            "/art/direct.html": _shell(f"{inside}/data.json"),  # data from inside directly
            "/art/popup.html": _article(
                "防汛演练", f"<script>window.open('{inside}/popup.html')</script>"
            ),
            "/secret/page.html": _article(SECRET),
            "/secret/popup.html": _article(SECRET),
            "/secret/data.json": secret,
            "/secret/list.html": _list("/secret/page.html"),
        }
        served.redirects |= {
            "/art/moved.html": f"{inside}/page.html",
            "/api/moved.json": f"{inside}/data.json",
            "/start.html": f"{inside}/list.html",
        }
        yield served


def _pins(**more: list[list[str]]) -> tuple[Pins, dnsstub.Rebinding]:
    answers = {"news.example": [["127.0.0.1"]], "localhost": [["10.0.0.5"]], **more}
    lookup = dnsstub.Rebinding(answers)
    return Pins(False, lookup=lookup, is_internal=checker(["10.0.0.0/8"])), lookup


def _source(url: str, kind: str = "list") -> Source:
    return Source("r", "r", kind, [url], 600, render=True, selectors={"links": "ul a::attr(href)"})


def _news(site: PageSite, path: str) -> str:
    return f"http://news.example:{site.url.rsplit(':', 1)[1]}{path}"


def _shows_no_secret(shown: object) -> None:
    assert SECRET not in repr(shown), shown


def test_a_rendered_preview_refuses_what_a_redirect_brings_from_a_refused_address(
    site: PageSite,
) -> None:
    """An article answering 302 to the internal host, and one whose script's request is
    redirected there: neither's content is shown, each names the refusal; a start page
    redirected there is not rendered either."""
    site.pages["/list/index.html"] = _list("/art/ok.html", "/art/moved.html", "/art/xhr.html")
    pins, _ = _pins()
    shown = preview(_source(_news(site, "/list/index.html")), datetime.now(UTC), pins=pins)
    _shows_no_secret(shown)
    ok, moved, xhr = shown.articles
    assert ok.title == "防汛工作会议" and not ok.problems, ok
    refused = [(moved, "/art/moved.html")]
    # A script's redirect hop is refused when the browser reports it before the page's
    # HTML is read (docs/security.md); on a loaded machine the report can come after. The
    # answer was unreadable cross-origin then, and nothing of it is shown (above), but
    # the refusal goes unnamed: the page reads as one without a body.
    if xhr.status == 0:
        refused.append((xhr, "/art/xhr.html"))
    else:
        assert xhr.title == "加载中" and xhr.excerpt == "", xhr
        assert "no body found" in xhr.problems, xhr
    for article, path in refused:
        assert article.status == 0 and len(article.problems) == 1, article
        problem = article.problems[0]
        assert problem.startswith(
            "render refused: the page went to an address that is not allowed: url: localhost"
            " is a private, loopback or link-local address (10.0.0.5)"
        ), problem
        assert problem.endswith(f"({_news(site, path)})"), problem

    pins, _ = _pins()
    start = _news(site, "/start.html")
    shown = preview(_source(start), datetime.now(UTC), pins=pins)
    _shows_no_secret(shown)
    assert shown.status == 0 and shown.links == [] and len(shown.problems) == 1, shown
    assert shown.problems[0].startswith(f"cannot fetch {start}: render refused: "), shown


def test_a_popup_of_a_rendered_preview_passes_the_check(site: PageSite) -> None:
    """A page opening a window on the internal host: the popup's first request (which a
    page's route never sees) is refused and named; the page itself is shown."""
    site.pages["/list/index.html"] = _list("/art/popup.html")
    pins, _ = _pins()
    shown = preview(_source(_news(site, "/list/index.html")), datetime.now(UTC), pins=pins)
    assert "/secret/popup.html" not in site.requested
    (article,) = shown.articles
    assert article.title == "防汛演练", article
    port = site.url.rsplit(":", 1)[1]
    assert f"not fetched http://localhost:{port}/secret/popup.html: url: localhost" in "\n".join(
        article.problems
    ), article


def test_a_refused_request_of_a_rendered_page_is_named_in_the_preview(site: PageSite) -> None:
    """The body a script would fetch from a refused host: the preview says which request
    was not made and why, not only that there is no body."""
    site.pages["/list/index.html"] = _list("/art/direct.html")
    pins, _ = _pins()
    shown = preview(_source(_news(site, "/list/index.html")), datetime.now(UTC), pins=pins)
    _shows_no_secret(shown)
    (article,) = shown.articles
    port = site.url.rsplit(":", 1)[1]
    assert (
        f"not fetched http://localhost:{port}/secret/data.json: url: localhost is a private,"
        " loopback or link-local address (10.0.0.5); an admin may allow it for this source"
        " with allow_private"
    ) in article.problems, article
    assert "/secret/data.json" not in site.requested


def test_an_article_on_another_host_is_rendered_through_its_checked_address(
    site: PageSite,
) -> None:
    """The list on ``news.example`` links an article on ``other.example``, checked (and
    pinned) after the browser started: the browser reaches it through the checked answer
    (Chromium cannot resolve the name itself), though its DNS rebinds next."""
    port = site.url.rsplit(":", 1)[1]
    site.pages["/list/index.html"] = _list(f"http://other.example:{port}/art/ok.html")
    pins, lookup = _pins(**{"other.example": [["127.0.0.1"], ["10.0.0.8"]]})
    shown = preview(_source(_news(site, "/list/index.html")), datetime.now(UTC), pins=pins)
    (article,) = shown.articles
    assert article.status == 200 and article.title == "防汛工作会议", article
    assert lookup.asked == {"news.example": 1, "other.example": 1}
    assert f"other.example:{port}" in site.hosts


def test_a_rendered_page_over_the_previews_size_limit_is_refused(site: PageSite) -> None:
    site.pages["/big.html"] = _article(
        "大页面", f"<script>document.body.append('汛'.repeat({MAX_BYTES // 3 + 1000}))</script>"
    )
    url = f"{site.url}/big.html"
    shown = preview(_source(url, "page"), datetime.now(UTC), allow_private=True)
    assert shown.status == 0 and len(shown.problems) == 1, shown
    assert shown.problems[0].startswith(
        f"cannot fetch {url}: render refused: the rendered page is larger than the preview reads: "
    ), shown
    assert shown.problems[0].endswith(f" bytes, over {MAX_BYTES} ({url})"), shown


def test_one_rendered_preview_at_a_time(site: PageSite) -> None:
    """While a rendered preview holds its browser, another waits (here the 1 s render
    timeout) and is refused; once the first is done, the next renders."""
    url = f"{site.url}/art/ok.html"
    source = _source(url, "page")
    settings = {"YUQING_RENDER_TIMEOUT": 1}
    now = datetime.now(UTC)
    with PageRenderer(source, lambda u: u, dict) as held:
        assert held.render(url)[1] == 200
        with ThreadPoolExecutor(1) as other:  # another API request's thread
            asked = other.submit(preview, source, now, allow_private=True, settings=settings)
            refused = asked.result(timeout=60)
    assert refused.status == 0 and len(refused.problems) == 1, refused
    assert refused.problems[0] == (
        f"cannot fetch {url}: render refused: another rendered preview is running; try again"
        f" when it is done: waited 1 s ({url})"
    )
    shown = preview(source, now, allow_private=True)
    assert [a.title for a in shown.articles] == ["防汛工作会议"], shown


def _drivers_started_here() -> list[int]:
    """The Playwright driver processes this test process started (its children whose
    command runs the driver): the browser's side of the preview's connection."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"run-driver" in command:
            found.append(int(entry))
    return found


def test_a_browser_dying_under_a_page_is_a_render_failure(site: PageSite) -> None:
    """The browser's side (Playwright's driver, and Chromium with it) killed while a page
    waits for a script that never comes: the preview names a render failure of that page;
    the failing close of what is left does not replace it (it was a server error)."""
    site.pages["/slow.html"] = _article("慢", "<script src='/stall.js'></script>")
    site.stalled.add("/stall.js")
    url = f"{site.url}/slow.html"
    result: list[Preview | BaseException] = []

    def run() -> None:
        settings = {"YUQING_RENDER_TIMEOUT": 60}
        try:
            result.append(
                preview(
                    _source(url, "page"), datetime.now(UTC), allow_private=True, settings=settings
                )
            )
        except BaseException as e:  # what the API would answer with a 500
            result.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        wait_for("the page's script requested", lambda: "/stall.js" in site.requested)
        (driver,) = wait_for("the driver's process", _drivers_started_here)
        os.kill(driver, signal.SIGKILL)
    finally:
        thread.join(60)
    assert not thread.is_alive()
    (shown,) = result
    assert isinstance(shown, Preview), repr(shown)
    assert len(shown.problems) == 1, shown
    assert shown.problems[0].startswith(f"cannot fetch {url}: render failed: "), shown


def test_a_rendering_crawl_keeps_nothing_a_redirect_brought_from_a_refused_address(
    site: PageSite, tmp_path: Path
) -> None:
    """The crawl's browser (scrapy-playwright): an article redirected to the internal host
    and one whose data a script fetched through a redirect there
    are run errors naming the refusal, nothing of theirs stored; a
    popup's request there is never made; the plain article is stored."""
    store = open_store(f"sqlite:///{tmp_path / 'yuqing.db'}")
    try:
        site.pages["/list/index.html"] = _list(
            "/art/ok.html", "/art/moved.html", "/art/xhr.html", "/art/popup.html"
        )
        store.sources.put(_source(_news(site, "/list/index.html")))
        dns = tmp_path / "dns.json"
        dnsstub.write(dns, {"news.example": [["127.0.0.1"]], "localhost": [["10.0.0.5"]]})
        config = tmp_path / "yuqing.toml"
        config.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        path = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
        env |= {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url}
        env |= {"YUQING_TEST_DNS": str(dns), "PYTHONPATH": path}
        stub = ["-s", "YUQING_DNS_LOOKUP=dnsstub.lookup"]
        stub += ["-s", 'YUQING_INTERNAL_NETWORKS=["10.0.0.0/8"]']
        command = [sys.executable, "-m", "yuqing.crawl"]  # without -I: PYTHONPATH counts
        summary = launch(command, "r", [*ARGS, *stub], env, timeout=120)
        found = store.items.search(ItemQuery(sources=["r"], size=50, highlight=False)).hits
        titles = sorted(hit.item.title for hit in found)
        run = store.runs.recent("r", 1)[0]
    finally:
        store.close()
    assert "/secret/popup.html" not in site.requested
    assert titles == ["防汛工作会议", "防汛演练"], (titles, summary)
    refused = {e["url"]: e["reason"] for e in run.errors}
    assert set(refused) == {_news(site, "/art/moved.html"), _news(site, "/art/xhr.html")}, refused
    for reason in refused.values():
        assert reason.startswith("refused: localhost resolves to a private"), reason

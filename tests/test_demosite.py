"""The local demo site, exercised over real HTTP on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import html
import json
import re
import time
import tracemalloc
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime

import pytest
from lxml import html as lxml_html

from crawler.sources import load_sources
from devtools.demosite import BASE_TIME, SHANGHAI, Article, DemoSite, create_app, serve
from yuqing.config import ApiConfig

UA = "yuqing-test/1.0"


@dataclass
class FakeClock:
    """A settable clock, a day after the seeded archive by default."""

    now: datetime = field(default_factory=lambda: BASE_TIME + timedelta(days=1))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Served:
    url: str
    site: DemoSite
    clock: FakeClock


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# An empty ProxyHandler keeps any *_proxy environment variable from routing 127.0.0.1 elsewhere.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
NO_REDIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def fetch(
    url: str,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    opener: urllib.request.OpenerDirector = OPENER,
) -> Reply:
    request = urllib.request.Request(url, data=data, headers={"User-Agent": UA, **(headers or {})})
    try:
        with opener.open(request, timeout=30) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def publish(served: Served, **payload: object) -> dict[str, object]:
    reply = fetch(
        served.url + "/_admin/publish",
        {"Content-Type": "application/json"},
        json.dumps(payload).encode(),
    )
    assert reply.status == 201, reply.body
    return dict(json.loads(reply.body))


def _serve() -> Iterator[Served]:
    clock = FakeClock()
    app = create_app(clock=clock, seed=7)
    server, url = serve(app=app)
    try:
        yield Served(url, app.extensions["demosite"], clock)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """Shared read-only site."""
    yield from _serve()


@pytest.fixture
def fresh() -> Iterator[Served]:
    """A private site for tests that publish."""
    yield from _serve()


def pick(site: DemoSite, **fields: object) -> Article:
    return next(a for a in site.articles if all(getattr(a, k) == v for k, v in fields.items()))


def meta_charset(body: bytes) -> str | None:
    head = body[: body.find(b"</head>")]
    found = re.search(rb'charset="?([\w-]+)', head)
    return found.group(1).decode() if found else None


# --- ground truth and encodings ------------------------------------------------------------


def test_ground_truth_is_deterministic_per_seed() -> None:
    def titles(seed: int) -> list[str]:
        return [a.title for a in DemoSite(seed=seed).articles]

    assert titles(3) == titles(3)
    assert titles(3) != titles(4)


def test_ground_truth_covers_what_the_monitor_needs(served: Served) -> None:
    site = served.site
    relevant = [a for a in site.articles if a.kind == "relevant"]
    assert {t for a in relevant for t in a.topics} >= {"疫情", "火灾", "信访", "食品安全"}
    assert any(a.kind == "decoy" and "消防演练" in a.title for a in site.articles)
    unrelated = [a for a in site.articles if a.kind == "unrelated"]
    assert len(unrelated) > 50
    monitored = ("疫情", "火灾", "信访", "上访", "食品安全")
    assert not [a.title for a in unrelated if any(k in a.title + a.body for k in monitored)]
    stories: dict[str, list[Article]] = {}
    for a in site.articles:
        stories.setdefault(a.story_id, []).append(a)
    reposted = [group for group in stories.values() if len(group) > 1]
    assert reposted and all(len({a.section for a in g}) > 1 for g in reposted)
    assert all(a.published.tzinfo is not None and a.published <= BASE_TIME for a in site.articles)


def test_every_article_decodes_only_as_its_encoding(served: Served) -> None:
    for article in served.site.articles:
        reply = fetch(served.url + article.path)
        assert reply.status == 200, article.path
        text = reply.body.decode(article.encoding)  # strict: raises on a wrong encoding
        assert meta_charset(reply.body) == article.declared_charset, article.path
        assert "<h1" in text and html.escape(article.title, quote=False) in text
        for paragraph in article.paragraphs:
            assert html.escape(paragraph, quote=False) in text
        if article.header_charset:
            assert reply.content_type == f"text/html; charset={article.header_charset}"
        else:
            assert reply.content_type == "text/html"


def test_gbk_pages_with_and_without_meta(served: Served) -> None:
    for declared in ("gbk", None):
        article = pick(served.site, section="news", encoding="gbk", declared_charset=declared)
        body = fetch(served.url + article.path).body
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        assert article.title in body.decode("gbk")
        assert ("来源：" in body.decode("gbk")) and ("发布时间：" in body.decode("gbk"))


def test_utf8_page_declaring_gb2312(served: Served) -> None:
    article = pick(served.site, declared_charset="gb2312", encoding="utf-8")
    reply = fetch(served.url + article.path)
    assert reply.content_type == "text/html"
    assert meta_charset(reply.body) == "gb2312"
    assert article.title in reply.body.decode("utf-8")
    assert article.title not in reply.body.decode("gb18030", errors="replace")


def test_gb18030_only_characters(served: Served) -> None:
    article = pick(served.site, encoding="gb18030")
    body = fetch(served.url + article.path).body
    with pytest.raises(UnicodeDecodeError):
        body.decode("gbk")
    assert "𠮷" in body.decode("gb18030") and "䶮" in article.title


def test_xss_titles_are_text(served: Served) -> None:
    for title in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>"):
        article = next(a for a in served.site.articles if title in a.title)
        body = fetch(served.url + article.path).body
        assert title.encode() not in body
        tree = lxml_html.fromstring(body)
        assert tree.xpath("string(//h1)") == article.title
        assert not tree.xpath("//*[@onerror]")
        assert tree.xpath("//div[@id='content']//text()")[0]


def test_some_pages_weigh_like_real_portals(served: Served) -> None:
    sizes = [len(fetch(served.url + a.path).body) for a in served.site.latest("zwgk", 3)]
    assert all(30_000 <= s <= 100_000 for s in sizes)
    assert 30_000 <= len(fetch(served.url + "/").body) <= 100_000


# --- sections -------------------------------------------------------------------------------


def test_news_list_pages_link_each_other_and_articles(served: Served) -> None:
    site = served.site
    pages = site.page_count("news")
    assert pages >= 3
    first = fetch(served.url + "/news/").body.decode()
    assert 'href="/news/index_1.html"' in first
    seen: set[str] = set()
    for n in range(pages):
        path = "/news/" + (f"index_{n}.html" if n else "index.html")
        body = fetch(served.url + path).body.decode()
        seen |= set(re.findall(r'href="(/news/\d{6}/t\d{8}_\d+\.html)"', body))
    assert {a.path for a in site.latest("news")} <= seen
    assert fetch(served.url + f"/news/index_{pages}.html").status == 404


def test_gov_portal_paging_exists_only_in_javascript(served: Served) -> None:
    pages = served.site.page_count("zwgk")
    assert pages >= 3
    first = fetch(served.url + "/zwgk/").body.decode()
    assert f'createPageHTML({pages}, 0, "index", "html")' in first
    assert "index_1.html" not in first
    for n in range(1, pages):
        reply = fetch(served.url + f"/zwgk/index_{n}.html")
        assert reply.status == 200
        assert f'createPageHTML({pages}, {n}, "index", "html")' in reply.body.decode()
    assert fetch(served.url + f"/zwgk/index_{pages}.html").status == 404
    assert "createPageHTML" in fetch(served.url + "/static/js/page.js").body.decode()


def test_gov_article_metadata(served: Served) -> None:
    article = pick(served.site, section="zwgk", encoding="utf-8", kind="unrelated")
    tree = lxml_html.fromstring(fetch(served.url + article.path).body)
    meta = {m.get("name"): m.get("content") for m in tree.xpath("//meta[@name]")}
    assert meta["ArticleTitle"] == article.title
    assert meta["PubDate"] == article.published.strftime("%Y-%m-%d %H:%M")
    assert meta["ContentSource"] == article.source
    cells = [c.text_content() for c in tree.xpath("//table[@class='doc-info']//td")]
    assert article.index_no in cells and article.source in cells
    assert article.written is not None and article.written.isoformat() in cells


def test_report_page(served: Served) -> None:
    report = pick(served.site, kind="report")
    assert report.title == "关于2020年度法治政府建设情况的报告"
    assert len(report.paragraphs) >= 5
    assert report.path in fetch(served.url + "/").body.decode()
    assert report.paragraphs[-1] in fetch(served.url + report.path).body.decode()


def test_forum_thread(served: Served) -> None:
    thread = next(t for t in served.site.threads if "火灾" in t.topics)
    reply = fetch(served.url + thread.path)
    assert reply.content_type == "text/html"
    tree = lxml_html.fromstring(reply.body.decode("gbk"))
    bodies = [p.text_content() for p in tree.xpath("//div[@class='post-body']")]
    assert bodies == [p.text for p in thread.posts]
    authors = tree.xpath("//div[@class='post-author']/text()")
    assert authors == [p.author for p in thread.posts]
    assert "双江镇" in thread.title


# --- feeds, sitemap, robots -------------------------------------------------------------------


def test_rss_and_atom(served: Served) -> None:
    rss = ET.fromstring(fetch(served.url + "/rss.xml").body)
    items = rss.findall("./channel/item")
    assert items and all(i.findtext("pubDate", "").endswith("+0800") for i in items)
    newest = served.site.latest(limit=1)[0]
    assert items[0].findtext("link") == served.url + newest.path

    ns = {"a": "http://www.w3.org/2005/Atom"}
    atom = ET.fromstring(fetch(served.url + "/atom.xml").body)
    updated = [e.findtext("a:updated", "", ns) for e in atom.findall("a:entry", ns)]
    # Zone-less on purpose: the times are Asia/Shanghai wall-clock times.
    assert updated[0] == newest.published.strftime("%Y-%m-%dT%H:%M:%S")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", u) for u in updated)


def test_sitemap_lists_everything_with_lastmod(served: Served) -> None:
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urlset = ET.fromstring(fetch(served.url + "/sitemap.xml").body)
    entries = {u.findtext("s:loc", "", ns): u.findtext("s:lastmod", "", ns) for u in urlset}
    for article in served.site.articles:
        lastmod = datetime.fromisoformat(entries[served.url + article.path])
        assert lastmod == article.published
    assert all(served.url + t.path in entries for t in served.site.threads)


def test_robots_txt(served: Served) -> None:
    text = fetch(served.url + "/robots.txt").body.decode()
    assert "User-agent: *" in text and "Disallow: /private/" in text
    assert f"Sitemap: {served.url}/sitemap.xml" in text
    assert fetch(served.url + "/private/").status == 200


# --- conditional GET ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/news/", "/zwgk/index_1.html", "/rss.xml", "/sitemap.xml", "/bbs/thread-1001.html"],
)
def test_conditional_get(served: Served, path: str) -> None:
    first = fetch(served.url + path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag and modified
    assert fetch(served.url + path, {"If-None-Match": etag}).status == 304
    assert fetch(served.url + path, {"If-Modified-Since": modified}).status == 304
    assert fetch(served.url + path, {"If-None-Match": '"stale"'}).status == 200


def test_article_conditional_get_and_last_modified(served: Served) -> None:
    article = served.site.latest("news", 1)[0]
    first = fetch(served.url + article.path)
    assert parsedate_to_datetime(first.headers["Last-Modified"]) == article.published
    reply = fetch(served.url + article.path, {"If-None-Match": first.headers["ETag"]})
    assert reply.status == 304 and reply.body == b""


# --- stories appearing over time --------------------------------------------------------------


def test_publish_appears_in_lists_feeds_and_sitemap(fresh: Served) -> None:
    old_list = fetch(fresh.url + "/news/")
    fresh.clock.now = datetime(2021, 2, 6, 9, 15, 42, tzinfo=SHANGHAI)
    made = publish(fresh, title="潼南区梓潼街道发生一起火灾", body="第一段。\n第二段。")
    path = str(made["path"])
    article = fresh.site.find(path)
    assert article is not None and made["url"] == fresh.url + path
    assert article.published == datetime(2021, 2, 6, 9, 15, tzinfo=SHANGHAI)
    assert article.paragraphs == ["第一段。", "第二段。"]

    assert fetch(fresh.url + path).status == 200
    assert f'href="{path}"' in fetch(fresh.url + "/news/").body.decode()
    assert fetch(fresh.url + "/news/", {"If-None-Match": old_list.headers["ETag"]}).status == 200
    assert fresh.url + path in fetch(fresh.url + "/rss.xml").body.decode()
    assert fresh.url + path in fetch(fresh.url + "/atom.xml").body.decode()
    assert fresh.url + path in fetch(fresh.url + "/sitemap.xml").body.decode()


def test_publish_repost_and_encoding(fresh: Served) -> None:
    original = pick(fresh.site, kind="relevant", section="news", encoding="utf-8")
    made = publish(
        fresh,
        title="转载：" + original.title,
        body=original.body + "\n（来源：网友投稿）",
        section="zwgk",
        encoding="gbk",
        repost_of=original.id,
    )
    repost = fresh.site.article(int(str(made["id"])))
    assert repost.story_id == original.story_id and repost.repost_of == original.id
    assert repost.topics == original.topics and repost.declared_charset == "gbk"
    body = fetch(fresh.url + repost.path).body
    assert repost.title in body.decode("gbk")

    bad = fetch(fresh.url + "/_admin/publish", {"Content-Type": "application/json"}, b"[]")
    assert bad.status == 400
    bad = fetch(
        fresh.url + "/_admin/publish",
        {"Content-Type": "application/json"},
        json.dumps({"title": "𠮷", "body": "x", "encoding": "gbk"}).encode(),
    )
    assert bad.status == 400


def test_scheduled_arrivals_include_reposts(fresh: Served) -> None:
    arrivals = []
    for minutes in range(6):
        fresh.clock.now = BASE_TIME + timedelta(days=2, minutes=minutes)
        arrivals.append(fresh.site.publish_scheduled())
    incident, repost = arrivals[0], arrivals[1]
    assert incident.kind == "relevant" and repost.repost_of == incident.id
    assert repost.story_id == incident.story_id and repost.title.startswith("转载")
    assert len({a.title for a in arrivals}) == len(arrivals)
    newest = fresh.site.latest(limit=1)[0]
    assert newest == arrivals[-1]


# --- bad inputs ---------------------------------------------------------------------------------


def test_redirect_loop(served: Served) -> None:
    a = fetch(served.url + "/bad/loop-a.html", opener=NO_REDIRECT)
    b = fetch(served.url + "/bad/loop-b.html", opener=NO_REDIRECT)
    assert a.status == b.status == 302
    assert a.headers["Location"].endswith("/bad/loop-b.html")
    assert b.headers["Location"].endswith("/bad/loop-a.html")
    with pytest.raises(urllib.error.HTTPError, match="infinite loop"):
        OPENER.open(served.url + "/bad/loop-a.html", timeout=10)


def test_huge_page_streams_lazily(served: Served) -> None:
    tracemalloc.start()
    try:
        with OPENER.open(served.url + "/bad/huge.html", timeout=30) as response:
            assert response.headers["Content-Length"] is None
            assert response.headers["Transfer-Encoding"] == "chunked"
            read = 0
            while read < 4 * 1024 * 1024:
                read += len(response.read(64 * 1024))
            # Measured before closing: afterwards werkzeug's request-body drain briefly
            # allocates a 10 MB read buffer, which says nothing about the site (and may
            # still be happening for an earlier connection, hence the margin). Holding the
            # 50 MB page would exceed it by far.
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * 1024 * 1024

    sized = fetch(served.url + "/bad/huge.html?size=300000&declare=1")
    assert len(sized.body) == 300000 == int(sized.headers["Content-Length"])


def test_anti_bot_challenge(served: Served) -> None:
    reply = fetch(served.url + "/bad/521.html")
    assert reply.status == 521
    script = reply.body.decode()

    def group(pattern: str) -> str:
        found = re.search(pattern, script)
        assert found, pattern
        return found.group(1)

    # Do what a browser would: run the arithmetic, set the cookie, reload.
    codes = [int(c) for c in group(r"_p=\[([\d,]+)\]").split(",")]
    shift = int(group(r"_p\[i\]-(\d+)"))
    cookie = group(r'document\.cookie="(\w+)="')
    token = "".join(chr(c - shift) for c in codes)
    passed = fetch(served.url + "/bad/521.html", {"Cookie": f"{cookie}={token}"})
    assert passed.status == 200 and "验证通过" in passed.body.decode()


def test_broken_pages(served: Served) -> None:
    truncated = fetch(served.url + "/bad/truncated.html").body
    assert b"</html>" not in truncated
    with pytest.raises(UnicodeDecodeError):
        truncated.decode("utf-8")

    binary = fetch(served.url + "/bad/binary.html")
    assert binary.content_type == "text/html" and binary.body.startswith(b"\x89PNG\r\n\x1a\n")

    invalid = fetch(served.url + "/bad/gbk-invalid.html").body
    with pytest.raises(UnicodeDecodeError):
        invalid.decode("gb18030")
    assert "发布时间：" in invalid.decode("gbk", errors="replace")

    empty = ET.fromstring(fetch(served.url + "/bad/empty.rss").body)
    assert empty.find("channel") is not None and not empty.findall(".//item")
    dated = ET.fromstring(fetch(served.url + "/bad/dates.rss").body)
    assert "2021-02-30 10:30" in [i.findtext("pubDate") for i in dated.iter("item")]
    assert "2021年2月30日 25:61" in fetch(served.url + "/bad/dates.html").body.decode()

    assert fetch(served.url + "/bad/500.html").status == 500
    started = time.monotonic()
    assert fetch(served.url + "/bad/slow.html?delay=0.5").status == 200
    assert time.monotonic() - started >= 0.5


# --- request log ----------------------------------------------------------------------------------


def test_request_log_records_paths_statuses_and_headers(fresh: Served) -> None:
    log = fresh.site.requests
    log.clear()
    first = fetch(fresh.url + "/news/")
    fetch(fresh.url + "/news/?x=1", {"If-None-Match": first.headers["ETag"]})
    fetch(fresh.url + "/missing.html")
    entries = log.entries()
    assert [(e.target, e.status) for e in entries] == [
        ("/news/", 200),
        ("/news/?x=1", 304),
        ("/missing.html", 404),
    ]
    assert all(e.headers["User-Agent"] == UA for e in entries)
    assert entries[1].headers["If-None-Match"] == first.headers["ETag"]
    assert log.count("/news/") == 2
    assert entries[0].at <= entries[1].at <= entries[2].at


def test_the_bundled_sources_point_at_the_demo_sites_port_not_the_apis() -> None:
    urls = [url for s in load_sources() for url in s.start_urls]
    assert urls and all(url.startswith("http://127.0.0.1:8610/") for url in urls)
    assert ApiConfig().port != 8610

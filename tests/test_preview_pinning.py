"""The source preview connects to the addresses it checked (crawler.preview.Pins): a name
is looked up once per preview, and a DNS answer that turns internal on the next lookup
(rebinding) is never used; a redirect to a name with an internal address is refused.
A real HTTP server on 127.0.0.1; a lookup function in place of DNS; 10.0.0.0/8 stands
for the internal networks so that all traffic stays on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dnsstub import Rebinding
from pagesite import serve_pages

from crawler.pinning import checker
from crawler.preview import Pins, fetch, preview
from crawler.urls import UrlRefused
from store.model import Source

ARTICLE = (
    "<html><head><meta charset='utf-8'><title>{0}</title></head><body><h1>{0}</h1>"
    "<div class='content'><p>{1}</p></div></body></html>"
)
BODY = "潼南区召开防汛工作会议，部署今年汛期各项防范措施。" * 4
PAGES = {
    "/list/": "<html><body><ul><li><a href='/art/1.html'>防汛工作会议一</a></li>"
    "<li><a href='/art/2.html'>防汛工作会议二</a></li></ul></body></html>",
    "/art/1.html": ARTICLE.format("防汛工作会议一", BODY),
    "/art/2.html": ARTICLE.format("防汛工作会议二", BODY),
}


def pins(lookup: Rebinding) -> Pins:
    return Pins(False, lookup=lookup, is_internal=checker(["10.0.0.0/8"]))


def test_a_preview_looks_each_name_up_once_and_uses_that_answer() -> None:
    lookup = Rebinding({"news.example": [["127.0.0.1"], ["10.0.0.7"]]})
    with serve_pages(PAGES) as site:
        port = site.url.rsplit(":", 1)[1]
        source = Source(
            id="news",
            name="news",
            type="list",
            start_urls=[f"http://news.example:{port}/list/"],
            interval=600,
            selectors={"links": "ul a::attr(href)"},
        )
        shown = preview(source, datetime.now(UTC), limit=2, pins=pins(lookup))
    assert shown.status == 200 and not shown.problems, shown
    assert [a.title for a in shown.articles] == ["防汛工作会议一", "防汛工作会议二"]
    assert all(a.status == 200 for a in shown.articles)
    assert lookup.asked == {"news.example": 1}
    assert site.requested == ["/list/", "/art/1.html", "/art/2.html"]
    assert set(site.hosts) == {f"news.example:{port}"}


def test_a_redirect_to_an_internal_name_is_refused_and_a_public_one_followed() -> None:
    lookup = Rebinding(
        {
            "news.example": [["127.0.0.1"]],
            "www.news.example": [["127.0.0.1"]],
            "oa.news.example": [["127.0.0.1", "10.0.0.9"]],
        }
    )
    with serve_pages(PAGES) as site:
        port = site.url.rsplit(":", 1)[1]
        site.redirects = {
            "/moved": f"http://www.news.example:{port}/art/1.html",
            "/secret": f"http://oa.news.example:{port}/art/2.html",
        }
        checked = pins(lookup)
        moved = fetch(f"http://news.example:{port}/moved", allow_private=False, pins=checked)
        with pytest.raises(UrlRefused) as refused:
            fetch(f"http://news.example:{port}/secret", allow_private=False, pins=checked)
    assert moved.status == 200 and moved.url == f"http://www.news.example:{port}/art/1.html"
    assert refused.value.field == "redirect"
    assert "oa.news.example" in str(refused.value) and "10.0.0.9" in str(refused.value)
    assert "/art/2.html" not in site.requested
    assert lookup.asked == {"news.example": 1, "www.news.example": 1, "oa.news.example": 1}

"""The console's search, item and event pages on both stores: the ids browser tests use,
facets and pages as links, export progress, and crawled markup shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import lxml.html
import pytest
from api_support import (
    T0,
    XSS_BODY,
    XSS_TITLE,
    Browser,
    job_done,
    make_app,
    make_item,
    module_store,
    signed_in,
)
from apiflask import APIFlask
from conftest import BACKENDS

from api.resources import items as items_resource
from store import Store
from store.elastic import ElasticStore

FIRE = make_item(1, "", "").id
ITEMS = [
    make_item(1, "双江镇一民房起火", "潼南区双江镇发生火灾，无人员伤亡。", rules=["潼南火灾"],
         event_id=FIRE, source_id="gov", author="张三", site_source="潼南日报",
         publish_time=T0 - timedelta(hours=2),
         hits=[{"word": "火灾", "group": "火灾词", "rule": "潼南火灾", "field": "body",
                "start": 8, "end": 10}]),
    make_item(2, XSS_TITLE, XSS_BODY, rules=["潼南火灾"], event_id=FIRE, url="javascript:alert(1)"),
    make_item(3, "潼南疫情通报", "新增确诊病例一例。", rules=["潼南疫情"],
         first_seen=T0 + timedelta(days=2)),
    *[make_item(10 + n, f"潼南天气{n}", "晴。") for n in range(25)],
]  # fmt: skip


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """Both backends, one store each for the module: these pages only read."""
    es_url = request.getfixturevalue("es_url") if request.param == "elasticsearch" else ""
    with module_store(request.param, tmp_path_factory.mktemp("console"), es_url) as s:
        s.items.upsert_many(ITEMS)
        yield s


@pytest.fixture(scope="module")
def app(store: Store, tmp_path_factory: pytest.TempPathFactory) -> APIFlask:
    return make_app(store, tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def viewer(app: APIFlask) -> Browser:
    return signed_in(app, "viewer")


def page(browser: Browser, url: str, status: int = 200) -> Any:
    response = browser.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    text = response.get_data(as_text=True)
    assert "<script>alert" not in text and "<img src=x" not in text
    return lxml.html.fromstring(text)


def test_search_page_has_the_stable_ids(viewer: Browser) -> None:
    doc = page(viewer, "/search?q=双江镇 火灾")
    assert doc.cssselect("form#search input#q")[0].get("value") == "双江镇 火灾"
    titles = doc.cssselect("#results .result a.title")
    assert [a.text_content() for a in titles] == ["双江镇一民房起火"]
    assert titles[0].get("href") == f"/items/{FIRE}"
    snippet = doc.cssselect("#results .result .snippet mark")
    assert [m.text_content() for m in snippet] == ["双江镇", "火灾"]
    syntax = doc.cssselect("#syntax")[0].text_content()
    assert "NEAR/20" in syntax and "title:(疫情 OR 确诊)" in syntax and "@潼南地名" in syntax


def test_crawled_markup_is_text_in_results(viewer: Browser) -> None:
    doc = page(viewer, "/search?q=alert")
    title = doc.cssselect("#results .result a.title")[0]
    assert title.text_content() == XSS_TITLE
    assert [m.text_content() for m in title.cssselect("mark")] == ["alert"]
    assert not doc.cssselect("#results script, #results img")
    snippet = doc.cssselect("#results .snippet")[0].text_content()
    assert XSS_BODY in snippet
    # Without a query there is no highlight: the title and body are plain text.
    doc = page(viewer, "/search?source=news&sort=first_seen&order=asc")
    assert XSS_TITLE in [a.text_content() for a in doc.cssselect("#results a.title")]


def test_item_page(viewer: Browser) -> None:
    doc = page(viewer, f"/items/{FIRE}")
    assert doc.cssselect("#item-title")[0].text_content() == "双江镇一民房起火"
    body = doc.cssselect("#item-body")[0]
    assert body.text_content() == ITEMS[0].body
    assert [m.text_content() for m in body.cssselect("mark")] == ["火灾"]
    assert doc.cssselect("#item-published")[0].text_content() == "2021-02-05 08:00 北京时间"
    assert doc.cssselect("#item-first-seen")[0].text_content() == "2021-02-05 11:00 北京时间"
    assert doc.cssselect("#item-author")[0].text_content() == "张三"
    assert "潼南日报" in doc.cssselect("#item-source")[0].text_content()
    link = doc.cssselect("#item-url a")[0]
    assert link.get("href") == ITEMS[0].url and "noopener" in link.get("rel")
    assert "火灾词" in doc.cssselect("#item-hits")[0].text_content()
    others = doc.cssselect("#item-event .event-items a")
    assert [a.text_content() for a in others] == [XSS_TITLE]


def test_xss_item_page_renders_as_text(viewer: Browser) -> None:
    doc = page(viewer, f"/items/{ITEMS[1].id}")
    assert doc.cssselect("#item-title")[0].text_content() == XSS_TITLE
    assert doc.cssselect("#item-body")[0].text_content() == XSS_BODY
    assert not doc.cssselect("main script, main img")
    assert doc.cssselect("title")[0].text_content().startswith(XSS_TITLE)
    # A javascript: URL is shown, never linked.
    assert not doc.cssselect("#item-url a")
    assert "javascript:alert(1)" in doc.cssselect("#item-url")[0].text_content()
    assert all(s.get("src") for s in doc.cssselect("script")), "no inline scripts (CSP)"


def test_events_pages_escape_titles(viewer: Browser) -> None:
    doc = page(viewer, "/events?rule=潼南火灾")
    rows = doc.cssselect("#events tr.event")
    assert len(rows) == 1
    assert rows[0].cssselect("a.title")[0].text_content() == "双江镇一民房起火"
    assert rows[0].cssselect("td")[1].text_content() == "2"
    doc = page(viewer, f"/events/{FIRE}")
    titles = [a.text_content() for a in doc.cssselect("#results .result a.title")]
    assert titles == ["双江镇一民房起火", XSS_TITLE]
    page(viewer, "/events/nope", 404)


def test_facets_are_links_that_filter(viewer: Browser) -> None:
    doc = page(viewer, "/search?q=潼南")
    sources = {a.text_content(): a.get("href") for a in doc.cssselect('[data-facet="source"] a')}
    assert set(sources) == {"news", "gov"}
    filtered = page(viewer, sources["gov"])
    assert [a.text_content() for a in filtered.cssselect("#results a.title")] == [
        "双江镇一民房起火"
    ]
    rules = {a.text_content(): a.get("href") for a in doc.cssselect('[data-facet="rule"] a')}
    assert set(rules) == {"潼南火灾", "潼南疫情"}
    days = {a.text_content(): a.get("href") for a in doc.cssselect('[data-facet="day"] a')}
    one_day = page(viewer, days["2021-02-07"])
    assert [a.text_content() for a in one_day.cssselect("#results a.title")] == ["潼南疫情通报"]
    assert one_day.cssselect('input[name="since"]')[0].get("value") == "2021-02-07T00:00"


def test_past_the_count_limit_the_total_is_a_lower_bound(
    viewer: Browser, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(items_resource, "SEARCH_COUNT_LIMIT", 5)
    doc = page(viewer, "/search?q=潼南&size=10")
    head = doc.cssselect(".results-head")[0].text_content()
    if isinstance(store, ElasticStore):  # Elasticsearch counts every match
        assert "共 28 条" in head and "超过" not in head
        return
    assert "超过 5 条" in head and "最新的 5 条" in head
    assert len(doc.cssselect("#results .result")) == 5
    counts = doc.cssselect('[data-facet="source"] li .muted')
    assert sum(int(c.text_content()) for c in counts) == 5


def test_pages(viewer: Browser) -> None:
    doc = page(viewer, "/search?q=潼南&size=10")
    assert "28" in doc.cssselect("#total")[0].text_content()
    assert len(doc.cssselect("#results .result")) == 10
    second = page(viewer, doc.cssselect(".pager a[rel=next]")[0].get("href"))
    assert "2 / 3" in second.cssselect(".pager")[0].text_content()
    assert second.cssselect(".pager a[rel=prev]")


def test_bad_query_is_shown_beside_the_box(viewer: Browser) -> None:
    doc = page(viewer, "/search?q=潼南 AND (火灾", 400)
    error = doc.cssselect("#query-error")[0].text_content()
    assert "第 11 个字符处" in error
    assert doc.cssselect("input#q")[0].get("value") == "潼南 AND (火灾"
    doc = page(viewer, "/search?q=潼南&since=yesterday", 400)
    assert "since" in doc.cssselect("#query-error")[0].text_content()
    assert doc.cssselect("input#q")[0].get("value") == "潼南"
    doc = page(viewer, "/search?q=潼南&page=1000", 400)
    assert "page" in doc.cssselect("#query-error")[0].text_content()


def test_export_shows_progress_and_a_download(viewer: Browser) -> None:
    doc = page(viewer, "/search?q=潼南&source=gov")
    button = doc.cssselect("#results .export button")[0]
    fragment = page(viewer, button.get("hx-get"))
    job_id = fragment.cssselect("[data-job]")[0].get("data-job")
    assert fragment.cssselect("progress") and fragment.cssselect("a[data-job-download]")
    job_done(viewer, f"/api/jobs/{job_id}")
    data = viewer.get(f"/api/jobs/{job_id}/result").data.decode("utf-8-sig")
    assert data.count("\n") == 2 and "双江镇一民房起火" in data
    error = page(viewer, "/search/export?q=(")
    assert error.cssselect(".error")


def test_english_and_anonymous(app: APIFlask, viewer: Browser) -> None:
    assert "Query syntax" in page(viewer, "/search?lang=en").text_content()
    page(viewer, "/search?lang=zh")
    for url in ("/search", f"/items/{FIRE}", "/events", f"/events/{FIRE}", "/search/export"):
        response = app.test_client().get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]

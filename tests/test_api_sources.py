"""``/api/sources``: CRUD with validation, URL checks, run now (a real ``yuqing.crawl``
process against the demo site on 127.0.0.1), run history and the extraction preview."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import Browser, add_user, make_app, signed_in, token_for
from apiflask import APIFlask
from elasticsearch import Elasticsearch
from waiting import wait_for

from devtools.demosite import BASE_TIME, DemoSite, create_app, serve
from store import ItemQuery, Store
from store.elastic import ElasticStore

# Fast and quiet crawl processes (as in tests/test_crawl.py).
CRAWL_SETTINGS = [
    "-s", "YUQING_MATCHER=null", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false",
    "-s", "LOG_LEVEL=WARNING", "-s", "HTTPPROXY_ENABLED=false",
    "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
]  # fmt: skip


@pytest.fixture
def demo() -> Iterator[tuple[str, DemoSite]]:
    app = create_app(clock=lambda: BASE_TIME + timedelta(days=1))
    server, url = serve(app=app)
    try:
        yield url, app.extensions["demosite"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def app(store: Store, tmp_path: Path) -> APIFlask:
    config = tmp_path / "yuqing.toml"
    config.write_text("")
    return make_app(store, tmp_path, crawl_args=["--config", str(config), *CRAWL_SETTINGS])


def news(base: str, **more: Any) -> dict[str, Any]:
    return {
        "id": "demo-news",
        "name": "潼南新闻网 要闻",
        "type": "list",
        "start_urls": [f"{base}/news/"],
        "interval": 600,
        "tags": ["news"],
        "region": "潼南区",
        "selectors": {"links": "ul.list a::attr(href)"},
        "max_pages": 1,
        "allow_private": True,
    } | more


def test_crud_with_audit(app: APIFlask, store: Store, admin: Browser) -> None:
    created = admin.post("/api/sources", json=news("http://127.0.0.1:8600"))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["id"] == "demo-news" and body["last_run"] is None and body["problems"] == {}
    entry = store.audit.list(target="source:demo-news")[0]
    assert entry.action == "source.create" and entry.actor == "admin1"
    assert entry.after["allow_private"] is True

    again = admin.post("/api/sources", json=news("http://127.0.0.1:8600"))
    assert again.status_code == 409 and again.get_json()["field"] == "id"

    listed = admin.get("/api/sources").get_json()["sources"]
    assert [s["id"] for s in listed] == ["demo-news"]
    assert {"last_success", "consecutive_failures", "empty_runs", "usual_gap", "parse_failures",
            "replacement_share", "blocked", "problems"} <= set(listed[0])  # fmt: skip

    # An edit that leaves allow_private out keeps the source's permission; the audit has
    # before and after.
    kept = news("http://127.0.0.1:8600", name="要闻", render=True)
    del kept["allow_private"]
    changed = admin.send("PUT", "/api/sources/demo-news", json=kept)
    assert changed.status_code == 200, changed.get_json()
    saved = store.sources.get("demo-news")
    assert saved is not None and saved.name == "要闻"
    assert saved.allow_private and saved.render
    detail = admin.get("/api/sources/demo-news").get_json()["source"]
    assert detail["render"] is True and detail["allow_private"] is True
    entry = store.audit.list(target="source:demo-news")[0]
    assert (entry.action, entry.before["name"], entry.after["name"]) == (
        "source.update",
        "潼南新闻网 要闻",
        "要闻",
    )
    # allow_private false takes the permission away (the crawl then refuses the host,
    # crawler.pinning); the accepted URL is not checked again, but a new private one is.
    revoked = admin.send(
        "PUT", "/api/sources/demo-news", json=news("http://127.0.0.1:8600", allow_private=False)
    )
    assert revoked.status_code == 200, revoked.get_json()
    saved = store.sources.get("demo-news")
    assert saved is not None and not saved.allow_private and not saved.render
    assert store.audit.list(target="source:demo-news")[0].after["allow_private"] is False
    more = news("http://127.0.0.1:8600", allow_private=False)
    more["start_urls"] += ["http://127.0.0.1:8600/shehui/"]
    refused = admin.send("PUT", "/api/sources/demo-news", json=more)
    assert refused.status_code == 400 and refused.get_json()["field"] == "start_urls[1]"

    assert admin.get("/api/sources/nope").status_code == 404
    assert admin.send("DELETE", "/api/sources/demo-news").status_code == 204
    assert store.sources.get("demo-news") is None
    assert store.audit.list(target="source:demo-news")[0].action == "source.delete"


VALIDATION: list[tuple[dict[str, Any], str]] = [
    ({"interval": 10}, "interval"),
    ({"selectors": {"links": "ul[[["}}, "selectors.links"),
    ({"selectors": {"author": "p"}}, "selectors.author"),
    ({"type": "forum"}, "type"),
    ({"id": "bad id!"}, "id"),
    ({"encoding": "no-such-codec"}, "encoding"),
    ({"start_urls": []}, "start_urls"),
]
NOT_HTTP = ["file:///etc/passwd", "javascript:alert(1)", "ftp://example.org/", "http:///nohost"]
PRIVATE = [
    "http://127.0.0.1:8600/news/",
    "http://10.1.2.3/",
    "http://localhost/",
    "http://169.254.169.254/",
    "http://[::1]/",
    "http://192.168.0.1/",
]


def test_validation_names_the_field(store: Store, admin: Browser) -> None:
    for change, field in VALIDATION:
        response = admin.post("/api/sources", json=news("http://127.0.0.1:8600") | change)
        assert response.status_code == 400, change
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["field"] == field, (change, response.get_json())
    assert store.sources.list() == []


def test_only_http_urls(admin: Browser) -> None:
    for url in NOT_HTTP:
        response = admin.post("/api/sources", json=news("") | {"start_urls": [url]})
        assert response.status_code == 400, url
        assert response.get_json()["field"] == "start_urls[0]"


def test_private_addresses_need_allow_private(store: Store, admin: Browser) -> None:
    for n, url in enumerate(PRIVATE):
        body = news("") | {"id": f"s{n}", "start_urls": [url], "allow_private": False}
        refused = admin.post("/api/sources", json=body)
        assert refused.status_code == 400, (url, refused.get_json())
        problem = refused.get_json()
        assert problem["field"] == "start_urls[0]" and "allow_private" in problem["detail"]
        assert store.sources.get(f"s{n}") is None
        allowed = admin.post("/api/sources", json=body | {"allow_private": True})
        assert allowed.status_code == 201, url
        assert store.audit.list(target=f"source:s{n}")[0].after["allow_private"] is True


def test_roles(app: APIFlask, store: Store, admin: Browser) -> None:
    admin.post("/api/sources", json=news("http://127.0.0.1:8600"))
    for role in ("viewer", "operator"):
        browser = signed_in(app, role)
        assert browser.get("/api/sources").status_code == 200
        assert (
            browser.post("/api/sources", json=news("http://127.0.0.1:8600", id="x")).status_code
            == 403
        )
        assert browser.send("DELETE", "/api/sources/demo-news").status_code == 403
        assert (
            browser.post("/api/sources/preview", json=news("http://127.0.0.1:8600")).status_code
            == 403
        )
    viewer = Browser(app)
    add_user(app, "reader", "viewer")
    headers = {"Authorization": f"Bearer {token_for(app, 'reader')}"}
    assert viewer.client.post("/api/sources/demo-news/run", headers=headers).status_code == 403


def _refresh(store: Store) -> None:
    if isinstance(store, ElasticStore):
        # Crawl processes write without refresh, as in production.
        Elasticsearch(store.url).indices.refresh(index=f"{store.prefix}*")


def test_run_now_records_a_run_and_refuses_a_second(
    app: APIFlask, store: Store, admin: Browser, demo: tuple[str, DemoSite]
) -> None:
    base, _ = demo
    assert admin.post("/api/sources", json=news(base)).status_code == 201
    operator = signed_in(app, "operator")
    started = operator.post("/api/sources/demo-news/run")
    assert started.status_code == 202, started.get_json()
    assert started.headers["Location"] == "/api/sources/demo-news/runs"
    busy = operator.post("/api/sources/demo-news/run")
    assert busy.status_code == 409
    assert busy.mimetype == "application/problem+json"
    assert operator.post("/api/sources/nope/run").status_code == 404

    def done() -> dict[str, Any] | None:
        history = operator.get("/api/sources/demo-news/runs").get_json()
        return history if not history["running"] and history["runs"] else None

    run = wait_for("the run to finish", done, 120)["runs"][0]
    assert run["outcome"] == "ok", run
    assert run["new_items"] > 0 and run["pages"] > 1
    _refresh(store)
    assert store.items.search(ItemQuery(sources=["demo-news"], size=1)).total == run["new_items"]
    listed = operator.get("/api/sources").get_json()["sources"][0]
    assert listed["last_run"]["id"] == run["id"] and listed["last_success"] is not None
    assert store.audit.list(target="source:demo-news")[0].action == "source.run"
    page = operator.get("/sources/demo-news").get_data(as_text=True)
    row = re.search(rf'<tr data-run="{run["id"]}">(.*?)</tr>', page, re.S)
    assert row and f"<td>{run['items']}</td><td>{run['new_items']}</td>" in row.group(1)
    # Finished: it may run again.
    assert operator.post("/api/sources/demo-news/run").status_code == 202


def test_preview_extracts_without_storing(
    store: Store, admin: Browser, demo: tuple[str, DemoSite]
) -> None:
    base, site = demo
    response = admin.post("/api/sources/preview", json=news(base) | {"limit": 2})
    assert response.status_code == 200, response.get_json()
    found = response.get_json()
    assert found["status"] == 200 and len(found["links"]) >= 2
    assert len(found["articles"]) == 2
    for article in found["articles"]:
        truth = site.find(article["url"].removeprefix(base))
        assert truth is not None, article["url"]
        assert article["title"] == truth.title
        assert article["excerpt"] and article["excerpt"][:10] in truth.body.replace("\n", "")
        assert article["publish_time"] == truth.published.isoformat()
    _refresh(store)
    assert store.items.count() == 0
    assert store.sources.list() == [] and store.runs.recent("demo-news") == []

    refused = admin.post("/api/sources/preview", json=news(base, allow_private=False))
    assert refused.status_code == 400 and refused.get_json()["field"] == "start_urls[0]"


def form(base: str, **more: str) -> dict[str, str]:
    return {
        "id": "demo-news",
        "name": "<img src=x onerror=alert(1)>要闻",
        "type": "list",
        "start_urls": f"{base}/news/",
        "interval": "600",
        "tags": "news, 要闻",
        "region": "潼南区",
        "selector_links": "ul.list a::attr(href)",
        "max_pages": "1",
        "robots": "obey",
        "enabled": "1",
    } | more


def test_console_pages(
    app: APIFlask, store: Store, admin: Browser, demo: tuple[str, DemoSite]
) -> None:
    base, site = demo
    refused = admin.post("/sources/new", data=form(base) | {"csrf_token": admin.csrf})
    assert refused.status_code == 400
    assert 'data-field="start_urls[0]"' in refused.get_data(as_text=True)
    assert store.sources.list() == []

    tested = admin.post(
        "/sources/preview", data=form(base, allow_private="1") | {"csrf_token": admin.csrf}
    )
    page = tested.get_data(as_text=True)
    assert tested.status_code == 200 and page.count("data-preview-article") == 3
    assert site.latest("news")[0].title in page
    assert store.sources.list() == []

    added = admin.post(
        "/sources/new",
        data=form(base, allow_private="1", render="1") | {"csrf_token": admin.csrf},
    )
    assert added.status_code == 302 and added.headers["Location"] == "/sources/demo-news"
    saved = store.sources.get("demo-news")
    assert saved is not None and saved.tags == ["news", "要闻"] and saved.max_pages == 1
    assert saved.render and saved.allow_private
    edit = admin.get("/sources/demo-news/edit").get_data(as_text=True)
    assert re.search(r'id="source-render" value="1" checked', edit)
    assert re.search(r'id="source-allow-private" value="1" checked', edit)
    shown = admin.get("/sources/demo-news").get_data(as_text=True)
    assert re.search(r'id="source-render-shown">是<', shown)
    english = admin.get("/sources/demo-news", headers={"Accept-Language": "en"})
    assert "Render pages" in english.get_data(as_text=True)
    assert store.audit.list(target="source:demo-news")[0].after["allow_private"] is True

    for url in ("/sources", "/sources/demo-news", "/sources/demo-news/edit"):
        shown = admin.get(url).get_data(as_text=True)
        assert "<img src=x" not in shown and "&lt;img src=x onerror=alert(1)&gt;要闻" in shown, url
    bad = admin.post(
        "/sources/demo-news/edit", data=form(base, interval="5") | {"csrf_token": admin.csrf}
    )
    assert bad.status_code == 400 and 'data-field="interval"' in bad.get_data(as_text=True)

    viewer = signed_in(app, "viewer")
    assert viewer.get("/sources/demo-news").status_code == 200
    assert 'id="source-run-now"' not in viewer.get("/sources/demo-news").get_data(as_text=True)
    assert viewer.get("/sources/new").status_code == 403
    assert (
        viewer.post("/sources/demo-news/run", data={"csrf_token": viewer.csrf}).status_code == 403
    )

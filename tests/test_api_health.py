"""``/api/health`` and what every route answers when the store goes away: 503 problem
documents with Retry-After (a Chinese page in the console), and back to normal when it
returns, without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from api_support import add_user, make_app, token_for
from apiflask import APIFlask
from tcpproxy import Forwarder

from store import Store, open_store


def test_health_reports_the_store(store: Store, tmp_path: Path) -> None:
    client = make_app(store, tmp_path).test_client()
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["status_of"] == {"api": "ok", "store": "ok"}
    assert body["store"]["url"] == store.url
    assert body["store"]["items"] == 0


def test_unknown_path_is_a_problem_document(store: Store, tmp_path: Path) -> None:
    response = make_app(store, tmp_path).test_client().get("/api/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


@pytest.fixture
def flaky(es_url: str, es_prefix: str) -> Iterator[tuple[Forwarder, Store]]:
    """An Elasticsearch store reached through a forwarder the test can cut."""
    target = urlsplit(es_url)
    forwarder = Forwarder((target.hostname or "127.0.0.1", target.port or 9200)).start()
    store = open_store(forwarder.url, prefix=es_prefix, refresh=True)
    yield forwarder, store
    forwarder.stop()
    store.close()


def test_an_unreachable_store_is_a_503_with_retry_after(
    flaky: tuple[Forwarder, Store], tmp_path: Path
) -> None:
    forwarder, store = flaky
    app: APIFlask = make_app(store, tmp_path)
    add_user(app, "op", "operator")
    headers = {"Authorization": f"Bearer {token_for(app, 'op')}"}
    client = app.test_client()
    assert client.get("/api/items", headers=headers).status_code == 200

    forwarder.stop()
    health = client.get("/api/health")
    assert health.status_code == 503 and health.headers["Retry-After"].isdigit()
    assert health.mimetype == "application/problem+json"
    assert health.get_json()["status_of"] == {"api": "ok", "store": "unavailable"}
    # A route that reads the store answers the same way, not with a 500.
    search = client.get("/api/alerts", headers=headers)
    assert search.status_code == 503 and search.mimetype == "application/problem+json"
    assert "Retry-After" in search.headers
    # The console says it in Chinese, on a page that asks nothing more of the store.
    page = client.get("/alerts", headers=headers)
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "数据存储暂时无法连接" in page.get_data(as_text=True)

    forwarder.start()
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/items", headers=headers).status_code == 200

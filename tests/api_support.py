"""Helpers for API and console tests: an app on a test store, users of each role, and
a client that signs in through the real login form and sends the CSRF token."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apiflask import APIFlask
from elasticsearch import Elasticsearch
from flask.testing import FlaskClient
from waiting import wait_for
from werkzeug.test import TestResponse

from api.context import parts
from store import Item, Store, open_store
from yuqing.config import Config
from yuqing.wiring import app_for

PASSWORD = "correct horse battery"
T0 = datetime(2021, 2, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
XSS_TITLE = "<script>alert(1)</script>潼南"
XSS_BODY = "<img src=x onerror=alert(1)> 潼南警报"
ROLES = ("viewer", "operator", "admin")


def make_item(n: int, title: str, body: str, **fields: Any) -> Item:
    """Item ``n`` of news.example.cn, first seen ``n`` hours after :data:`T0`."""
    made: dict[str, Any] = {
        "url": f"http://news.example.cn/a/{n}.html",
        "title": title,
        "body": body,
        "first_seen": T0 + timedelta(hours=n),
        "source_id": "news",
    }
    return Item(**(made | fields))


def make_app(
    store: Store, tmp_path: Path, *, crawl_args: list[str] | None = None, **settings: Any
) -> APIFlask:
    config = Config.model_validate({"data_dir": str(tmp_path / "var"), **settings})
    app = app_for(config, store, crawl_args=crawl_args)
    app.config["TESTING"] = True
    return app


def add_user(app: APIFlask, name: str, role: str, password: str = PASSWORD) -> None:
    with app.app_context():
        parts().accounts.create(name, role, password, actor="test")


def token_for(app: APIFlask, name: str) -> str:
    with app.app_context():
        return parts().accounts.issue_token(name, "test", actor="test")[1]


class Browser:
    """A test client that behaves like the console in a browser: it signs in with the
    form and echoes the page's CSRF token on unsafe requests."""

    def __init__(self, app: APIFlask) -> None:
        self.client: FlaskClient = app.test_client()
        self.csrf = ""

    def refresh_csrf(self) -> str:
        page = self.client.get("/login").get_data(as_text=True)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert found, "every page carries the CSRF token in a meta tag"
        self.csrf = found.group(1)
        return self.csrf

    def login(self, name: str, password: str = PASSWORD) -> TestResponse:
        self.refresh_csrf()
        response = self.client.post(
            "/login",
            data={"username": name, "password": password, "csrf_token": self.csrf},
        )
        page = self.client.get("/login").get_data(as_text=True)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page)
        self.csrf = found.group(1) if found else ""
        return response

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.client.get(url, **kwargs)

    def send(self, method: str, url: str, **kwargs: Any) -> TestResponse:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def post(self, url: str, **kwargs: Any) -> TestResponse:
        return self.send("POST", url, **kwargs)


def signed_in(app: APIFlask, role: str) -> Browser:
    """A browser signed in as a new user with ``role`` (named after it)."""
    name = f"{role}1"
    add_user(app, name, role)
    browser = Browser(app)
    response = browser.login(name)
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


@contextmanager
def module_store(backend: str, directory: Path, es_url: str) -> Iterator[Store]:
    """A store shared by a test module that only reads (fresh Elasticsearch indices for each
    test would take most of the run); Elasticsearch indices are deleted afterwards."""
    if backend == "sqlite":
        store = open_store(f"sqlite:///{directory / 'yuqing.db'}")
        yield store
        store.close()
        return
    prefix = f"test-{uuid.uuid4().hex[:10]}-"
    store = open_store(es_url, prefix=prefix, refresh=True)
    yield store
    store.close()
    client = Elasticsearch(es_url)
    for index in client.indices.get(index=f"{prefix}*", expand_wildcards="all"):
        client.indices.delete(index=index)
    client.close()


def job_done(browser: Browser, location: str, timeout: float = 60.0) -> dict[str, Any]:
    """Wait for the background job at ``location`` (``/api/jobs/<id>``) to end; its state."""

    def ended() -> dict[str, Any] | None:
        job = browser.get(location).get_json()
        return dict(job) if job["state"] != "running" else None

    return wait_for(f"the job {location}", ended, timeout)

"""The channel pages in Debian's chromium: an admin adds a DingTalk robot through the
form (secrets typed, then shown masked), sends a test message with the button (htmx,
CSP intact) that the fake platform on 127.0.0.1 accepts, saves a routing table and
previews where an alert would go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import PASSWORD, add_user, make_app
from apiflask import APIFlask
from browser_support import chromium, serving, shot, sign_in
from channel_support import DING_SECRET
from playwright.sync_api import Page

from devtools.fakeplatforms import FakePlatforms
from store import Store, open_store


@pytest.fixture
def fakes() -> Iterator[FakePlatforms]:
    server = FakePlatforms().start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(str(tmp_path / "console.db"))
    yield store
    store.close()


@pytest.fixture
def app(store: Store, tmp_path: Path) -> APIFlask:
    app = make_app(store, tmp_path, alerts={"public_url": "https://yq.example.cn"})
    add_user(app, "admin1", "admin")
    return app


@pytest.fixture
def page(app: APIFlask) -> Iterator[tuple[Page, str, list[str]]]:
    errors: list[str] = []
    with serving(app) as base, chromium() as browser:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, base, "admin1", PASSWORD)
        yield page, base, errors
        context.close()


def test_add_test_and_route_a_dingtalk_robot(
    page: tuple[Page, str, list[str]], fakes: FakePlatforms, store: Store
) -> None:
    tab, base, errors = page
    webhook = fakes.add_dingtalk("dt-browser", DING_SECRET, ["舆情"])
    tab.goto(f"{base}/channels")
    tab.click("#channel-add-dingtalk")
    tab.fill("#channel-id", "district-duty")
    tab.fill("#channel-name", "区值班群")
    tab.fill("#channel-webhook", webhook)
    tab.fill("#channel-secret", DING_SECRET)
    tab.fill("#channel-keywords", "舆情")
    tab.fill("#channel-quiet_hours", "22:00-07:00")
    tab.click("#channel-save")
    row = tab.locator('tr[data-channel="district-duty"]')
    assert "区值班群" in row.inner_text() and "●●●●" + DING_SECRET[-4:] in row.inner_text()
    assert DING_SECRET not in tab.content() and "dt-browser" not in tab.content()

    tab.click("#test-district-duty")
    tab.wait_for_selector("#trial-district-duty [data-ok]")
    assert "发送成功" in tab.inner_text("#trial-district-duty")
    [got] = fakes.received
    assert got.body["actionCard"]["title"].startswith("【测试消息】")

    tab.goto(f"{base}/routing")
    tab.fill(
        "#routing-text",
        "routes:\n  - name: 严重\n    when: {severities: [critical]}\n"
        "    to:\n      - channel: district-duty\n",
    )
    tab.click("#routing-save")
    assert tab.locator("#routing-error").count() == 0
    tab.fill("#preview-rule", "潼南火灾")
    tab.select_option("#preview-severity", "critical")
    tab.click("#preview-submit")
    result = tab.inner_text("#preview-result")
    assert "严重" in result and "区值班群" in result
    shot(tab, "channels-routing")
    stored = store.routing.get()
    assert stored is not None and stored.settings["routes"][0]["name"] == "严重"
    assert not errors, errors  # no script error, no CSP violation

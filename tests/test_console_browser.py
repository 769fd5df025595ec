"""The console in Debian's chromium: sign-in, keyword editing with the live test, an alert
raised by crawling the demo site and acknowledged, search, crawled markup shown as text,
the dashboard chart. Every step leaves a screenshot (see ``browser_support.SCREENSHOTS``);
``readme-console.png`` there is the README's ``docs/console.png``, copied by hand."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
from alerting_support import ARCHIVE_AS_NEWS
from api_support import PASSWORD, add_user, make_app
from apiflask import APIFlask
from browser_support import SCREENSHOTS, chromium, serving, shot, sign_in
from playwright.sync_api import Browser, Dialog, Page, StorageState
from test_crawl import MATCHING, source

from api.context import parts
from crawler.scheduler import launch
from devtools.demosite import DemoSite, Draft, create_app, serve
from keywords.io import read_library
from keywords.operations import save_library
from store import Store, open_store
from store.acting import Acting
from store.clock import Clock
from store.model import Alert
from yuqing.wiring import CRAWL_COMMAND

SCRIPT_TITLE = "<script>alert(1)</script>"
IMG_TAG = "<img src=x onerror=alert(1)>"
# Matches the sample library's 潼南疫情 rule, so the page also raises an alert.
XSS_BODY = f"潼南区双江镇新增确诊病例一例。{IMG_TAG} 相关部门正在处置，请市民注意个人防护。"
FIRE = "潼南火灾"
# The volume chart has its series and has finished animating them (ECharts' public
# getInstanceByDom; isFinished is zrender's animation loop, empty when all is drawn).
DRAWN = """() => {
  const chart = window.echarts?.getInstanceByDom(document.getElementById("volume-chart"));
  return chart && chart.getOption().series.length > 0 && chart.getZr().animation.isFinished();
}"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One SQLite store for the module, with the sample library (keywords/samples)."""
    tmp: Path = tmp_path_factory.mktemp("browser")
    store = open_store(str(tmp / "console.db"))
    data = resources.files("keywords.samples").joinpath("tongnan.yaml").read_bytes()
    save_library(Acting("测试", store, Clock()), read_library(data, "yaml"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def app(store: Store, tmp_path_factory: pytest.TempPathFactory) -> APIFlask:
    app = make_app(store, tmp_path_factory.mktemp("app"))
    add_user(app, "operator1", "operator")
    return app


@pytest.fixture(scope="module")
def base(app: APIFlask) -> Iterator[str]:
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@dataclass
class Demo:
    """The demo site on 127.0.0.1 and how to crawl one of its sources into the store."""

    url: str
    site: DemoSite
    env: dict[str, str]

    def crawl(self, source_id: str) -> None:
        """One run of ``source_id`` by a real ``yuqing.crawl`` process, which matches the
        library and hands new hits to alerting."""
        summary = launch(CRAWL_COMMAND, source_id, MATCHING, self.env, timeout=120)
        assert summary["outcome"] == "ok", summary


@pytest.fixture(scope="module")
def demo(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("crawl")
    config = tmp / "yuqing.toml"
    config.write_text(f"data_dir = {json.dumps(str(tmp / 'var'))}\n")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url}
    env |= {"YUQING_API_SECRET_KEY": "browser-test-key"}
    # The demo's 2021 archive is alerted on here: as news, not backfill (test_backfill).
    env |= ARCHIVE_AS_NEWS
    site_app = create_app()
    server, url = serve(app=site_app)
    try:
        yield Demo(url, site_app.extensions["demosite"], env)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module", autouse=True)
def crawling(store: Store, demo: Demo) -> Iterator[Future[list[Alert]]]:
    """The news section crawled, in the background from the start of the module while
    the first tests run; the alerts it raised."""

    def crawl() -> list[Alert]:
        demo.crawl("news")
        alerts = store.alerts.list(limit=100)
        assert {a.rule for a in alerts} >= {FIRE, "潼南疫情"}, alerts
        return alerts

    store.sources.put(source("news", "list", [f"{demo.url}/news/"]))
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(crawl)


@pytest.fixture
def crawled(crawling: Future[list[Alert]]) -> list[Alert]:
    return crawling.result()


@pytest.fixture
def console_errors() -> list[str]:
    """Errors the page logged; a test expecting one (a refused sign-in) takes it out."""
    return []


@contextmanager
def watched(
    browser: Browser, errors: list[str], state: StorageState | None = None
) -> Iterator[Page]:
    """A page in a fresh context (with the cookies of ``state``) whose script errors,
    CSP violations and dialogs fail the test."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 800}, storage_state=state
    )
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        context.close()
    # A CSP violation or a script error shows up here: the console must have none.
    assert not errors, errors
    # No test here confirms anything: a dialog can only come from injected script.
    assert not dialogs, dialogs


@pytest.fixture
def page(browser: Browser, console_errors: list[str]) -> Iterator[Page]:
    with watched(browser, console_errors) as page:
        yield page


@pytest.fixture(scope="module")
def session(browser: Browser, base: str) -> StorageState:
    """The cookies of one sign-in as operator1, shared by the tests (signing in is slow
    on purpose: the password hash)."""
    context = browser.new_context()
    try:
        sign_in(context.new_page(), base, "operator1", PASSWORD)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def operator(browser: Browser, console_errors: list[str], session: StorageState) -> Iterator[Page]:
    with watched(browser, console_errors, session) as page:
        yield page


def no_injected_markup(page: Page) -> None:
    """Crawled markup stayed text: no element carries an event handler attribute and the
    only scripts are the console's own files."""
    assert page.locator("[onerror], [onload]").count() == 0
    assert page.locator("script:not([src])").count() == 0


def test_sign_in_and_out(page: Page, base: str, console_errors: list[str]) -> None:
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("input[name=username]", "operator1")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert page.locator("p.error").inner_text() == "用户名或密码不正确"
    # The refused sign-in answers 401, which chromium logs as a failed load.
    assert [e for e in console_errors if "401" in e]
    console_errors.clear()
    shot(page, "01-login-refused")
    sign_in(page, base, "operator1", PASSWORD)
    assert page.locator(".who").inner_text().startswith("operator1")
    shot(page, "01-signed-in")
    page.click(".who button")
    page.wait_for_url(f"{base}/login")


def test_api_docs_render_from_local_assets(page: Page, base: str) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{base}/api/docs")
    page.wait_for_selector(".swagger-ui .info")
    assert all(url.startswith(base) for url in requested), requested


def test_keyword_group_rule_and_live_test(operator: Page, base: str) -> None:
    page = operator
    page.goto(f"{base}/keywords")
    page.click("#groups summary")
    form = page.locator("form#new-group")
    form.locator("input[name=name]").fill("暴雨词")
    form.locator("select[name=category]").select_option("event")
    form.locator("textarea[name=words]").fill("暴雨\n内涝\n山洪")
    shot(page, "02-group-form")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/keywords/groups/"))
    assert page.locator("#word-list li").all_inner_texts() == ["暴雨", "内涝", "山洪"]
    shot(page, "02-group-created")

    page.goto(f"{base}/keywords/rules/new")
    rule = page.locator("form#new-rule")
    rule.locator("input[name=name]").fill("潼南暴雨")
    # The editor checks as one types: a dangling parenthesis is reported in place.
    page.fill("#rule-expression", "@潼南地名 AND (")
    error = page.locator("#expression-error")
    assert re.search(r"第 \d+ 个字符", error.inner_text()), error.inner_text()
    assert page.locator("#expression-error mark.kw-error-at").count() == 1
    shot(page, "02-expression-error")
    page.fill("#rule-expression", "@潼南地名 @暴雨词")
    ok = page.locator("#expression-ok")
    assert "@潼南地名" in ok.inner_text() and "@暴雨词" in ok.inner_text()
    rule.locator("select[name=severity]").select_option("critical")
    page.fill("#rule-must-match", "双江镇突降暴雨")
    page.fill("#rule-must-not-match", "北京暴雨")
    page.click("#rule-save")
    page.wait_for_selector("#saved-notice")
    assert page.locator("#rule-tests .kw-pass").count() == 2
    shot(page, "02-rule-saved")

    # The live test of the whole library marks where each word was found.
    page.goto(f"{base}/keywords")
    page.fill("#live-test-input", "潼南区双江镇突降暴雨，多处内涝")
    page.wait_for_selector("#live-test-result mark")
    marks = page.locator("#live-test-result mark").all_inner_texts()
    assert {"暴雨", "内涝"} <= set(marks) and {"潼南", "双江镇"} & set(marks), marks
    hit = page.locator("#live-test-result .kw-rule-hit").all_inner_texts()
    assert "潼南暴雨" in hit, hit
    shot(page, "02-live-test")


def test_alert_from_the_demo_site_acknowledged(
    operator: Page,
    base: str,
    app: APIFlask,
    browser: Browser,
    console_errors: list[str],
    crawled: list[Alert],
) -> None:
    page = operator
    page.goto(f"{base}/alerts")
    page.wait_for_selector("#alerts-table .alert-row")
    titles = page.locator(".alert-row a").all_inner_texts()
    assert sorted(titles) == sorted(a.title for a in crawled)
    shot(page, "03-alert-inbox")

    fire = next(a for a in crawled if a.rule == FIRE)
    page.locator(".alert-row a", has_text=fire.title).click()
    page.wait_for_url(f"{base}/alerts/{fire.id}")
    assert page.locator("#alert-status").inner_text() == "新预警"
    shot(page, "03-alert-detail")
    page.click("button#acknowledge")
    page.wait_for_selector("button#acknowledge", state="detached")
    assert page.locator("#alert-status").inner_text() == "已签收"
    entry = page.locator("#timeline li[data-action=acknowledge]")
    assert "operator1" in entry.inner_text()
    shot(page, "03-alert-acknowledged")

    # Another alert acknowledged through its emailed link, by someone not signed in.
    other = next(a for a in crawled if a.rule != FIRE)
    with app.app_context():
        link = parts().tickets.links.url(base, other.id, "duty@example.cn")
    with watched(browser, console_errors) as mailed:
        mailed.goto(link)
        mailed.wait_for_selector("form#ack-link-confirm")
        shot(mailed, "03-ack-link")
        mailed.click("#ack-link-submit")
        mailed.wait_for_selector("text=预警已签收")
        shot(mailed, "03-ack-link-done")
    page.goto(f"{base}/alerts/{other.id}")
    assert page.locator("#alert-status").inner_text() == "已签收"
    assert "duty@example.cn" in page.locator("#timeline li[data-action=acknowledge]").inner_text()


def test_search_and_open_an_item(operator: Page, base: str, crawled: list[Alert]) -> None:
    page = operator
    page.goto(f"{base}/search")
    page.fill("input#q", "火灾")
    page.press("input#q", "Enter")
    page.wait_for_url(re.compile(r"/search\?.*q="))
    page.wait_for_selector("#results .result")
    marks = page.locator("#results .result mark").all_inner_texts()
    assert marks and all(m == "火灾" for m in marks), marks
    shot(page, "04-search")

    first = page.locator("#results .result a.title").first
    title = first.inner_text()
    first.click()
    page.wait_for_selector("#item-title")
    assert page.locator("#item-title").inner_text() == title
    assert page.locator("#item-body").inner_text().strip()
    shot(page, "04-item")


def test_dashboard_chart_for_the_readme(operator: Page, base: str, crawled: list[Alert]) -> None:
    page = operator
    page.goto(f"{base}/")
    box = page.locator("#volume-chart canvas").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100, box
    # The chart draws its series with an animation; the README wants the finished picture.
    page.wait_for_function(DRAWN)
    shot(page, "05-dashboard")
    # The README's picture (docs/console.png): copy it from here when the console changes.
    page.screenshot(path=str(SCREENSHOTS / "readme-console.png"))


def test_crawled_markup_is_shown_as_text(
    operator: Page, base: str, store: Store, demo: Demo, crawled: list[Alert]
) -> None:
    # A page whose title and body are markup, published and crawled after the dashboard
    # picture was taken (the README shows the desk's ordinary alerts).
    hostile = demo.site.publish(Draft(title=SCRIPT_TITLE, body=XSS_BODY))
    store.sources.put(source("hostile", "page", [demo.url + hostile.path]))
    demo.crawl("hostile")
    [alert] = [a for a in store.alerts.list(limit=100) if a.title == SCRIPT_TITLE]

    page = operator
    page.goto(f"{base}/search?q=确诊")
    found = page.locator("#results .result a.title", has_text=SCRIPT_TITLE)
    found.wait_for()
    no_injected_markup(page)
    shot(page, "06-xss-search")
    found.click()
    page.wait_for_selector("#item-title")
    assert page.locator("#item-title").inner_text() == SCRIPT_TITLE
    assert IMG_TAG in page.locator("#item-body").inner_text()
    no_injected_markup(page)
    shot(page, "06-xss-item")

    page.goto(f"{base}/alerts")
    page.locator(".alert-row a", has_text=SCRIPT_TITLE).wait_for()
    no_injected_markup(page)
    page.goto(f"{base}/alerts/{alert.id}")
    assert SCRIPT_TITLE in page.locator("h1").inner_text()
    assert IMG_TAG in page.locator(".event-items").inner_text()
    no_injected_markup(page)
    shot(page, "06-xss-alert")

    page.goto(f"{base}/")
    page.locator("#upcoming a", has_text=SCRIPT_TITLE).wait_for()
    no_injected_markup(page)
    shot(page, "06-xss-dashboard")

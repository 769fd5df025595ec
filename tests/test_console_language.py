"""One language: every console page, rendered in zh-CN over a store holding a bit of
everything (alerts with timelines, a source health alert, reports, mail, channels, users),
shows no untranslated English; with ``Accept-Language: en`` the same pages are English.

A visible text node or a visible attribute (title, placeholder, aria-label, alt, button
values) with a Latin word fails the zh-CN check unless the word is a product or format
name, a unit or syntax operators type (:data:`ALLOWED`), or data the test stored itself
(ids, URLs, addresses: :data:`DATA`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from importlib import resources
from pathlib import Path

import pytest
from alerting_support import SH, Clock, alerting, story
from api_support import PASSWORD, Browser, make_app
from apiflask import APIFlask
from channel_support import add_channels, sender
from flask import request
from lxml import html as lxml_html

from api.console import i18n
from api.context import parts
from devtools.fakeplatforms import FakePlatforms
from keywords.io import read_library
from keywords.operations import save_library
from monitor.alerts.policy import save_policy
from store import Store, open_store
from store.acting import Acting
from store.model import CrawlRun, Source

# Names and notation that stay as they are in a Chinese page.
ALLOWED = {
    "yuqing", "yuqing-dev", "api", "csv", "excel", "html", "json", "yaml", "xlsx", "rss",
    "smtp", "url", "urls", "id", "ids", "elasticsearch", "sqlite", "openapi", "swagger",
    "p50", "p95", "near", "and", "or", "not", "title", "body", "http", "https", "utc",
    "gbk", "gb18030", "utf-8", "utf", "xpath", "css", "robots.txt", "robots", "txt", "www",
    "mail-catcher", "eml", "webhook", "sms", "wecom", "dingtalk", "feishu", "email",
    "english", "ms", "kb", "mb", "s", "h", "pid", "lang", "atom",
    "javascript", "mailto",  # URL schemes, named as written (skipped links)
}  # fmt: skip
# Spellings the keyword options' notes give as examples of what they catch (如 c0vid).
EXAMPLES = {"c0vid", "am", "sp", "spaaam", "yiqing", "qing", "c.o.v.i.d", "ypal", "yq"}
# What the test stores, shown as data (source ids, addresses, URLs, file names).
DATA = {"tn-news", "tn", "news", "example", "cn", "duty", "ops", "boss", "chief", "yq", "zhiban"}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.'-]*[A-Za-z0-9]|[A-Za-z]")
DEBUG = False  # True: each word with the text it came from
HIDDEN = ("script", "style", "code", "pre", "kbd", "samp", "textarea", "template")
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite: the pages' language does not depend on the backend."""
    s = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    yield s
    s.close()


@pytest.fixture
def fakes() -> Iterator[FakePlatforms]:
    server = FakePlatforms().start()
    yield server
    server.stop()


@pytest.fixture
def app(store: Store, tmp_path: Path, fakes: FakePlatforms) -> APIFlask:
    app = make_app(store, tmp_path)
    # A chat channel whose robot was removed: its delivery fails and is a dead letter.
    add_channels(store, fakes, only=["duty-wecom"])
    fakes.wecom.clear()
    data = resources.files("keywords.samples").joinpath("tongnan.yaml").read_bytes()
    with app.app_context():
        save_library(Acting("值班长", parts().store, parts().clock), read_library(data, "yaml"))
        mail = parts().mail_dir
    store.sources.put(
        Source(
            "tn-news", "潼南新闻网", "list", ["http://news.example.cn/"], 600, ["news"], "潼南区"
        )
    )
    now = datetime.now(SH)
    for n, outcome in enumerate(["ok", "partial", "failed", "failed", "failed"]):
        at = now - timedelta(hours=5 - n)
        run = store.runs.start(CrawlRun("tn-news", "h:1", at, at + timedelta(minutes=5)))
        assert run is not None
        run.outcome, run.finished, run.pages = outcome, at + timedelta(minutes=1), 3  # type: ignore[assignment]
        run.errors = [{"url": "http://news.example.cn/", "reason": "连接超时"}]
        store.runs.finish(run)
    clock = Clock(now - timedelta(hours=3))
    engine = alerting(store, clock)
    item = story(1, at=clock.now)
    item.event_id = item.id
    store.items.upsert_many([item])
    [made] = engine.ingest([item])
    sender(store, clock).run_once()
    engine.tickets.acknowledge(made.id, "值班长")
    clock.advance(hours=2)
    engine.tick()  # deadlines missed: escalation entries on the timeline
    engine.health_event("tn-news", "silent", "连续 6 次没有新信息", clock.now)
    save_policy(store, made.rule, {"include_backfill": True}, "值班长", now)
    mail.mkdir(parents=True, exist_ok=True)
    message = EmailMessage()
    message["From"], message["To"] = "yuqing@example.cn", "duty@example.cn"
    message["Subject"], message["Date"] = (
        "【舆情严重】潼南区双江镇民房起火",
        "Wed, 02 Dec 2026 14:03:00 +0800",
    )
    message.set_content("标题：潼南区双江镇民房起火")
    (mail / "20261202T060300-1.eml").write_bytes(bytes(message))
    return app


def admin(app: APIFlask) -> Browser:
    with app.app_context():
        parts().accounts.create("zhiban", "admin", PASSWORD, actor="test", display_name="值班长")
    browser = Browser(app)
    assert browser.login("zhiban", PASSWORD).status_code == 302
    return browser


def pages(app: APIFlask, store: Store) -> list[str]:
    """Every console page without arguments, and one of each page with arguments."""
    plain = sorted(
        str(rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console_")
        and "GET" in (rule.methods or ())
        and not rule.arguments
        and not str(rule.rule).endswith((".json", "/export", "/channels/new"))
    )
    alert = next(a for a in store.alerts.list() if a.kind != "health")
    health = next(a for a in store.alerts.list() if a.kind == "health")
    return [
        *plain,
        f"/alerts/{alert.id}",
        f"/alerts/{health.id}",
        f"/items/{alert.item_id}",
        f"/events/{alert.item_id}",
        "/sources/tn-news",
        "/keywords/groups/潼南地名",
        "/keywords/rules/潼南火灾",
        "/keywords/versions/1",
        "/mail/20261202T060300-1.eml",
        "/reports/daily",
        "/reports/weekly",
        "/search?q=起火",
        "/channels/new?kind=wecom",
        "/channels/duty-wecom/edit",
    ]


def english_words(page: str) -> list[str]:
    """Latin words an operator sees on ``page``, less the allowed names and the data."""
    doc = lxml_html.fromstring(page)
    # translate="no" (HTML's own marker) holds identifiers and data: ids, file names,
    # audit action codes, spelling variants.
    for element in [*doc.iter(*HIDDEN), *doc.xpath('//*[@translate="no"]')]:
        element.drop_tree()
    texts = list(doc.itertext())
    for element in doc.iter():
        texts += [element.get(name, "") for name in SHOWN_ATTRIBUTES]
        if element.tag == "input" and element.get("type") in ("submit", "button"):
            texts.append(element.get("value", ""))
    found = []
    for text in texts:
        for word in WORD.findall(text):
            lower = word.lower()
            if (
                lower in ALLOWED | EXAMPLES
                or lower in DATA
                or re.fullmatch(r"[0-9a-f]{6,}|v\d+", lower)
            ):
                continue
            if any(part in DATA for part in re.split(r"[.@/:-]", lower) if part):
                continue  # an address or a URL of the stored data
            found.append(word if not DEBUG else f"{word} in {text.strip()[:80]!r}")
    return found


def test_every_zh_page_is_chinese(app: APIFlask, store: Store) -> None:
    browser = admin(app)
    problems = {}
    for url in pages(app, store):
        response = browser.get(url, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        if response.status_code != 200:
            problems[url] = [f"HTTP {response.status_code}"]
            continue
        words = english_words(response.get_data(as_text=True))
        if words:
            problems[url] = sorted(set(words))
    assert problems == {}, "\n".join(f"{u}: {w}" for u, w in problems.items())


def test_accept_language_en_gives_english_pages(app: APIFlask, store: Store) -> None:
    browser = admin(app)
    han = re.compile(r"[\u4e00-\u9fff]")
    for url in ("/", "/alerts", "/search", "/reports", "/sources", "/keywords"):
        page = browser.get(url, headers={"Accept-Language": "en-US,en;q=0.9"})
        doc = lxml_html.fromstring(page.get_data(as_text=True))
        nav = " ".join(doc.xpath("//nav//text()"))
        assert "Dashboard" in nav and "Alerts" in nav, (url, nav)
        assert not han.search(" ".join(doc.xpath("//h1//text()"))), url
    alert = next(a for a in store.alerts.list() if a.kind != "health")
    page = browser.get(f"/alerts/{alert.id}", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert "Timeline" in text and "Beijing time" in text and "北京时间" not in text


def test_every_string_the_pages_translate_has_english(
    app: APIFlask, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """English is a complete second locale: rendering every page in English asks
    ``gettext`` for no Chinese string that has no English."""
    missing: dict[str, set[str]] = {}
    english = i18n._english
    han = re.compile(r"[\u4e00-\u9fff]")

    def recorded(text: str) -> str:
        shown = english(text)
        if shown == text and han.search(text):
            missing.setdefault(text, set()).add(request.path)
        return shown

    monkeypatch.setattr(i18n, "_english", recorded)
    browser = admin(app)
    for url in pages(app, store):
        response = browser.get(url, headers={"Accept-Language": "en"})
        assert response.status_code == 200, url
    assert missing == {}, "\n".join(f"{t!r} on {sorted(p)}" for t, p in missing.items())

"""Crawl to inbox: the demo site crawled by real ``yuqing.crawl`` processes with the sample
keyword library saved in the store, alerts created by the crawl, and the outbox sent to a
real SMTP server (aiosmtpd), on both stores."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alerting_support import ARCHIVE_AS_NEWS
from mailsink import MailSink
from test_crawl import MATCHING, Demo, items, source

from crawler.handoff import FAILED
from crawler.scheduler import launch
from devtools.demosite import SHANGHAI, Article, Draft, create_app, serve
from keywords.io import read_library
from keywords.operations import save_library
from monitor.alerts.outbox import Sender
from store import Store
from store.acting import Acting
from store.clock import Clock
from store.elastic import ElasticStore
from store.model import Alert
from yuqing.config import SmtpConfig
from yuqing.wiring import CRAWL_COMMAND

RECIPIENTS = ["duty@example.cn", "chief@example.cn"]


@pytest.fixture
def demo() -> Iterator[Demo]:
    app = create_app()
    server, url = serve(app=app)
    try:
        yield Demo(url, app.extensions["demosite"], clock=None)  # type: ignore[arg-type]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sink() -> Iterator[MailSink]:
    server = MailSink().start()
    yield server
    server.stop()


@pytest.fixture
def env(store: Store, tmp_path: Path, sink: MailSink) -> dict[str, str]:
    """Environment of the crawl processes: the test's store, SMTP server and recipients."""
    config = tmp_path / "yuqing.toml"
    config.write_text(
        f"data_dir = {json.dumps(str(tmp_path / 'var'))}\n"
        f"[smtp]\nport = {sink.port}\n"
        f"[alerts]\nrecipients = {json.dumps(RECIPIENTS)}\n"
    )
    out = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    out |= {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url}
    out |= {"YUQING_API_SECRET_KEY": "crawl-alerting-test-key"}
    # The demo's 2021 archive is alerted on here: as news, not backfill (test_backfill).
    out |= ARCHIVE_AS_NEWS
    if isinstance(store, ElasticStore):
        out["YUQING_STORE_PREFIX"] = store.prefix
    return out


def save_sample_library(store: Store) -> None:
    """The sample library as shipped in the package (keywords/samples/tongnan.yaml)."""
    data = resources.files("keywords.samples").joinpath("tongnan.yaml").read_bytes()
    save_library(Acting("测试", store, Clock()), read_library(data, "yaml"))


def crawl(env: dict[str, str], source_id: str) -> dict[str, Any]:
    summary = launch(CRAWL_COMMAND, source_id, MATCHING, env, timeout=120)
    assert summary["outcome"] in ("ok", "partial"), summary
    return summary


def send(store: Store, sink: MailSink) -> int:
    """Send the outbox until nothing is due; how many the server accepted."""
    sender = Sender(
        store, SmtpConfig(host="127.0.0.1", port=sink.port), lambda: datetime.now(SHANGHAI)
    )
    sent = 0
    while done := sender.run_once():
        sent += done
    return sent


def article(demo: Demo, url: str) -> Article:
    found = demo.site.find(url.removeprefix(demo.url))
    assert found is not None, url
    return found


def story_of(demo: Demo, alert: Alert) -> str:
    return article(demo, alert.url).story_id


def test_crawl_alerts_and_mails_once_per_event(
    store: Store, demo: Demo, env: dict[str, str], sink: MailSink
) -> None:
    base, site = demo.url, demo.site
    save_sample_library(store)
    store.sources.put(source("news", "list", [f"{base}/news/"]))
    store.sources.put(source("shehui", "list", [f"{base}/shehui/"]))

    # News links an epidemic and a fire story, and reposts of them: one alert per story.
    assert crawl(env, "news")["new_items"] > 0
    hits = [it for it in items(store) if it.rules]
    assert hits and all(it.hits and it.event_id for it in hits)
    alerts = store.alerts.list(limit=100)
    expected = {(rule, article(demo, it.url).story_id) for it in hits for rule in it.rules}
    assert {(a.rule, story_of(demo, a)) for a in alerts} == expected
    assert send(store, sink) == len(alerts) * len(RECIPIENTS)
    wanted = {f"{a.id}/{r}/new" for a in alerts for r in RECIPIENTS}
    assert sorted(sink.keys()) == sorted(wanted)  # exactly one email per (alert, recipient)
    titles = {a.id: a.title for a in alerts}
    for received in sink.received:
        alert_id, recipient, _ = received.key.split("/")
        assert received.recipients == [recipient]
        assert titles[alert_id] in str(received.message["Subject"])

    # The social section reposts both stories: the reposts join their events' alerts.
    crawl(env, "shehui")
    reposts = [it for it in items(store) if it.rules and "/shehui/" in it.url]
    assert any(article(demo, it.url).repost_of for it in reposts)
    again = store.alerts.list(limit=100)
    reposted = {story_of(demo, a) for a in alerts}
    new_alerts = [a for a in again if a.id not in {b.id for b in alerts}]
    assert all(story_of(demo, a) not in reposted for a in new_alerts), new_alerts
    assert any(a.items > 1 for a in again)
    send(store, sink)
    keys = sink.keys()
    assert len(keys) == len(set(keys)) == len(again) * len(RECIPIENTS)

    # A new matching story makes an alert; its repost, crawled later, joins it.
    fire = site.publish(
        Draft(
            title="潼南区宝龙镇一加工厂发生火灾 无人员伤亡",
            body="今日凌晨，潼南区宝龙镇一食品加工厂仓库起火，消防救援人员接警后迅速赶到现场，"
            "经过一个多小时的扑救，明火被扑灭，事故未造成人员伤亡，起火原因正在调查中。\n"
            "宝龙镇政府已组织人员对周边企业开展消防安全隐患排查，确保安全生产。",
        )
    )
    assert crawl(env, "news")["new_items"] == 1
    copy = site.publish(
        Draft(
            title="转载：宝龙镇一加工厂仓库起火",
            body=f"据潼南区融媒体中心消息，{fire.body}",
            section="shehui",
        ),
        repost_of=fire,
    )
    assert crawl(env, "shehui")["new_items"] == 1
    latest = store.alerts.list(limit=100)
    [made] = [a for a in latest if a.id not in {b.id for b in again}]
    assert made.url == f"{base}{fire.path}" and made.items == 2, made
    stored_copy = next(it for it in items(store) if it.url.endswith(copy.path))
    assert stored_copy.event_id == made.item_id
    assert send(store, sink) == len(RECIPIENTS)
    assert sorted(k for k in sink.keys() if k.startswith(made.id)) == [  # noqa: SIM118
        f"{made.id}/{r}/new" for r in sorted(RECIPIENTS)
    ]


def test_a_failed_hand_off_is_retried_by_the_next_run(
    store: Store, demo: Demo, env: dict[str, str], sink: MailSink, tmp_path: Path
) -> None:
    """Alerting breaks (no secret key, and the data directory cannot hold one): the items
    are stored all the same, the run records why, and the next run hands them over."""
    save_sample_library(store)
    store.sources.put(source("news", "list", [f"{demo.url}/news/"]))
    broken = dict(env)
    del broken["YUQING_API_SECRET_KEY"]
    (tmp_path / "file").write_text("")
    broken["YUQING_DATA_DIR"] = str(tmp_path / "file" / "var")
    first = crawl(broken, "news")
    assert first["outcome"] == "partial", first
    [run] = store.runs.recent("news")
    assert any(e["reason"].startswith(FAILED) for e in run.errors), run.errors
    hits = [it for it in items(store) if it.rules]
    assert hits and not store.alerts.list(limit=100)

    # Nothing new on the site: the next run re-drives the stored hits.
    second = crawl(env, "news")
    assert second["outcome"] == "ok" and second["new_items"] == 0, second
    alerts = store.alerts.list(limit=100)
    assert {a.event_id for a in alerts} == {it.event_id for it in hits}
    assert send(store, sink) == len(alerts) * len(RECIPIENTS)

    # The streak is over: a third run hands nothing again.
    crawl(env, "news")
    assert send(store, sink) == 0
    assert len(sink.keys()) == len(set(sink.keys())) == len(alerts) * len(RECIPIENTS)


def test_a_blocked_source_alerts_the_administrators_once(
    store: Store, demo: Demo, sink: MailSink, env: dict[str, str]
) -> None:
    config = Path(env["YUQING_CONFIG"])
    config.write_text(config.read_text() + 'admins = ["ops@example.cn"]\n')
    store.sources.put(source("bad", "page", [f"{demo.url}/bad/521.html"]))
    for _ in range(2):
        summary = launch(CRAWL_COMMAND, "bad", MATCHING, env, timeout=120)
        assert summary["outcome"] == "blocked", summary
    health = store.alerts.list(rule="source:bad")
    assert len(health) == 1, health
    assert health[0].kind == "health" and "被反爬拦截" in health[0].title
    assert health[0].event_id.startswith("blocked@")
    send(store, sink)
    assert [r.recipients for r in sink.received] == [["ops@example.cn"]]


def test_old_news_is_stored_and_matched_but_raises_no_alert(
    store: Store, demo: Demo, env: dict[str, str], sink: MailSink
) -> None:
    """A new source's first crawl takes in its archive as backfill, and a page dated long
    ago seen later is backfill too: matched and findable, no alert. A fresh story alerts."""
    as_shipped = {k: v for k, v in env.items() if k not in ARCHIVE_AS_NEWS}
    save_sample_library(store)
    store.sources.put(source("news", "list", [f"{demo.url}/news/"]))
    assert crawl(as_shipped, "news")["new_items"] > 0
    archive = items(store)
    assert archive and all(it.backfill for it in archive)
    assert any(it.rules for it in archive)  # matched all the same
    assert store.alerts.list(limit=100) == [] and send(store, sink) == 0

    fire = demo.site.publish(
        Draft(
            title="潼南区宝龙镇一加工厂发生火灾 无人员伤亡",
            body="今日凌晨，潼南区宝龙镇一食品加工厂仓库起火，消防救援人员接警后迅速赶到现场，"
            "明火被扑灭，事故未造成人员伤亡，起火原因正在调查中。",
        )
    )
    assert crawl(as_shipped, "news")["new_items"] == 1
    [alert] = store.alerts.list(limit=100)
    assert alert.url == f"{demo.url}{fire.path}" and not alert.backfill
    assert alert.severity == "critical"

    dated = datetime.now(SHANGHAI) - timedelta(days=30)
    old = demo.site.add(
        Draft(
            title="潼南区米心镇一民房发生火灾",
            body="米心镇一民房起火，消防救援人员赶到现场将明火扑灭，无人员伤亡。",
        ),
        dated,
    )
    assert crawl(as_shipped, "news")["new_items"] == 1
    stored = next(it for it in items(store) if it.url.endswith(old.path))
    assert stored.backfill and stored.rules
    assert [a.id for a in store.alerts.list(limit=100)] == [alert.id]

"""End to end with real parts only, once per store: the demo site, the mail catcher and
``yuqing run`` as a process configured by ``YUQING_*`` variables.

A new article is crawled, matched, alerted and mailed; its repost joins the event without
a second email; the alert is acknowledged through the emailed link as a browser would and
the API and the console show it; the service is killed (SIGKILL) in the middle of a crawl
and started again, and nothing is lost or duplicated.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from http.cookiejar import CookieJar
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urljoin

import pytest
from alerting_support import ARCHIVE_AS_NEWS
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from mailsink import free_port
from waiting import wait_for

from devtools.demosite import SHANGHAI, Article, DemoSite, Draft, create_app, serve
from devtools.mailcatcher import MailCatcher
from store import Item, ItemQuery, Store
from store.elastic import ElasticStore
from store.model import Alert, Source
from yuqing.cli import main

YUQING = str(Path(sys.executable).with_name("yuqing"))
LIBRARY = Path(__file__).parent.parent / "keywords" / "samples" / "tongnan.yaml"
RECIPIENTS = ["duty@tongnan.example", "chief@tongnan.example"]
# Fast crawls for the test; the politeness defaults are tested in tests/test_crawl_units.py.
CRAWL = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=WARNING",
    "-s", "HTTPPROXY_ENABLED=false", "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
]  # fmt: skip
# Sources are crawled every few seconds through emergency mode's interval (a source's own
# interval is at least a minute), which keeps each store's run near two minutes.
INTERVAL = 4
PASSWORD = "e2e-operator-密码-2024"

FIRE = Draft(
    title="潼南区宝龙镇一加工厂发生火灾 无人员伤亡",
    body="今日凌晨，潼南区宝龙镇一食品加工厂仓库起火，消防救援人员接警后迅速赶到现场，"
    "经过一个多小时的扑救，明火被扑灭，事故未造成人员伤亡，起火原因正在调查中。",
)
EPIDEMIC = Draft(
    title="潼南区双江镇新增确诊病例一例 密切接触者已集中隔离",
    body="记者从潼南区疫情防控指挥部获悉，双江镇新增确诊病例一例，系外省返潼人员，"
    "其密切接触者均已落实集中隔离，相关场所已完成消杀。",
)

T = TypeVar("T")


@dataclass
class Stack:
    """The running parts of one test and what they left behind."""

    root: Path
    env: dict[str, str]
    api: str
    site: DemoSite
    site_url: str
    mail: MailCatcher
    store: Store
    service: subprocess.Popen[str] | None = None
    token: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def mark(self, step: str) -> None:
        """Note how long the test took to get here (printed at the end)."""
        self.timings[step] = time.monotonic()

    def start(self) -> None:
        with (self.root / "service.log").open("a") as log:
            self.service = subprocess.Popen(
                [YUQING, "run", "--workers", "2", "--grace", "3", *CRAWL],
                cwd=self.root, env=self.env, stdout=subprocess.DEVNULL, stderr=log, text=True,
            )  # fmt: skip
        wait_for("the API", lambda: self.answers("/api/health"), timeout=30)

    def answers(self, path: str) -> bool:
        assert self.service is not None
        if self.service.poll() is not None:
            tail = (self.root / "service.log").read_text()[-3000:]
            raise AssertionError(f"yuqing run exited with {self.service.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(self.api + path, timeout=2):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the service process alone; its running crawl processes go on."""
        assert self.service is not None
        self.service.send_signal(signal.SIGKILL)
        self.service.wait(10)

    def stop(self) -> int:
        assert self.service is not None
        if self.service.poll() is None:
            self.service.send_signal(signal.SIGTERM)
        return self.service.wait(60)

    def cli(self, *args: str, input: str | None = None) -> str:
        """A ``yuqing`` command run in this process (a subprocess costs seconds)."""
        env: dict[str, str | None] = {k: None for k in os.environ if k.lower().endswith("_proxy")}
        done = CliRunner().invoke(main, list(args), input=input, env=env | self.env)
        assert done.exit_code == 0, done.output
        return done.output

    def api_get(self, path: str) -> Any:
        request = urllib.request.Request(
            self.api + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    def emails(self) -> list[EmailMessage]:
        return [
            cast(
                EmailMessage, email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            )
            for p in self.mail.messages()
        ]

    def mail_keys(self) -> list[str]:
        return [str(m["X-Yuqing-Key"]) for m in self.emails()]

    def alert_of(self, article: Article) -> Alert | None:
        url = self.site.url(article)
        return next((a for a in self.store.alerts.list(limit=1000) if a.url == url), None)

    def items(self) -> list[Item]:
        if isinstance(self.store, ElasticStore):
            # The service writes without refresh, as in production.
            Elasticsearch(self.store.url).indices.refresh(index=f"{self.store.prefix}items")
        query = ItemQuery(size=500, sort="first_seen", descending=False, highlight=False)
        return [found.item for found in self.store.items.search(query).hits]

    def finished_runs(self, source_id: str) -> int:
        return sum(r.outcome != "running" for r in self.store.runs.recent(source_id, 100))

    def report(self) -> str:
        """Seconds from each step to the next."""
        steps = list(self.timings.items())
        return ", ".join(f"{b[0]} {b[1] - a[1]:.1f} s" for a, b in pairwise(steps))


@pytest.fixture
def stack(store: Store, tmp_path: Path) -> Iterator[Stack]:
    app = create_app()
    server, site_url = serve(app=app)
    api_port, smtp_port = free_port(), free_port()
    data = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {
        "YUQING_CONFIG": str(tmp_path / "none.toml"),
        "YUQING_STORE": store.url,
        "YUQING_DATA_DIR": str(data),
        "YUQING_API_PORT": str(api_port),
        "YUQING_SMTP_PORT": str(smtp_port),
        "YUQING_ALERTS_RECIPIENTS": ",".join(RECIPIENTS),
        "YUQING_ALERTS_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
    }
    # The demo's 2021 archive is alerted on here: as news, not backfill (test_backfill).
    env |= ARCHIVE_AS_NEWS
    (tmp_path / "none.toml").write_text("# everything comes from YUQING_* variables\n")
    if isinstance(store, ElasticStore):
        env["YUQING_STORE_PREFIX"] = store.prefix
    mail = MailCatcher(data / "mail", port=smtp_port).start()
    here = Stack(
        tmp_path,
        env,
        f"http://127.0.0.1:{api_port}",
        cast(DemoSite, app.extensions["demosite"]),
        site_url,
        mail,
        store,
    )
    try:
        yield here
    finally:
        if here.service is not None and here.service.poll() is None:
            here.service.kill()
            here.service.wait(10)
        mail.stop()
        server.shutdown()
        server.server_close()


def demo_source(ident: str, section: str, base: str) -> Source:
    return Source(
        id=ident,
        name=ident,
        type="list",
        start_urls=[f"{base}/{section}/"],
        interval=60,
        max_pages=1,
        tags=["news"],
        region="潼南区",
        emergency_interval=INTERVAL,
        emergency_until=datetime.now(SHANGHAI) + timedelta(hours=1),
    )


class Browser:
    """Cookies, redirects and forms, as a browser opening an emailed link."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(CookieJar())
        )

    def get(self, url: str) -> str:
        with self.opener.open(url, timeout=10) as answer:
            return str(answer.read().decode("utf-8"))

    def submit(self, page_url: str, page: str, marker: str, **fields: str) -> str:
        """Post the form whose opening tag holds ``marker``, with its CSRF token."""
        form = re.search(rf"<form[^>]*{re.escape(marker)}[^>]*>.*?</form>", page, re.S)
        assert form is not None, f"no form with {marker} in {page[:2000]}"
        action = re.search(r'action="([^"]*)"', form.group(0))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.group(0))
        assert csrf is not None, form.group(0)
        target = urljoin(page_url, html.unescape(action.group(1)) if action else page_url)
        body = urlencode({"csrf_token": html.unescape(csrf.group(1)), **fields}).encode()
        with self.opener.open(target, data=body, timeout=10) as answer:
            return str(answer.read().decode("utf-8"))


def ack_link(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"https?://\S+/alerts/\w+/ack\?t=[\w.\-]+", body.get_content())
    assert found is not None, body.get_content()
    return found.group(0)


def test_article_to_acknowledged_alert_surviving_a_kill(stack: Stack, store: Store) -> None:
    site_url = stack.site_url
    stack.cli("keywords", "import", str(LIBRARY), "--author", "e2e")
    stack.cli("users", "create", "duty", "--role", "operator", "--password-stdin",
              input=PASSWORD + "\n")  # fmt: skip
    stack.cli("users", "create", "chief", "--admin", "--password-stdin", input=PASSWORD + "\n")
    issued = stack.cli("users", "token", "duty", "--label", "e2e")  # said in Chinese
    stack.token = re.search(r"yq_\S+", issued).group()  # type: ignore[union-attr]
    store.sources.put(demo_source("news", "news", site_url))
    store.sources.put(demo_source("shehui", "shehui", site_url))
    stack.mark("start")
    stack.start()
    stack.mark("API up")
    # The first crawls take in the archive (and alert on its stories).
    wait_for("first crawls", lambda: stack.finished_runs("news") and stack.finished_runs("shehui"))
    stack.mark("first crawls")

    # a. A new article: crawled, matched, alerted, mailed to every recipient.
    fire = stack.site.publish(FIRE)
    alert = wait_for("the fire alert", lambda: stack.alert_of(fire))
    assert alert.rule == "潼南火灾" and alert.severity == "critical"
    first = [f"{alert.id}/{r}/new" for r in RECIPIENTS]
    wait_for("its emails", lambda: set(first) <= set(stack.mail_keys()))
    stack.mark("new article emailed")

    # b. Its repost elsewhere joins the event: one alert, two items, no second email.
    copy = stack.site.publish(
        Draft(title="转载：宝龙镇一加工厂仓库起火", body=f"据潼南区融媒体中心消息，{FIRE.body}",
              section="shehui"),
        repost_of=fire,
    )  # fmt: skip
    copy_url = stack.site.url(copy)
    joined = wait_for(
        "the repost in the event",
        lambda: next((i for i in stack.items() if i.url == copy_url and i.event_id), None),
    )
    assert joined.event_id == alert.item_id
    grown = wait_for(
        "the alert's count", lambda: a if (a := stack.alert_of(fire)) and a.items == 2 else None
    )
    assert grown.id == alert.id and grown.notified_items == 1 and grown.updates == 0
    stack.mark("repost joined")
    assert sorted(k for k in stack.mail_keys() if k.startswith(alert.id)) == sorted(first)

    # c. Acknowledged through the emailed link, as a browser: GET shows, POST confirms.
    message = next(m for m in stack.emails() if m["X-Yuqing-Key"] == first[0])
    link = ack_link(message)
    assert link.startswith(f"{stack.api}/alerts/{alert.id}/ack?t=")
    browser = Browser()
    page = browser.get(link)
    assert store.alerts.get(alert.id).status == "new"  # type: ignore[union-attr]  # GET alone
    done = browser.submit(link, page, 'id="ack-link-confirm"')
    assert "预警已签收" in done and RECIPIENTS[0] in done
    shown = stack.api_get(f"/api/alerts/{alert.id}")
    assert shown["status"] == "acknowledged"
    assert any(e["action"] == "acknowledge" for e in shown["timeline"]), shown["timeline"]
    console = Browser()
    login = console.get(f"{stack.api}/login")
    console.submit(
        f"{stack.api}/login", login, 'action="/login"', username="chief", password=PASSWORD
    )
    detail = console.get(f"{stack.api}/alerts/{alert.id}")
    assert "已签收" in detail and html.escape(alert.title) in detail
    mail_page = console.get(f"{stack.api}/mail")  # admins only: emails hold acknowledge links
    assert stack.mail.messages()[0].name in mail_page

    stack.mark("acknowledged")

    # d. Killed in the middle of a crawl, started again: nothing lost, nothing twice.
    epidemic = stack.site.publish(EPIDEMIC)
    before = stack.finished_runs("news")
    published = datetime.now(SHANGHAI)
    wait_for(
        "a news crawl running after the article",
        lambda: any(
            r.outcome == "running" and r.started >= published for r in store.runs.recent("news", 5)
        ),
    )
    stack.kill()
    stack.mark("killed mid-crawl")
    stack.start()
    stack.mark("restarted")
    outbreak = wait_for("the epidemic alert", lambda: stack.alert_of(epidemic))
    second = [f"{outbreak.id}/{r}/new" for r in RECIPIENTS]
    wait_for("its emails", lambda: set(second) <= set(stack.mail_keys()))
    wait_for("a crawl after the restart", lambda: stack.finished_runs("news") > before + 1)
    wait_for("the outbox sent", lambda: not stack.store.outbox.counts().get("pending"))
    stack.mark("emailed after the restart")
    assert stack.stop() == 0
    stack.mark("stopped")

    runs = store.runs.recent("news", 100) + store.runs.recent("shehui", 100)
    assert all(r.outcome != "running" for r in runs), [(r.id, r.outcome) for r in runs]
    items = stack.items()
    urls = Counter(i.url for i in items)
    assert not [u for u, n in urls.items() if n > 1]
    assert {stack.site.url(a) for a in (fire, copy, epidemic)} <= set(urls)
    alerts = store.alerts.list(limit=1000)
    events = Counter((a.rule, a.event_id) for a in alerts)
    assert not [e for e, n in events.items() if n > 1]
    keys = stack.mail_keys()
    assert len(keys) == len(set(keys)), Counter(keys).most_common(3)
    # Every alert mailed once to each of its recipients, and nothing else.
    assert set(keys) == {f"{a.id}/{r}/new" for a in alerts for r in a.recipients}
    counts = store.outbox.counts()
    assert counts.get("sent", 0) == len(keys) and not counts.get("sending")
    print(stack.report())

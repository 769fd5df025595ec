"""Alert latency: new matching items -> accepted by each channel (email by a local SMTP
server, chat robots, SMS and a webhook by the fake platforms).

    python bench/alert_latency.py [--items 300] [--rate 20] [--store URL] [--email-only]
    python bench/alert_latency.py --crawl [--articles 40] [--poll 10] [--store URL]

Items arrive at ``--rate`` per second in batches of five (each a new story, so each makes
an alert), are matched by the real matcher, stored (SQLite in a temporary folder unless
``--store`` names another, e.g. an Elasticsearch node) and handed to the alerting intake,
which routes every alert to one channel of each kind (devtools.fakeplatforms.demo_channels:
WeCom, DingTalk signed, Feishu signed, webhook, SMS gateway, Aliyun SMS) besides email. A
sender thread sends the outbox; the aiosmtpd server and the fake platforms (real HTTP on
127.0.0.1, checking every signature) note when they accepted each message. The platforms'
rate limits (20 a minute per robot, one SMS a minute per number) are set aside here: at
20 alerts a second they would hold most messages for minutes by design (the tests prove
that queueing); this measures the pipeline. Reported per channel: p50/p95/max of first
seen -> accepted, per alert.

Target: p95 < 2 s for every channel.

``--crawl`` measures the whole path instead: the demo site (in this process) publishes a
new matching story every ``--every`` seconds; a crawl scheduler here runs its news list
every ``--poll`` seconds (emergency mode, the real way below the 60 s minimum), each run a
``crawler.run`` process that extracts, matches, stores and hands hits to alerting; a sender
thread here sends the outbox (looking every ``--send-poll`` seconds, default 1 as
``yuqing send-outbox``).
Reported: p50/p95/max of first seen -> accepted and of publish -> accepted, per story.
Targets: first seen -> email p95 < 2 s; publish -> email p95 < poll interval + 5 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import email
import json
import logging
import os
import random
import re
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

# Run as a script, the repository root is not on sys.path; the packages live there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.scheduler import CrawlScheduler, launch
from crawler.sources import set_emergency
from devtools.demosite import DemoSite, create_app, serve
from devtools.demosite.content import Filler
from devtools.demosite.corpus import TOWNS
from devtools.fakeplatforms import FakePlatforms, Received, demo_channels
from keywords.matcher import Matcher
from keywords.model import Library
from keywords.operations import save_library
from monitor.alerts.delivery import save_channel, save_routing
from monitor.alerts.engine import Alerting
from monitor.alerts.links import AckLinks
from monitor.alerts.outbox import Sender
from monitor.alerts.stats import percentiles
from store import Item, Store, open_store
from store.acting import Acting
from store.clock import Clock
from store.elastic import ElasticStore
from store.model import Source
from yuqing.config import AlertsConfig, SmtpConfig
from yuqing.wiring import CRAWL_COMMAND

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
BATCH = 5
PLACES = ("民房", "仓库", "门面", "厂房", "餐馆", "出租屋")
LIBRARY = {
    "groups": [
        {"name": "地名", "category": "region", "words": ["潼南", "双江镇", "梓潼街道"]},
        {"name": "火灾词", "category": "event", "words": ["起火", "火灾", "爆炸"]},
    ],
    "rules": [{"name": "潼南火灾", "expression": "@地名 NEAR/30 @火灾词", "severity": "critical"}],
}


class Accepted:
    """An SMTP handler noting when each message (by idempotency key) was accepted."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        self.times[str(message["X-Yuqing-Key"])] = time.time()
        return "250 OK"


def channels(store: Store, fakes: FakePlatforms) -> dict[str, str]:
    """Configure one channel of each kind and route every alert to all; id -> kind."""
    acting = Acting("bench", store, Clock(SH))
    kinds, to = {}, []
    for c in demo_channels(fakes):
        settings = dict(c.get("settings", {}), per_minute=10_000)  # see the docstring
        save_channel(acting, c["id"], c["kind"], c["name"], settings, c["secrets"])
        kinds[c["id"]] = c["kind"]
        to.append({"channel": c["id"], **({"to": c["to"]} if "to" in c else {})})
    save_routing(acting, {"routes": [{"name": "全部", "to": to}]})
    return kinds


_ALERT = re.compile(r"/alerts/([0-9a-f]{24})")
_CODE = re.compile(r"/k/([\w-]{12})")


def alert_of(store: Store, got: Received) -> str:
    """The alert a message a fake platform accepted is about: the webhook says so, chat
    messages link to its page, SMS carry its short acknowledge code."""
    if got.platform == "webhook":
        return str(got.body["alert"]["id"])
    if got.platform == "aliyun":
        code = json.loads(got.body["TemplateParam"])["code"]
    else:
        text = json.dumps(got.body, ensure_ascii=False)
        found = _ALERT.search(text)
        if found:
            return found.group(1)
        link = _CODE.search(text)
        code = link.group(1) if link else ""
    message = store.outbox.by_link(code)
    return message.alert_id if message else ""


def run(store: Store, items: int, rate: float, port: int, email_only: bool) -> dict[str, Any]:
    accepted = Accepted()
    server = Controller(accepted, hostname="127.0.0.1", port=port)
    server.start()
    fakes = FakePlatforms().start()
    fakes.enforce_limits = False
    kinds = {} if email_only else channels(store, fakes)
    clock = lambda: datetime.now(SH)  # noqa: E731
    sender = Sender(store, SmtpConfig.model_validate({"port": port}), clock)
    config = AlertsConfig.model_validate({"recipients": ["duty@example.cn"]})
    alerts = Alerting(store, config, AckLinks("bench", 3600), clock, on_enqueue=sender.wake.set)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop, 1.0), daemon=True)
    thread.start()
    matcher = Matcher(Library.model_validate(LIBRARY), 1)
    first_seen: dict[str, float] = {}
    started = time.time()
    try:
        for n in range(0, items, BATCH):
            # Keep the arrival rate: batch n is due n / rate seconds after the start.
            time.sleep(max(0.0, started + n / rate - time.time()))
            batch = []
            for k in range(n, min(n + BATCH, items)):
                now = datetime.now(SH)
                item = Item(
                    url=f"http://news.example.cn/{uuid.uuid4().hex}.html",
                    title=f"潼南区双江镇第{k}号仓库起火",
                    body="据网友爆料，现场浓烟滚滚，消防已到场处置。" * 20,
                    first_seen=now,
                    publish_time=now,
                    source_id="bench",
                )
                result = matcher.match(item.title, item.body)
                item.rules, item.hits = result.rules, result.hits
                first_seen[item.id] = now.timestamp()
                batch.append(item)
            store.items.upsert_many(batch)
            alerts.ingest(batch)
        deadline = time.time() + 60
        while time.time() < deadline and (
            len(accepted.times) < items or len(fakes.received) < items * len(kinds)
        ):
            time.sleep(0.05)
    finally:
        stop.set()
        sender.wake.set()
        thread.join()
        sender.close()
        server.stop()
        fakes.stop()
    made = {a.id: a for a in store.alerts.list(limit=items)}
    per: dict[str, list[float]] = {"email": []}
    for alert in made.values():
        sent = accepted.times.get(f"{alert.id}/duty@example.cn/new")
        if sent is not None:
            per["email"].append(sent - first_seen[alert.item_id])
    platform = {"wecom": "wecom", "dingtalk": "dingtalk", "feishu": "feishu",
                "webhook": "webhook", "sms": "sms_gateway", "aliyun": "sms_aliyun"}  # fmt: skip
    for got in fakes.received:
        found = made.get(alert_of(store, got))
        if found is not None:
            per.setdefault(platform[got.platform], []).append(got.time - first_seen[found.item_id])
    rows = {}
    for channel, latencies in per.items():
        figures = percentiles(latencies)
        rows[channel] = {
            "accepted": len(latencies),
            "p50_s": figures["p50"],
            "p95_s": figures["p95"],
            "max_s": round(max(latencies), 3) if latencies else None,
        }
    return {"items": items, "channels": rows, "refused": len(fakes.refused)}


def crawl_run(
    store: Store, tmp: Path, articles: int, every: float, poll: int, port: int, send_poll: float
) -> dict[str, Any]:
    """The ``--crawl`` benchmark on ``store``."""
    accepted = Accepted()
    server = Controller(accepted, hostname="127.0.0.1", port=port)
    server.start()
    app = create_app()
    site: DemoSite = app.extensions["demosite"]
    web, base = serve(app=app)
    save_library(Acting("bench", store, Clock(SH)), Library.model_validate(LIBRARY))
    store.sources.put(
        Source(id="news", name="news", type="list", start_urls=[f"{base}/news/"], interval=60)
    )
    now = datetime.now(SH)
    set_emergency(store, interval=poll, until=now + timedelta(hours=6), source_ids=["news"])
    config = tmp / "yuqing.toml"
    config.write_text(f'[smtp]\nport = {port}\n[alerts]\nrecipients = ["duty@example.cn"]\n')
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"YUQING_CONFIG": str(config), "YUQING_STORE": store.url, "PYTHONPATH": str(ROOT)}
    env |= {"YUQING_API_SECRET_KEY": "bench", "YUQING_DATA_DIR": str(tmp)}
    if isinstance(store, ElasticStore):
        env["YUQING_STORE_PREFIX"] = store.prefix
    crawl_args = ["-s", "LOG_LEVEL=WARNING", "-s", "DOWNLOAD_DELAY=0"]
    crawl_args += ["-s", "AUTOTHROTTLE_ENABLED=false"]
    clock = lambda: datetime.now(SH)  # noqa: E731
    sender = Sender(store, SmtpConfig.model_validate({"port": port}), clock)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop, send_poll), daemon=True)
    scheduler = CrawlScheduler(store, CRAWL_COMMAND, workers=1, args=crawl_args, env=env)
    published: dict[str, float] = {}  # story URL -> wall time of publication
    filler_of = Filler(random.Random(5))
    try:
        # The first run takes in the site as it is; only stories published later count.
        launch(CRAWL_COMMAND, "news", crawl_args, env)
        thread.start()
        scheduler.start()
        for n in range(articles):
            time.sleep(every)
            town, place = random.choice(TOWNS), random.choice(PLACES)
            filler = filler_of.draft("news", clock(), n)
            draft = dataclasses.replace(
                filler,
                title=f"潼南区{town}一处{place}起火 第{n}起",
                body=f"潼南区{town}一处{place}今日发生火灾，消防已到场。\n{filler.body}",
            )
            article = site.publish(draft)
            published[site.url(article)] = time.time()
        deadline = time.time() + 4 * poll + 60
        while time.time() < deadline and len(accepted.times) < len(published):
            time.sleep(0.2)
    finally:
        scheduler.shutdown()
        stop.set()
        sender.wake.set()
        if thread.is_alive():
            thread.join()
        server.stop()
        web.shutdown()
        web.server_close()
    seen, total = [], []
    for alert in store.alerts.list(limit=10 * articles):
        sent = accepted.times.get(f"{alert.id}/duty@example.cn/new")
        if alert.url in published and sent is not None and alert.first_seen is not None:
            seen.append(sent - alert.first_seen.timestamp())
            total.append(sent - published[alert.url])
    first, whole = percentiles(seen), percentiles(total)
    return {
        "stories": len(published),
        "emailed": len(seen),
        "first_seen_p50_s": first["p50"],
        "first_seen_p95_s": first["p95"],
        "first_seen_max_s": round(max(seen), 3) if seen else None,
        "publish_p50_s": whole["p50"],
        "publish_p95_s": whole["p95"],
        "publish_max_s": round(max(total), 3) if total else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="items per second")
    parser.add_argument("--crawl", action="store_true", help="through the crawler (see above)")
    parser.add_argument("--articles", type=int, default=40, help="--crawl: stories published")
    parser.add_argument("--every", type=float, default=3.0, help="--crawl: seconds between")
    parser.add_argument("--poll", type=int, default=10, help="--crawl: seconds between crawls")
    parser.add_argument(
        "--send-poll", type=float, default=1.0, help="--crawl: seconds between outbox looks"
    )
    parser.add_argument("--store", default="", help="store URL (default: SQLite, temporary)")
    parser.add_argument("--port", type=int, default=8625, help="SMTP port to listen on")
    parser.add_argument("--email-only", action="store_true", help="no chat, SMS, webhook")
    args = parser.parse_args()
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: already running"
    if args.crawl:
        crawl_main(args)
        return
    # The baseline in the same process: email alone, as before channels.
    runs = [("email only", True)] if args.email_only else [("email only", True), ("all", False)]
    results = {}
    for label, email_only in runs:
        result, url = one_run(
            args,
            lambda store, tmp, e=email_only: run(store, args.items, args.rate, args.port, e),
        )
        results[label] = result
    print(f"store {url.split('://')[0]}, {args.items} alerts at {args.rate:g}/s")
    print(f"{'run':<11} {'channel':<12} {'accepted':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    ok = True
    for label, result in results.items():
        for channel, row in result["channels"].items():
            print(
                f"{label:<11} {channel:<12} {row['accepted']:>8} {row['p50_s'] or '-':>7} "
                f"{row['p95_s'] or '-':>7} {row['max_s'] or '-':>7}"
            )
            ok = ok and row["accepted"] == args.items and (row["p95_s"] or 99) < 2.0
        ok = ok and not result["refused"]
    if len(results) == 2:
        base = results["email only"]["channels"]["email"]["p95_s"] or 1
        worst = max(r["p95_s"] or 99 for r in results["all"]["channels"].values())
        print(f"slowest channel p95 / email-only p95: {worst / base:.2f}")
    print("target p95 < 2 s for every channel:", "met" if ok else "MISSED")


def one_run(args: argparse.Namespace, body: Any) -> tuple[dict[str, Any], str]:
    """``body(store, tmp)`` on a fresh store (removed afterwards)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store or f"sqlite:///{tmp}/bench.db"
        options = {"prefix": f"bench-{uuid.uuid4().hex[:8]}-"} if url.startswith("http") else {}
        store = open_store(url, **options)
        try:
            return body(store, Path(tmp)), url
        finally:
            if isinstance(store, ElasticStore):  # leave no benchmark indices behind
                for index in store.es.indices.get(index=f"{store.prefix}*"):
                    store.es.indices.delete(index=index)
            store.close()


def crawl_main(args: argparse.Namespace) -> None:
    result, url = one_run(
        args,
        lambda store, tmp: crawl_run(
            store, tmp, args.articles, args.every, args.poll, args.port, args.send_poll
        ),
    )
    print(f"store {url.split('://')[0]}: {result}")
    emailed = result["emailed"] == result["stories"]
    fast = emailed and result["first_seen_p95_s"] < 2.0
    print("target first seen -> email p95 < 2 s:", "met" if fast else "MISSED")
    ok = emailed and result["publish_p95_s"] < args.poll + 5
    print(f"target publish -> email p95 < {args.poll + 5} s:", "met" if ok else "MISSED")


if __name__ == "__main__":
    main()

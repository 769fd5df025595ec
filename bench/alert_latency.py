"""Alert latency: new matching items -> email accepted by a local SMTP server.

    python bench/alert_latency.py [--items 300] [--rate 20] [--store URL]

Items arrive at ``--rate`` per second in batches of five (each a new story, so each makes
an alert), are matched by the real matcher, stored (SQLite in a temporary folder unless
``--store`` names another, e.g. an Elasticsearch node) and handed to the alerting intake;
a sender thread sends the outbox to an aiosmtpd server in this process, which notes when
it accepted each message. Reported: p50/p95/max of first seen -> accepted, per alert.

Target: p95 < 2 s.
"""

from __future__ import annotations

import argparse
import email
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

# Run as a script, the repository root is not on sys.path; the packages live there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keywords.model import Library
from monitor.alerts.engine import Alerting
from monitor.alerts.links import AckLinks
from monitor.alerts.outbox import Sender
from monitor.alerts.stats import percentiles
from monitor.matcher import Matcher
from store import Item, Store, open_store
from store.elastic import ElasticStore
from yuqing.config import AlertsConfig, SmtpConfig

SH = ZoneInfo("Asia/Shanghai")
BATCH = 5
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


def run(store: Store, items: int, rate: float, port: int) -> dict[str, Any]:
    accepted = Accepted()
    server = Controller(accepted, hostname="127.0.0.1", port=port)
    server.start()
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
        while len(accepted.times) < items and time.time() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        sender.wake.set()
        thread.join()
        server.stop()
    latencies = []
    for alert in store.alerts.list(limit=items):
        sent = accepted.times.get(f"{alert.id}/duty@example.cn/new")
        if sent is not None:
            latencies.append(sent - first_seen[alert.item_id])
    figures = percentiles(latencies)
    return {
        "items": items,
        "emails": len(accepted.times),
        "p50_s": figures["p50"],
        "p95_s": figures["p95"],
        "max_s": round(max(latencies), 3) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="items per second")
    parser.add_argument("--store", default="", help="store URL (default: SQLite, temporary)")
    parser.add_argument("--port", type=int, default=8625, help="SMTP port to listen on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store or f"sqlite:///{tmp}/bench.db"
        options = {"prefix": f"bench-{uuid.uuid4().hex[:8]}-"} if url.startswith("http") else {}
        store = open_store(url, **options)
        try:
            result = run(store, args.items, args.rate, args.port)
        finally:
            if isinstance(store, ElasticStore):  # leave no benchmark indices behind
                for index in store.es.indices.get(index=f"{store.prefix}*"):
                    store.es.indices.delete(index=index)
            store.close()
    print(f"store {url.split('://')[0]}: {result}")
    ok = result["p95_s"] is not None and result["p95_s"] < 2.0 and result["emails"] == args.items
    print("target p95 < 2 s:", "met" if ok else "MISSED")


if __name__ == "__main__":
    main()

"""What the alerting tests share: a settable clock, stories and an Alerting on a store."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.alerts.engine import Alerting
from monitor.alerts.links import AckLinks
from store import Item, Store
from store.model import LibraryVersion
from yuqing.config import AlertsConfig

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)  # a Friday morning
RULE = "潼南火灾"
RULES = (RULE, "潼南疫情")
SECRET = "test-secret-key"
RECIPIENTS = ["duty@example.cn", "chief@example.cn"]


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def story(
    n: int,
    *,
    event: str | None = None,
    title: str = "",
    at: datetime | None = None,
    rule: str = RULE,
    body: str = "现场浓烟滚滚，消防已到场处置。",
) -> Item:
    """A matched item: ``event`` is the first item's id for a repost."""
    title = title or f"潼南区双江镇第{n}号民房起火"
    start = title.index("起火")
    return Item(
        url=f"http://news.example.cn/{n}.html",
        title=title,
        body=body,
        first_seen=at or T0,
        source_id="tn-news",
        publish_time=(at or T0) - timedelta(minutes=10),
        rules=[rule],
        hits=[
            {"word": "起火", "group": "火灾词", "rule": rule, "field": "title"}
            | {"start": start, "end": start + 2}
        ],
        event_id=event,
    )


def config(**changes: object) -> AlertsConfig:
    values: dict[str, object] = {
        "public_url": "https://yq.example.cn",
        "recipients": RECIPIENTS,
        "admins": ["ops@example.cn"],
        "escalation": ["boss@example.cn"],
    }
    return AlertsConfig.model_validate(values | changes)


def alerting(store: Store, clock: Clock, **changes: object) -> Alerting:
    """Alerting on ``store`` whose library makes the rules critical."""
    if store.library.head() is None:
        rules = [{"name": r, "expression": "起火", "severity": "critical"} for r in RULES]
        store.library.commit(LibraryVersion(1, None, "张三", T0, "rules", {"rules": rules}))
    return Alerting(store, config(**changes), AckLinks(SECRET, 3600), clock)


def add(store: Store, alerts: Alerting, items: list[Item]) -> list[str]:
    """Store ``items`` then hand them to alerting, as the crawler does; new alert ids."""
    store.items.upsert_many(items)
    return [a.id for a in alerts.ingest(items)]


# For tests that alert on the demo site's seeded archive (published in 2021): the crawl
# takes it as news (see crawler.backfill), as if the site had been watched all along.
ARCHIVE_AS_NEWS = {
    "YUQING_ALERTS_BACKFILL_FIRST_CRAWL": "false",
    "YUQING_ALERTS_BACKFILL_HOURS": "87600",
}

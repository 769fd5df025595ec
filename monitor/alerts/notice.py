"""The message about one alert update, built once and channel-neutral.

The engine builds a :class:`Notice` when an alert is created, grows, is escalated or
nears a deadline, and stores it with each delivery (``OutboxMessage.notice``); every
channel renders the same notice its own way when it sends (email templates, chat
markdown and cards, SMS text, the webhook's JSON). Times are formatted once, in the
clock's zone, whose name the notice carries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from store.localtime import local_time

SEVERITY_LABELS = {"critical": "严重", "warning": "警告", "info": "提示"}
KIND_LABELS = {
    "new": "舆情{severity}",
    "update": "舆情更新",
    "recovered": "采集恢复",
    "escalate": "舆情超时",
    "remind": "即将超时",
    "test": "测试消息",
}
ENTRIES = 5  # the event's first items a notice lists
VERSION = 1  # of the notice's shape (the webhook's JSON carries it too)


@dataclass
class Entry:
    """One item of the event, as a notice lists it."""

    title: str
    source: str
    time: str
    url: str
    hits: list[dict[str, Any]] = field(default_factory=list)  # matched words in the title


@dataclass
class Notice:
    """What every channel says about one alert update."""

    kind: str  # new, update, recovered, escalate, remind, test
    alert_id: str
    rule: str
    severity: str
    title: str
    console_url: str
    base_url: str  # the console's public URL: acknowledge links hang off it
    zone: str  # the IANA name of the zone the times are in
    created: str  # ISO 8601
    hits: list[dict[str, Any]] = field(default_factory=list)  # matched words in the title
    emergency: bool = False
    source: str = ""
    region: str = ""
    url: str = ""  # the original of the event's first item
    published: str = ""
    first_seen: str = ""
    items: int = 1  # the event's size
    more: int = 0  # items since the previous notice (updates)
    entries: list[Entry] = field(default_factory=list)
    body: str = ""  # an excerpt of the first item around its first hit (email)
    body_hits: list[dict[str, Any]] = field(default_factory=list)
    deadline_label: str = ""  # the next handling step, e.g. 签收
    deadline: str = ""  # when it is due
    step_label: str = ""  # escalations and reminders: which step or chain level
    # The zone as people name it (北京时间); texts say it once, times leave it out.
    zone_name: str = ""
    # Raised by old news (a policy with include_backfill): no deadlines.
    backfill: bool = False
    version: int = VERSION

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS.get(self.severity, self.severity)

    @property
    def headline(self) -> str:
        """The one-line summary: ``【舆情严重】title`` and what changed."""
        label = KIND_LABELS.get(self.kind, "舆情").format(severity=self.severity_label)
        if self.kind == "update":
            return f"【{label}】{self.title}（新增 {self.more} 条）"
        if self.kind == "recovered":
            return f"【{label}】{self.source} 已恢复"
        if self.kind in ("escalate", "remind") and self.step_label:
            return f"【{label}】{self.title}（{self.step_label}）"
        return f"【{label}】{self.title}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notice:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["entries"] = [Entry(**e) for e in data.get("entries", [])]
        return cls(**values)


def merge(notices: list[Notice]) -> Notice:
    """One notice standing for several of one alert held back together (a rate limit, a
    quiet period): the first new-alert notice if there is one, else the earliest update,
    grown by the later ones (their new items added up, the latest size and entries)."""
    ordered = sorted(notices, key=lambda n: (n.kind != "new", n.created))
    first, latest = ordered[0], max(notices, key=lambda n: n.created)
    merged = Notice.from_dict(first.to_dict())
    merged.items = max(n.items for n in notices)
    merged.entries = latest.entries or first.entries
    merged.more = sum(n.more for n in notices if n.kind == "update")
    if merged.kind == "new":
        merged.more = 0  # the new-alert message gives the size as it is now
    merged.deadline_label, merged.deadline = latest.deadline_label, latest.deadline
    return merged


def when(t: datetime | None, zone: Any) -> str:
    """A time for a notice: ``2021-02-05 10:30`` in ``zone``; 未知 if unknown. A notice
    names its zone once (``Notice.zone_name``, 北京时间), so its times leave it out."""
    return local_time(t, zone, named=False)

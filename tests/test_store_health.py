"""Source health events: the contract, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from store import Store
from store.model import HealthEvent

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)


def test_health_events_newest_first_and_filtered(store: Store) -> None:
    for n, (source_id, kind) in enumerate([("a", "failing"), ("b", "silent"), ("a", "recovered")]):
        store.health_events.append(
            HealthEvent(source_id, T0 + timedelta(hours=n), kind, f"第{n}条", {"n": n})
        )
    events = store.health_events.list()
    assert [e.kind for e in events] == ["recovered", "silent", "failing"]
    assert events[0].time == T0 + timedelta(hours=2) and events[0].details == {"n": 2}
    assert all(e.id for e in events) and events[-1].message == "第0条"
    assert [e.kind for e in store.health_events.list(source_id="a")] == ["recovered", "failing"]
    assert [e.kind for e in store.health_events.list(since=T0 + timedelta(hours=1))] == [
        "recovered",
        "silent",
    ]
    assert len(store.health_events.list(limit=1)) == 1

"""Alert state (alerts, timelines, outbox, policies, emergency switches): the contract,
on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store import ConflictError, NotFound, Store
from store.model import (
    Alert,
    AlertPolicy,
    EmergencySwitch,
    OutboxMessage,
    TimelineEntry,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)


def alert(ident: str = "a1", **changes: object) -> Alert:
    values: dict[str, object] = {
        "id": ident,
        "rule": "潼南火灾",
        "event_id": "e1",
        "kind": "immediate",
        "severity": "critical",
        "title": "双江镇一民房起火",
        "item_id": "i1",
        "url": "http://example.cn/1",
        "source_id": "tn-news",
        "created": T0,
        "hits": [{"word": "起火", "field": "title", "start": 6, "end": 8}],
        "publish_time": T0 - timedelta(minutes=5),
    }
    return Alert(**(values | changes))  # type: ignore[arg-type]


def message(key: str, due: datetime = T0, **changes: object) -> OutboxMessage:
    values: dict[str, object] = {
        "key": key,
        "recipient": "duty@example.cn",
        "subject": "【舆情】起火",
        "text": "正文",
        "html": "<p>正文</p>",
        "created": T0,
        "due": due,
    }
    return OutboxMessage(**(values | changes))  # type: ignore[arg-type]


def test_one_alert_per_id_and_versioned_updates(store: Store) -> None:
    first = alert()
    assert store.alerts.create(first) and first.version
    assert not store.alerts.create(alert(title="另一条"))
    got = store.alerts.get("a1")
    assert got is not None and got.title == "双江镇一民房起火" and got.hits == first.hits
    assert got.publish_time == T0 - timedelta(minutes=5) and got.created.tzinfo is not None
    assert store.alerts.get("nope") is None

    got.status, got.acknowledged = "acknowledged", T0 + timedelta(minutes=3)
    stale = store.alerts.get("a1")
    assert stale is not None
    store.alerts.update(got)
    stale.status = "closed"
    with pytest.raises(ConflictError):
        store.alerts.update(stale)
    again = store.alerts.get("a1")
    assert again is not None and again.status == "acknowledged"
    assert again.acknowledged == T0 + timedelta(minutes=3) and again.version == got.version
    with pytest.raises(NotFound):
        store.alerts.update(alert("missing", version=again.version))


def test_alerts_listed_newest_first_and_filtered(store: Store) -> None:
    for n in range(3):
        a = alert(f"a{n}", created=T0 + timedelta(hours=n), rule="r1" if n < 2 else "r2")
        store.alerts.create(a)
    a1 = store.alerts.get("a1")
    assert a1 is not None
    a1.status = "closed"
    store.alerts.update(a1)
    assert [a.id for a in store.alerts.list()] == ["a2", "a1", "a0"]
    assert [a.id for a in store.alerts.list(status=["new"])] == ["a2", "a0"]
    assert [a.id for a in store.alerts.list(rule="r1")] == ["a1", "a0"]
    assert [a.id for a in store.alerts.list(since=T0 + timedelta(hours=1))] == ["a2", "a1"]
    assert len(store.alerts.list(limit=1)) == 1


def test_alerts_of_backfill_are_filtered_apart(store: Store) -> None:
    store.alerts.create(alert("news", created=T0))
    store.alerts.create(alert("old", created=T0 + timedelta(minutes=1), backfill=True))
    got = store.alerts.get("old")
    assert got is not None and got.backfill
    assert [a.id for a in store.alerts.list(backfill=True)] == ["old"]
    assert [a.id for a in store.alerts.list(backfill=False)] == ["news"]
    assert [a.id for a in store.alerts.list()] == ["old", "news"]


def test_timeline_is_kept_in_order(store: Store) -> None:
    for action in ("created", "notified", "acknowledged"):
        store.alert_timeline.append(TimelineEntry("a1", T0, "张三", action, details={"k": 1}))
    store.alert_timeline.append(TimelineEntry("a2", T0, "李四", "created"))
    entries = store.alert_timeline.list("a1")
    assert [e.action for e in entries] == ["created", "notified", "acknowledged"]
    assert all(e.id for e in entries) and entries[0].details == {"k": 1}
    assert entries[0].time == T0 and store.alert_timeline.list("none") == []


def test_outbox_is_idempotent_and_claims_are_checked(store: Store) -> None:
    assert store.outbox.add(message("a1/x@example.cn/new"))
    assert not store.outbox.add(message("a1/x@example.cn/new", subject="重复"))
    store.outbox.add(message("a2/x@example.cn/new", due=T0 + timedelta(minutes=1)))
    store.outbox.add(message("later", due=T0 + timedelta(hours=1)))
    assert [m.key for m in store.outbox.due(T0 + timedelta(minutes=1))] == [
        "a1/x@example.cn/new",
        "a2/x@example.cn/new",
    ]
    got = store.outbox.get("a1/x@example.cn/new")
    assert got is not None and got.subject == "【舆情】起火" and store.outbox.get("x") is None

    claim = store.outbox.get("a1/x@example.cn/new")
    assert claim is not None
    got.status, got.due = "sending", T0 + timedelta(minutes=5)
    store.outbox.update(got)
    claim.status = "sending"
    with pytest.raises(ConflictError):
        store.outbox.update(claim)
    # A claim that ran out is due again (its sender died).
    assert [m.key for m in store.outbox.due(T0 + timedelta(minutes=1))] == ["a2/x@example.cn/new"]
    assert "a1/x@example.cn/new" in [m.key for m in store.outbox.due(T0 + timedelta(minutes=5))]
    got.status, got.sent = "sent", T0 + timedelta(minutes=2)
    store.outbox.update(got)
    assert store.outbox.counts() == {"sent": 1, "pending": 2}
    assert [m.key for m in store.outbox.list(status="sent")] == ["a1/x@example.cn/new"]
    assert len(store.outbox.list()) == 3


def test_policies_and_emergency_switches(store: Store) -> None:
    saved = store.alert_policies.put(AlertPolicy("潼南火灾", {"mode": "threshold"}, T0, "张三"))
    assert saved.version
    store.alert_policies.put(AlertPolicy("A规则", {"mode": "immediate"}, T0))
    got = store.alert_policies.get("潼南火灾")
    assert got is not None and got.settings == {"mode": "threshold"} and got.updated == T0
    assert [p.rule for p in store.alert_policies.list()] == ["A规则", "潼南火灾"]
    got.settings = {"mode": "spike"}
    store.alert_policies.put(got)
    with pytest.raises(ConflictError):
        store.alert_policies.put(AlertPolicy("潼南火灾", {}, T0, version=saved.version))
    assert store.alert_policies.delete("A规则") and not store.alert_policies.delete("A规则")
    assert store.alert_policies.get("A规则") is None

    store.emergencies.put(EmergencySwitch("*", True, T0, "值班长", "暴雨", T0 + timedelta(hours=6)))
    switch = store.emergencies.get("*")
    assert switch is not None and switch.on and switch.until == T0 + timedelta(hours=6)
    switch.on = False
    store.emergencies.put(switch)
    assert [(s.scope, s.on) for s in store.emergencies.list()] == [("*", False)]
    assert store.emergencies.get("潼南火灾") is None

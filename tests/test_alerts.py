"""Alerting: policies, one alert per (rule, event), throttled updates, storms, modes,
emergency mode, quiet hours, escalation, health events. The storm and volume tests run
on both backends; the rest on SQLite (the store contract covers both)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerting_support import RECIPIENTS, RULE, T0, Clock, add, alerting, config, story

from monitor.alerts.engine import Alerting
from monitor.alerts.policy import PolicyError, parse_policy, save_policy
from store import Store, open_store
from store.model import OPEN_STATUSES, EmergencySwitch, LibraryVersion


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: for behaviour the store contract already pins down on both backends."""
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    yield store
    store.close()


def kinds(store: Store) -> list[str]:
    return sorted(m.key.split("/")[-1] for m in store.outbox.list(limit=10_000))


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"window_minutes": -5}, "window_minutes", "greater than or equal to 1"),
        ({"recipients": ["值班员"]}, "recipients", "not an email address"),
        ({"mode": "digest", "digest_times": ["25:00"]}, "digest_times", "not a time of day"),
        ({"mode": "digest", "digest_times": []}, "digest_times", "at least one time"),
        ({"mode": "hourly"}, "mode", "'immediate', 'threshold', 'spike' or 'digest'"),
        ({"treshold": 3}, "treshold", "Extra inputs are not permitted"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(
    settings: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(RULE, settings)
    assert info.value.field == field
    assert f"alert policy for {RULE}: {field}" in str(info.value) and words in str(info.value)


def test_a_refused_policy_changes_nothing(db: Store) -> None:
    save_policy(db, RULE, {"mode": "threshold", "threshold": 3}, "张三", T0)
    with pytest.raises(PolicyError):
        save_policy(db, RULE, {"mode": "threshold", "threshold": 0}, "张三", T0)
    stored = db.alert_policies.get(RULE)
    assert stored is not None and stored.settings == {"mode": "threshold", "threshold": 3}


def test_one_alert_per_event_and_throttled_updates(store: Store) -> None:
    clock = Clock()
    alerts = alerting(store, clock)
    first = story(1)
    [ident] = add(store, alerts, [first])
    assert kinds(store) == ["new", "new"]
    assert [e.action for e in store.alert_timeline.list(ident)] == ["created"]

    clock.advance(minutes=1)
    assert add(store, alerts, [story(n, event=first.id) for n in (2, 3, 4)]) == []
    alert = store.alerts.get(ident)
    assert alert is not None and alert.items == 4 and alert.severity == "critical"
    assert kinds(store) == ["new", "new"]  # reposts never alert again

    clock.advance(minutes=30)
    alerts.tick()
    updates = [m for m in store.outbox.list() if m.kind == "update"]
    assert sorted(m.recipient for m in updates) == sorted(RECIPIENTS)
    assert "新增 3 条" in updates[0].subject and "累计 4 条" in updates[0].text

    add(store, alerts, [story(5, event=first.id)])
    alerts.tick()  # within the interval: counted, not sent
    assert kinds(store).count("update-2") == 0
    clock.advance(minutes=30)
    alerts.tick()
    assert kinds(store).count("update-2") == 2


def test_a_storm_of_1000_reposts_makes_one_alert(store: Store) -> None:
    clock = Clock()
    alerts = alerting(store, clock)
    first = story(0)
    reposts = [first] + [
        story(n, event=first.id, at=T0 + timedelta(seconds=n * 0.06)) for n in range(1, 1000)
    ]
    created = []
    for start in range(0, 1000, 200):  # as crawl batches arrive within the minute
        created += add(store, alerts, reposts[start : start + 200])
        clock.advance(seconds=12)
    assert len(created) == 1
    alert = store.alerts.get(created[0])
    assert alert is not None and alert.items == 1000 and alert.updates == 0
    assert kinds(store) == ["new", "new"]
    clock.advance(minutes=30)
    alerts.tick()
    alerts.tick()
    assert kinds(store) == ["escalate-acknowledge", "new", "new", "update-1", "update-1"]
    # The first email covered the first batch (200 items); the update tells the rest.
    for m in store.outbox.list():
        assert "相似信息：199 条" in m.text if m.kind == "new" else True
        assert (
            "新增 800 条" in m.subject and "累计 1000 条" in m.text if m.kind == "update" else True
        )


def test_200_distinct_stories_make_200_alerts(store: Store) -> None:
    alerts = alerting(store, Clock())
    created = add(store, alerts, [story(n) for n in range(200)])
    assert len(set(created)) == 200
    assert len(store.alerts.list(limit=1000)) == 200
    assert store.outbox.counts() == {"pending": 400}


def test_a_burst_of_5000_items_is_processed_in_full(db: Store) -> None:
    alerts = alerting(db, Clock())
    firsts = [story(n) for n in range(50)]
    burst = firsts + [story(50 + n, event=firsts[n % 50].id) for n in range(4950)]
    created = add(db, alerts, burst)
    assert len(created) == 50
    assert sum(a.items for a in db.alerts.list(limit=100)) == 5000


def test_updates_wait_for_the_end_of_quiet_hours(db: Store) -> None:
    clock = Clock(T0.replace(hour=21, minute=50))
    alerts = alerting(db, clock, quiet_hours="22:00-07:00")
    first = story(1)
    add(db, alerts, [first])
    clock.advance(minutes=40)
    add(db, alerts, [story(2, event=first.id)])
    updates = [m for m in db.outbox.list() if m.kind == "update"]
    assert len(updates) == 2 and {m.due for m in updates} == {
        T0.replace(hour=7, minute=0) + timedelta(days=1)
    }


def test_threshold_alerts_once_per_window(store: Store) -> None:
    clock = Clock()
    alerts = alerting(store, clock)
    save_policy(
        store, RULE, {"mode": "threshold", "threshold": 5, "window_minutes": 60}, "张三", T0
    )
    assert add(store, alerts, [story(n) for n in range(4)]) == []
    created = add(store, alerts, [story(4)])
    assert len(created) == 1
    alert = store.alerts.get(created[0])
    assert alert is not None and alert.kind == "threshold"
    assert add(store, alerts, [story(5)]) == []
    alert = store.alerts.get(created[0])
    assert alert is not None and alert.items == 2


def test_spike_needs_the_factor_and_the_minimum(db: Store) -> None:
    clock = Clock(T0.replace(minute=0))
    alerts = alerting(db, clock)
    settings = {"mode": "spike", "window_minutes": 10, "spike_factor": 3, "spike_minimum": 5}
    save_policy(db, RULE, settings | {"baseline_windows": 3}, "张三", T0)
    # Baseline: two items in each of the three windows before (mean 2).
    db.items.upsert_many(
        [
            story(100 + w * 10 + k, at=clock.now - timedelta(minutes=10 * w + 5))
            for w in range(3)
            for k in range(2)
        ]
    )
    assert add(db, alerts, [story(n, at=clock.now) for n in range(5)]) == []  # 5 < 3 x 2
    created = add(db, alerts, [story(5, at=clock.now)])
    assert len(created) == 1
    alert = db.alerts.get(created[0])
    assert alert is not None and alert.kind == "spike"


def test_digest_is_built_from_stored_items_once_per_slot(db: Store) -> None:
    clock = Clock(T0.replace(hour=16))
    alerts = alerting(db, clock)
    save_policy(db, RULE, {"mode": "digest", "digest_times": ["08:00", "17:00"]}, "张三", T0)
    assert add(db, alerts, [story(n, at=clock.now) for n in range(3)]) == []
    assert db.outbox.counts() == {}
    clock.now = T0.replace(hour=17, minute=1)
    alerts.tick()
    alerts.tick()
    digests = db.outbox.list()
    assert sorted(m.recipient for m in digests) == sorted(RECIPIENTS)
    assert "3 条" in digests[0].subject and "<mark>起火</mark>" in digests[0].html


def test_emergency_alerts_at_once_through_quiet_hours_and_is_audited(db: Store) -> None:
    clock = Clock(T0.replace(hour=23))
    calls: list[tuple[EmergencySwitch, list[str] | None, int]] = []
    alerts = alerting(db, clock, quiet_hours="22:00-07:00")
    alerts.crawl_hook = lambda switch, tags, interval: calls.append((switch, tags, interval))
    [quiet] = add(db, alerts, [story(1)])
    held = db.outbox.list()
    assert all(m.due == T0.replace(hour=7, minute=0) + timedelta(days=1) for m in held)
    assert db.outbox.due(clock.now) == []

    rule = "潼南疫情"
    save_policy(db, rule, {"mode": "digest", "source_tags": ["government"]}, "张三", T0)
    alerts.emergency(rule, True, "值班长", reason="疫情通报")
    assert calls[0][0].on and calls[0][1:] == (["government"], 60)
    created = add(db, alerts, [story(2, title="潼南确诊起火", rule=rule)])
    assert len(created) == 1
    alert = db.alerts.get(created[0])
    assert alert is not None and alert.emergency and alert.kind == "immediate"
    assert {m.alert_id for m in db.outbox.due(clock.now)} == {created[0]}

    alerts.emergency(rule, False, "值班长")
    assert not calls[1][0].on
    audit = db.audit.list(target=f"emergency:{rule}")
    assert [(a.action, a.actor) for a in audit] == [
        ("emergency.off", "值班长"),
        ("emergency.on", "值班长"),
    ]
    assert add(db, alerts, [story(3, title="潼南确诊起火", rule=rule)]) == []  # digest again
    assert quiet


def test_quiet_weekends_hold_until_monday() -> None:
    settings = config(quiet_weekends=True, quiet_hours="22:00-07:00")
    alerts = Alerting(None, settings, None, Clock())  # type: ignore[arg-type]
    saturday = T0 + timedelta(days=1)
    assert alerts.quiet_until(saturday) == T0.replace(day=8, hour=7, minute=0)
    assert alerts.quiet_until(T0) is None


def test_overdue_alerts_escalate_once_per_deadline(db: Store) -> None:
    clock = Clock()
    alerts = alerting(db, clock)
    [ident] = add(db, alerts, [story(1)])
    clock.advance(minutes=29)
    alerts.tick()
    assert not [m for m in db.outbox.list() if m.kind == "escalate"]
    clock.advance(minutes=2)
    alerts.tick()
    alerts.tick()
    escalations = [m for m in db.outbox.list() if m.kind == "escalate"]
    assert [m.recipient for m in escalations] == ["boss@example.cn"]
    assert "签收" in escalations[0].subject
    alerts.tickets.acknowledge(ident, "张三")
    clock.advance(hours=5)
    alerts.tick()
    assert kinds(db).count("escalate-guidance") == 1
    assert [e.action for e in db.alert_timeline.list(ident)].count("escalated") == 2


def test_health_events_go_to_administrators(db: Store) -> None:
    clock = Clock()
    alerts = alerting(db, clock)
    alert = alerts.health_event("tn-news", "silent", "6 小时没有新内容")
    assert alert is not None and alert.recipients == ["ops@example.cn"]
    assert alerts.health_event("tn-news", "silent", "仍然没有")
    assert len(db.alerts.list()) == 1
    alerts.health_event("tn-news", "recovered", "恢复")
    assert db.alerts.list(status=OPEN_STATUSES) == []
    assert kinds(db) == ["new", "recovered"]


def test_negativity_raises_a_new_alerts_severity(db: Store) -> None:
    clock = Clock()
    db.library.commit(
        LibraryVersion(1, None, "张三", T0, "rules", {"rules": [
            {"name": RULE, "expression": "起火", "severity": "warning"}
        ]})
    )  # fmt: skip
    engine = alerting(db, clock, raise_at_negative=0.8)
    calm, grim = story(1), story(2, title="潼南区双江镇民房起火致两人死亡")
    calm.negative, grim.negative = 0.5, 0.95
    first, second = add(db, engine, [calm]), add(db, engine, [grim])
    assert db.alerts.get(first[0]).severity == "warning"  # type: ignore[union-attr]
    raised = db.alerts.get(second[0])
    assert raised is not None and raised.severity == "critical" and raised.negative == 0.95

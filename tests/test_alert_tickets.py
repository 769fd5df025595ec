"""Alerts as tickets: lifecycle, refused actions, one-click acknowledge links, concurrent
acknowledgement (on both backends) and the report figures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from alerting_support import SECRET, T0, Clock, add, alerting, story

from monitor.alerts.links import AckLinks, LinkError
from monitor.alerts.stats import report
from monitor.alerts.tickets import TicketError
from store import Store, open_store
from yuqing.config import AlertsConfig


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: for behaviour the store contract already pins down on both backends."""
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    yield store
    store.close()


def test_lifecycle_and_refused_transitions(store: Store) -> None:
    clock = Clock()
    alerts = alerting(store, clock)
    [ident] = add(store, alerts, [story(1)])
    tickets = alerts.tickets
    clock.advance(minutes=5)
    tickets.acknowledge(ident, "张三")
    with pytest.raises(TicketError, match="assignee"):
        tickets.assign(ident, "张三", "")
    assert tickets.assign(ident, "张三", "王五").assignee == "王五"
    tickets.handle(ident, "张三", assignee="李四")
    with pytest.raises(TicketError, match="guidance"):
        tickets.respond(ident, "李四", " ")
    tickets.respond(ident, "李四", "https://www.cqtn.gov.cn/notice/1")
    with pytest.raises(TicketError, match="reason: must be one of handled"):
        tickets.close(ident, "李四", "done")
    closed = tickets.close(ident, "李四", "handled", "已处置")
    assert closed.status == "closed" and closed.assignee == "李四"
    assert closed.acknowledged == T0 + timedelta(minutes=5) and closed.guidance.startswith("https")

    with pytest.raises(TicketError, match=f"cannot close alert {ident}: it is closed"):
        tickets.close(ident, "王五", "duplicate")
    after = store.alerts.get(ident)
    assert after is not None and after.version == closed.version and after.close_reason == "handled"
    actions = [(e.actor, e.action) for e in store.alert_timeline.list(ident)]
    assert actions == [
        ("yuqing", "created"),
        ("张三", "acknowledge"),
        ("张三", "assign"),
        ("张三", "handle"),
        ("李四", "respond"),
        ("李四", "close"),
        ("王五", "close_refused"),
    ]
    with pytest.raises(TicketError, match="no alert nope"):
        tickets.acknowledge("nope", "张三")
    assert store.alert_timeline.list("nope") == []


def test_console_and_email_acknowledge_at_once(store: Store) -> None:
    alerts = alerting(store, Clock())
    [ident] = add(store, alerts, [story(1)])
    token = AckLinks(SECRET, 3600).token(ident, "duty@example.cn")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def act(name: str, action: object) -> None:
        start.wait()
        try:
            action()  # type: ignore[operator]
            outcomes.append(f"{name} won")
        except TicketError:
            outcomes.append(f"{name} refused")

    threads = [
        threading.Thread(
            target=act, args=("console", lambda: alerts.tickets.acknowledge(ident, "张三"))
        ),
        threading.Thread(
            target=act, args=("email", lambda: alerts.tickets.acknowledge_by_link(token))
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split()[1] for o in outcomes) == ["refused", "won"]
    entries = store.alert_timeline.list(ident)
    assert sorted(e.action for e in entries) == ["acknowledge", "acknowledge_refused", "created"]
    winner = next(e for e in entries if e.action == "acknowledge")
    alert = store.alerts.get(ident)
    assert alert is not None and alert.status == "acknowledged"
    assert alert.acknowledged == winner.time


def test_links_refuse_replay_tampering_and_age(db: Store) -> None:
    alerts = alerting(db, Clock())
    [ident, other] = add(db, alerts, [story(1), story(2)])
    links = AckLinks(SECRET, 3600)
    token = links.token(ident, "duty@example.cn")
    acked = alerts.tickets.acknowledge_by_link(token)
    assert acked.status == "acknowledged"
    entry = db.alert_timeline.list(ident)[-1]
    assert (entry.actor, entry.details["via"]) == ("duty@example.cn", "email")
    with pytest.raises(LinkError, match="already been used"):
        alerts.tickets.acknowledge_by_link(token)
    forged = links.token(other, "duty@example.cn")
    with pytest.raises(LinkError, match="not valid"):
        alerts.tickets.acknowledge_by_link(forged[:-2] + ("A" if forged[-1] != "A" else "B") * 2)
    with pytest.raises(LinkError, match="not valid"):
        AckLinks("another-secret", 3600).verify(forged)
    short = AckLinks(SECRET, 60)
    old = short.token(other, "duty@example.cn")
    short.verify(old)  # within the minute
    with (
        time_machine.travel(datetime.now(UTC) + timedelta(seconds=61), tick=False),
        pytest.raises(LinkError, match="expired"),
    ):
        short.verify(old)
    still = db.alerts.get(other)
    assert still is not None and still.status == "new"


def test_report_figures(db: Store) -> None:
    clock = Clock()
    alerts = alerting(db, clock)
    tickets = alerts.tickets
    ids = add(db, alerts, [story(n) for n in range(4)])
    fp = add(
        db,
        alerts,
        [story(10 + n, title=f"潼南消防演练{n}号楼起火", body="演练现场") for n in range(2)],
    )
    for n, ident in enumerate(ids):
        clock.now = T0 + timedelta(minutes=10 * (n + 1))
        tickets.acknowledge(ident, "张三")
        tickets.respond(ident, "张三", "通报链接")
        tickets.close(ident, "张三", "handled")
    clock.now = T0 + timedelta(hours=30)
    for ident in fp:
        tickets.close(ident, "张三", "false_positive")
    figures = report(db, AlertsConfig().deadlines, T0 - timedelta(days=1))
    assert figures["alerts"] == 6 and figures["per_severity"] == {"critical": 6}
    assert figures["time_to_acknowledge"] == {"p50": 1200.0, "p95": 2400.0}
    # Acknowledged at 10, 20, 30 and 40 minutes: the last missed the 30-minute deadline.
    assert figures["on_time_rate"] == 0.75
    rule = figures["rules"]["潼南火灾"]
    assert rule["precision"] == round(4 / 6, 3) and rule["false_positives"] == 2
    assert "演练" in rule["exclusion_suggestions"] and "民房" not in rule["exclusion_suggestions"]
    assert figures["latency"]["publish_to_first_seen"]["p50"] == 600.0

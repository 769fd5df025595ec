"""Email and the outbox against a real SMTP server (aiosmtpd on 127.0.0.1): rendering
and escaping, SMTP down then up, permanent failures, and a sender killed mid-send."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerting_support import SECRET, Clock, add, alerting, story
from mailsink import MailSink, free_port
from waiting import wait_for

from monitor.alerts.links import AckLinks
from monitor.alerts.outbox import Sender
from monitor.alerts.policy import save_policy
from store import Store, open_store
from yuqing.config import SmtpConfig


@pytest.fixture
def sink() -> Iterator[MailSink]:
    server = MailSink().start()
    yield server
    server.release.set()
    server.stop()


def sender(store: Store, port: int, clock: Clock) -> Sender:
    return Sender(store, SmtpConfig(port=port, timeout=5), clock, base_delay=5)


def test_alert_email_escapes_crawled_text_and_highlights(store: Store, sink: MailSink) -> None:
    clock = Clock()
    alerts = alerting(store, clock)
    title = '<script>alert("x")</script>潼南起火<img src="http://evil.example/t.png">'
    item = story(1, title=title, body="据网友爆料，双江镇一民房起火，<b>现场</b>浓烟滚滚。")
    item.hits.append({"word": "起火", "rule": "潼南火灾", "field": "body", "start": 12, "end": 14})
    [ident] = add(store, alerts, [item])
    assert sender(store, sink.port, clock).run_once() == 2
    mail = sink.received[0]
    assert mail.message.get_content_type() == "multipart/alternative"
    html, text = mail.part("html"), mail.part("plain")
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img" not in html and "<b>现场</b>" not in html and "&lt;b&gt;现场" in html
    assert "潼南<mark>起火</mark>" in html and "一民房<mark>起火</mark>" in html
    assert "潼南【起火】" in text and "相似信息：0 条" in text
    assert f"https://yq.example.cn/alerts/{ident}" in html
    assert f"https://yq.example.cn/alerts/{ident}/ack?t=" in text
    assert mail.message["Subject"].startswith("【舆情严重】")
    token = text.split("/ack?t=")[1].split()[0]
    claim = AckLinks(SECRET, 3600).verify(token)
    assert (claim.alert_id, claim.recipient) == (ident, mail.recipients[0])
    alert = store.alerts.get(ident)
    assert alert is not None and alert.emailed == clock.now
    assert [e.action for e in store.alert_timeline.list(ident)] == ["created", "emailed", "emailed"]


def test_smtp_down_then_up_delivers_each_message_once(store: Store) -> None:
    clock = Clock()
    alerts = alerting(store, clock)
    add(store, alerts, [story(n) for n in range(20)])
    server = MailSink(free_port())  # not listening yet: the server is down
    send = sender(store, server.port, clock)
    assert send.run_once() == 0
    waiting = store.outbox.list(limit=100)
    assert len(waiting) == 40 and {(m.status, m.attempts) for m in waiting} == {("pending", 1)}
    assert {m.due for m in waiting} == {clock.now + timedelta(seconds=5)}
    clock.advance(seconds=5)
    assert send.run_once() == 0
    assert {m.due for m in store.outbox.list(limit=100)} == {
        clock.now + timedelta(seconds=10)
    }  # doubled
    server.start()
    try:
        clock.advance(seconds=1)
        assert send.run_once() == 0  # not due yet: backing off
        clock.advance(seconds=10)
        assert send.run_once() == 40
        assert send.run_once() == 0
        keys = server.keys()
        assert len(keys) == 40 and len(set(keys)) == 40
        assert store.outbox.counts() == {"sent": 40}
    finally:
        server.stop()


def test_permanent_failures_are_recorded_not_retried(tmp_path: Path, sink: MailSink) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    clock = Clock()
    alerts = alerting(store, clock)
    save_policy(
        store,
        "潼南火灾",
        {"recipients": ["duty@example.cn", "nobody@example.cn"]},
        "张三",
        clock.now,
    )
    sink.refuse.add("nobody@example.cn")
    [ident] = add(store, alerts, [story(1)])
    send = sender(store, sink.port, clock)
    assert send.run_once() == 1
    clock.advance(hours=1)
    assert send.run_once() == 0
    failed = store.outbox.list(status="failed")
    assert [m.recipient for m in failed] == ["nobody@example.cn"] and "550" in failed[0].error
    assert failed[0].attempts == 1 and len(sink.received) == 1
    actions = [e.action for e in store.alert_timeline.list(ident)]
    assert sorted(actions) == ["created", "email_failed", "emailed"]
    store.close()


def test_sender_killed_mid_send_loses_and_doubles_nothing(tmp_path: Path, sink: MailSink) -> None:
    path = tmp_path / "yuqing.db"
    store = open_store(f"sqlite:///{path}")
    add(store, alerting(store, Clock()), [story(n) for n in range(15)])
    expected = sorted(m.key for m in store.outbox.list(limit=100))
    assert len(expected) == 30
    held = threading.Event()

    def hold(number: int) -> bool:
        if number == 10 and not held.is_set():
            held.set()
            return True
        return False

    sink.hold = hold
    env = os.environ | {
        "YUQING_STORE": f"sqlite:///{path}",
        "YUQING_SMTP_PORT": str(sink.port),
        "YUQING_API_SECRET_KEY": SECRET,
    }
    command = [str(Path(sys.executable).parent / "yuqing"), "send-outbox", "--lease", "2"]
    # One connection, so the kill lands while no other message is between the server's
    # acceptance and its record (that gap is inherent to SMTP; see monitor/alerts/outbox.py).
    command += ["--poll", "0.2", "--workers", "1"]
    first = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        assert held.wait(30), "the sender never reached the tenth message"
        first.send_signal(signal.SIGKILL)  # while the server has not yet accepted it
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    sink.release.set()
    assert len(sink.received) == 9
    second = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        sink.wait_for(30)
        wait_for("every message recorded as sent", lambda: store.outbox.counts() == {"sent": 30})
    finally:
        second.terminate()
        second.wait(10)
    # The senders are gone: what the server holds now is all it will ever get.
    assert sorted(sink.keys()) == expected
    assert store.outbox.counts() == {"sent": 30}
    retried = [m for m in store.outbox.list(limit=100) if m.attempts == 2]
    assert len(retried) == 1
    store.close()

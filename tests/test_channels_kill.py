"""A sender SIGKILLed mid-send, for every channel, as tests/test_alert_email.py does for
email: real ``yuqing send-outbox`` processes against the fake platforms on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from alerting_support import SECRET, Clock, add, alerting, story
from channel_support import KINDS, add_channels
from waiting import wait_for

from devtools.fakeplatforms import FakePlatforms
from store import open_store


@pytest.fixture
def fakes() -> Iterator[FakePlatforms]:
    server = FakePlatforms().start()
    yield server
    server.release.set()
    server.stop()


@pytest.mark.parametrize("channel", list(KINDS))
def test_sender_killed_mid_send_loses_and_doubles_nothing(
    channel: str, tmp_path: Path, fakes: FakePlatforms
) -> None:
    """As tests/test_alert_email.py does for email, for every channel: the platform holds
    the third request unanswered, the sending process is SIGKILLed, a second one takes
    over when the claim runs out, and every delivery reached the platform exactly once."""
    path = tmp_path / "yuqing.db"
    store = open_store(f"sqlite:///{path}")
    sms = KINDS[channel].startswith("sms")
    # An SMS number takes one message a minute: one alert to six numbers instead.
    phones = [f"1380000000{n}" for n in range(1, 7)]
    add_channels(store, fakes, only=[channel], phones=phones)
    alerts = alerting(store, Clock(), recipients=[])
    add(store, alerts, [story(1)] if sms else [story(n) for n in range(6)])
    expected = sorted(m.key for m in store.outbox.list(limit=100))
    assert len(expected) == 6 and {m.channel for m in store.outbox.list(limit=100)} == {channel}
    held = threading.Event()

    def hold(number: int) -> bool:
        if number == 3 and not held.is_set():
            held.set()
            return True
        return False

    fakes.hold = hold
    env = os.environ | {"YUQING_STORE": f"sqlite:///{path}", "YUQING_API_SECRET_KEY": SECRET}
    env |= {"YUQING_CONFIG": str(tmp_path / "none.toml"), "YUQING_DATA_DIR": str(tmp_path)}
    (tmp_path / "none.toml").write_text("")
    command = [str(Path(sys.executable).parent / "yuqing"), "send-outbox", "--lease", "2"]
    command += ["--poll", "0.2", "--workers", "1"]
    first = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        assert held.wait(30), "the sender never reached the third message"
        first.send_signal(signal.SIGKILL)  # while the platform has not answered it
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    fakes.release.set()
    assert len(fakes.received) == 2
    second = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        fakes.wait_for(6)
        wait_for("every delivery recorded", lambda: store.outbox.counts() == {"sent": 6}, 30)
    finally:
        second.terminate()
        second.wait(10)
    assert store.outbox.counts() == {"sent": 6}
    # Past the claim: nothing more arrived, nothing twice.
    assert len(fakes.received) == 6 and not [r for r in fakes.refused if r[0] != "webhook"]
    robots = Counter(r.robot for r in fakes.received)
    assert robots == (Counter(phones) if sms else Counter({next(iter(robots)): 6}))
    retried = [m for m in store.outbox.list(limit=100) if m.attempts == 2]
    assert len(retried) == 1
    store.close()

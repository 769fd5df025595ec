"""Two ``yuqing run`` processes with mail share a store: one sends, the other stands by.
The sender is killed with SIGKILL; the standby takes over within 30 s, and every email
goes out exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from mailsink import MailSink
from waiting import wait_for

from store import Store
from store.elastic import ElasticStore
from store.model import OutboxMessage

YUQING = [str(Path(sys.executable).parent / "yuqing")]
TAKEOVER = 30.0


def enqueue(store: Store, start: int, count: int) -> set[str]:
    now = datetime.now(UTC)
    keys = set()
    for n in range(start, start + count):
        key = f"takeover:{n}"
        store.outbox.add(
            OutboxMessage(
                key=key,
                recipient="duty@example.cn",
                subject=f"接管测试 {n}",
                text=f"第 {n} 封",
                html=f"<p>第 {n} 封</p>",
                created=now,
                due=now,
            )
        )
        keys.add(key)
    return keys


def test_a_standby_takes_over_the_mail_when_the_sender_is_killed(
    store: Store, tmp_path: Path
) -> None:
    sink = MailSink().start()
    (tmp_path / "yuqing.toml").write_text(f"[smtp]\nport = {sink.port}\n")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"YUQING_STORE": store.url, "YUQING_CONFIG": str(tmp_path / "yuqing.toml")}
    if isinstance(store, ElasticStore):
        env["YUQING_STORE_PREFIX"] = store.prefix
    log = (tmp_path / "service.log").open("a")
    processes: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [*YUQING, "run", "--no-crawl", "--no-api"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True,
        )  # fmt: skip
        processes.append(process)
        return process

    def holder_pid() -> int | None:
        lease = store.leases.get("mail")
        return int(lease.holder.split(":")[1]) if lease is not None else None

    def received() -> list[str]:
        return [r.key for r in sink.received]

    try:
        first = start()
        wait_for("the first process to hold the lease", lambda: holder_pid() == first.pid)
        second = start()
        sent = enqueue(store, 0, 10)
        wait_for("the first ten emails", lambda: len(received()) == 10)
        # The standby is up and asking: it must have sent nothing.
        assert holder_pid() == first.pid

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed = time.monotonic()
        sent |= enqueue(store, 10, 10)
        wait_for("the standby to take over", lambda: holder_pid() == second.pid, TAKEOVER)
        wait_for("the emails after the kill", lambda: len(received()) >= 20, TAKEOVER)
        assert time.monotonic() - killed < TAKEOVER

        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
        assert store.leases.get("mail") is None  # given up on a clean stop
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        log.close()
        sink.stop()
    # Every email exactly once (counted after the clean stop: nothing came late).
    assert sorted(received()) == sorted(sent)
    assert store.outbox.counts().get("sent") == 20

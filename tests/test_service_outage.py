"""``yuqing run`` started while its Elasticsearch store is unreachable: the API port answers
503 (health says the store is the part that is down), the log has one line per attempt,
and the service comes up by itself when the store does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tcpproxy import Forwarder
from test_service import free_port
from waiting import wait_for

YUQING = str(Path(sys.executable).parent / "yuqing")


def health(port: int) -> tuple[int, dict[str, Any], str] | None:
    """Status, body and Retry-After of /api/health; None while the port is closed."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as r:
            return r.status, json.load(r), r.headers.get("Retry-After", "")
    except urllib.error.HTTPError as e:
        return e.code, json.load(e), e.headers.get("Retry-After", "")
    except OSError:
        return None


def events(log: Path, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e for e in lines if e.get("event") == name]


def answers(port: int, status: int, saying: str = "") -> Callable[[], Any]:
    def check() -> Any:
        found = health(port)
        return found is not None and found[0] == status and saying in str(found[1]) and found

    return check


def test_run_waits_for_an_unreachable_store_and_recovers(
    es_url: str, es_prefix: str, tmp_path: Path
) -> None:
    target = urlsplit(es_url)
    forwarder = Forwarder((target.hostname or "127.0.0.1", target.port or 9200))  # not started
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {
        "YUQING_STORE": forwarder.url,
        "YUQING_STORE_PREFIX": es_prefix,
        "YUQING_API_PORT": str(port),
        "YUQING_DATA_DIR": str(tmp_path / "var"),
    }
    log = tmp_path / "service.log"
    with log.open("w") as err:
        service = subprocess.Popen(
            [YUQING, "run", "--no-crawl", "--no-mail", "--retry", "1"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True,
        )  # fmt: skip
    try:
        _, body, retry = wait_for(
            "a 503 naming the outage", answers(port, 503, "not reachable"), 60
        )
        assert body["status_of"] == {"api": "ok", "store": "unavailable"}
        assert forwarder.url in body["detail"] and retry.isdigit()
        wait_for("two attempts logged", lambda: len(events(log, "store_unavailable")) >= 2, 60)
        # One line per attempt, each naming the store: no connection tracebacks.
        assert all(e["url"] == forwarder.url for e in events(log, "store_unavailable"))
        assert not any("Traceback" in line for line in log.read_text().splitlines())

        forwarder.start()
        _status, body, _ = wait_for("the service to come up", answers(port, 200), 90)
        assert body["status_of"]["store"] == "ok"
        assert events(log, "store_available") and events(log, "started")
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
        forwarder.stop()

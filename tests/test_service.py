"""``yuqing run`` as a real process: the demo site (``yuqing-dev demo-site``), the mail catcher
and the service on a fresh store, stopped with SIGTERM and started again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alerting_support import ARCHIVE_AS_NEWS
from click.testing import CliRunner
from waiting import wait_for

from devtools.mailcatcher import MailCatcher
from store import Store
from store.elastic import ElasticStore
from store.model import CrawlRun, Source
from yuqing.cli import main

YUQING = [str(Path(sys.executable).parent / "yuqing")]
LIBRARY = Path(__file__).parent.parent / "keywords" / "samples" / "tongnan.yaml"
# Fast crawls for the test; politeness defaults are exercised in tests/test_crawl_units.py.
CRAWL = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=WARNING",
    "-s", "HTTPPROXY_ENABLED=false", "-s", "YUQING_STORE_FLUSH_SECONDS=0.5",
    "-s", "DOWNLOAD_TIMEOUT=200",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return json.load(answer)
    except OSError:
        return None


@dataclass
class Setup:
    root: Path
    env: dict[str, str]
    api: str
    demo: str
    mail: MailCatcher
    store: Store

    def start(self, *args: str) -> subprocess.Popen[str]:
        with (self.root / "service.log").open("a") as log:
            return subprocess.Popen(
                [*YUQING, "run", "--workers", "2", *args, *CRAWL],
                cwd=self.root, env=self.env, stdout=subprocess.DEVNULL, stderr=log, text=True,
            )  # fmt: skip

    def events(self) -> list[dict[str, Any]]:
        """Every log line of the service, each one JSON object."""
        lines = (self.root / "service.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def cli(self, *args: str) -> str:
        """A ``yuqing`` command run in this process (a subprocess costs seconds)."""
        env: dict[str, str | None] = {k: None for k in os.environ if k.lower().endswith("_proxy")}
        done = CliRunner().invoke(main, list(args), env=env | self.env, catch_exceptions=False)
        assert done.exit_code == 0, done.output
        return done.output


@pytest.fixture
def setup(store: Store, tmp_path: Path) -> Iterator[Setup]:
    api, smtp, demo_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"YUQING_STORE": store.url, "YUQING_CONFIG": str(tmp_path / "yuqing.toml")}
    # The demo's 2021 archive is alerted on here: as news, not backfill (test_backfill).
    env |= ARCHIVE_AS_NEWS
    if isinstance(store, ElasticStore):
        env["YUQING_STORE_PREFIX"] = store.prefix
    (tmp_path / "yuqing.toml").write_text(
        f'[api]\nport = {api}\n[smtp]\nport = {smtp}\n[alerts]\nrecipients = ["duty@example.cn"]\n'
    )
    demo = subprocess.Popen(
        [str(Path(sys.executable).parent / "yuqing-dev"), "demo-site", "--port", str(demo_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    mail = MailCatcher(tmp_path / "mail", port=smtp).start()
    base = f"http://127.0.0.1:{demo_port}"
    try:
        here = Setup(tmp_path, env, f"http://127.0.0.1:{api}/api/health", base, mail, store)
        here.cli("keywords", "import", str(LIBRARY), "--author", "test")
        news = Source(id="news", name="要闻", type="list", start_urls=[f"{base}/news/"],
                      interval=600, selectors={"links": "ul.list a::attr(href)"})  # fmt: skip
        # A page that answers after two minutes: its crawl is still running at shutdown.
        slow = Source(id="slow", name="慢", type="page", interval=600,
                      start_urls=[f"{base}/bad/slow.html?delay=120"])  # fmt: skip
        store.sources.put(news)
        store.sources.put(slow)
        wait_for("the demo site", lambda: demo_up(base))
        yield here
    finally:
        mail.stop()
        demo.terminate()
        demo.wait(10)


def demo_up(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/news/", timeout=2):
            return True
    except OSError:
        return False


def stop(service: subprocess.Popen[str]) -> int:
    service.send_signal(signal.SIGTERM)
    return service.wait(30)


def test_run_stop_and_restart(setup: Setup, store: Store) -> None:
    service = setup.start("--grace", "3")
    try:
        health = wait_for("/api/health", lambda: get(setup.api), timeout=60)
        assert health["status"] == "ok"
        # The news crawl: items, hits, alerts, emails in the catcher.
        wait_for("a finished crawl", lambda: finished(store, "news"), timeout=60)
        wait_for("an alert email", setup.mail.messages, timeout=30)
        wait_for("the slow crawl", lambda: running(store, "slow"), timeout=10)
    finally:
        code = stop(service)
    assert code == 0

    events = setup.events()
    names = [e["event"] for e in events]
    assert names[-1] == "stopped" and "stopping" in names and "started" in names
    crawl = next(e for e in events if e["event"] == "crawl" and e["source"] == "news")
    assert crawl["outcome"] == "ok" and crawl["new_items"] > 0 and crawl["hits"] > 0
    alerts = [e for e in events if e["event"] == "alert"]
    assert alerts and all(a["rule"].startswith("潼南") for a in alerts)
    assert any(e["event"] == "emails" and e["sent"] > 0 for e in events)
    # Nothing left running: the slow crawl was stopped and recorded as abandoned.
    runs = {s: store.runs.recent(s) for s in ("news", "slow")}
    assert all(r.outcome != "running" for rs in runs.values() for r in rs)
    assert runs["slow"][0].outcome == "abandoned"
    # The outbox is intact: every email sent or still pending, none half-claimed.
    counts = store.outbox.counts()
    assert counts.get("sent", 0) == len(setup.mail.messages()) and not counts.get("sending")

    state = json.loads(setup.cli("status", "--json"))
    assert state["store"]["ok"] and not state["api"]["up"]
    assert state["outbox"]["sent"] == counts["sent"]
    assert sum(state["alerts"].values()) == len(store.alerts.list()) > 0
    news = next(s for s in state["sources"] if s["id"] == "news")
    last = runs["news"][0]
    assert news["outcome"] == "ok" and news["last_run"] == last.started.isoformat()
    assert news["next_run"] == (last.started + timedelta(seconds=600)).isoformat()
    text = setup.cli("status")
    assert "news" in text and "abandoned" in text and "API       无应答" in text

    # A restart resumes the schedule: the news source runs its interval after its last run.
    service = setup.start("--grace", "3")
    try:
        wait_for("/api/health after the restart", lambda: get(setup.api), timeout=60)
        assert json.loads(setup.cli("status", "--json"))["api"]["up"]
    finally:
        assert stop(service) == 0
    scheduled = [e for e in setup.events() if e["event"] == "scheduled" and e["source"] == "news"]
    assert len(scheduled) == 2
    resumed = datetime.fromisoformat(scheduled[-1]["next_run"])
    assert resumed == last.started + timedelta(seconds=600)
    assert all(r.started >= resumed for r in store.runs.recent("news")[: -len(runs["news"])])


def finished(store: Store, source_id: str) -> bool:
    return any(r.outcome != "running" for r in store.runs.recent(source_id, 5))


def running(store: Store, source_id: str) -> bool:
    return any(r.outcome == "running" for r in store.runs.recent(source_id, 5))


def test_a_busy_api_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = os.environ | {
            "YUQING_STORE": f"sqlite:///{tmp_path}/y.db",
            "YUQING_API_PORT": str(port),
        }
        done = subprocess.run(
            [*YUQING, "run", "--no-crawl", "--no-mail"], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    # A busy port is the user's to fix (another port or stop the other process): exit 2.
    assert done.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_runs_of_dead_processes_on_this_host_are_released_at_start(
    store: Store, tmp_path: Path
) -> None:
    from yuqing.config import Config
    from yuqing.service import Parts, Service

    now = datetime.now().astimezone()
    host = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid is free now
    holders = {
        "dead": f"{host}:{dead.pid}",
        "alive": f"{host}:{os.getpid()}",
        "elsewhere": f"another-host:{dead.pid}",
    }
    for ident, holder in holders.items():
        store.sources.put(Source(ident, ident, "feed", ["http://127.0.0.1:1/"], interval=600))
        started = store.runs.start(
            CrawlRun(ident, holder, now - timedelta(minutes=1), now + timedelta(minutes=9))
        )
        assert started is not None
    config = Config.model_validate({"data_dir": str(tmp_path / "var")})
    service = Service(config, lambda: store, Parts(crawl=True, mail=False, api=False))
    service.store = store
    service._reclaim()
    outcome = {i: store.runs.recent(i, 1)[0].outcome for i in holders}
    assert outcome == {"dead": "lost", "alive": "running", "elsewhere": "running"}
    # The released source can be run again at once; the others keep their leases.
    assert store.runs.start(CrawlRun("dead", f"{host}:1", now, now + timedelta(minutes=9)))
    assert store.runs.start(CrawlRun("alive", f"{host}:1", now, now + timedelta(minutes=9))) is None

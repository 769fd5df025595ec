"""The demo as a newcomer runs it: ``yuqing-dev demo --speed 30`` (the demo world, the mail
catcher and ``yuqing run`` on one accelerated clock) in a temporary data directory, on
free ports of 127.0.0.1. ``tests/conftest.py`` runs it once per session (fixture
``demo_world``) for the acceptance test and the README examples test."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from waiting import wait_for

from devtools.demosite.model import Article
from devtools.demosite.world import load_state
from store import Store, open_store
from store.clock import ScaledClock
from store.model import Alert

YUQING_DEV = str(Path(sys.executable).with_name("yuqing-dev"))
SPEED = 30.0
DRILL_WORDS = ("演练", "演习", "消防宣传")  # the sample library's 排除词


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoRun:
    """A running demo and what it has done."""

    root: Path
    env: dict[str, str]
    api: str
    site: str
    password: str = ""
    process: subprocess.Popen[str] | None = None
    clock: ScaledClock | None = None
    started: datetime | None = None  # business time when the demo started (its origin)
    # Item count of each alert when first seen, by alert id (see observe).
    earlier_items: dict[str, int] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.root / "var"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.data / 'yuqing.db'}"

    def output(self) -> str:
        return (self.root / "demo.out").read_text("utf-8", errors="replace")

    def start(self) -> None:
        out = (self.root / "demo.out").open("w")
        self.process = subprocess.Popen(
            [YUQING_DEV, "demo", "--speed", f"{SPEED:g}", "--site-port", self.site.rsplit(":")[-1]],
            cwd=self.root, env=self.env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        found = wait_for("the demo's login", self._password, timeout=120)
        self.password = found
        wait_for("the console", lambda: self._answers("/api/health"), timeout=60)
        saved = json.loads((self.data / "clock.json").read_text("utf-8"))
        origin = datetime.fromisoformat(saved["origin"])
        self.clock = ScaledClock(saved["speed"], anchor=origin, zone="Asia/Shanghai")
        # Business and real time coincide at the origin: the world's first "now".
        self.started = origin

    def _password(self) -> str | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the demo exited ({self.process.returncode}):\n{self.output()}")
        match = re.search(r"password: (\S+)", self.output())
        return match.group(1) if match else None

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.api + path, timeout=2):
                return True
        except OSError:
            return False

    def now(self) -> datetime:
        assert self.clock is not None
        return self.clock.now()

    def minutes(self) -> float:
        """Business minutes since the service came up."""
        assert self.started is not None
        return (self.now() - self.started) / timedelta(minutes=1)

    def open_store(self) -> Store:
        return open_store(self.store_url)

    def alerts(self) -> list[Alert]:
        store = self.open_store()
        try:
            return store.alerts.list(limit=1000)
        finally:
            store.close()

    def new_alerts(self) -> list[Alert]:
        """Alerts for items published since the demo started."""
        assert self.started is not None
        since = self.started
        return [a for a in self.alerts() if a.publish_time and a.publish_time >= since]

    def observe(self) -> list[Alert]:
        """The alerts now, noting the item count of those not seen before."""
        alerts = self.alerts()
        for alert in alerts:
            self.earlier_items.setdefault(alert.id, alert.items)
        return alerts

    def grown(self) -> list[Alert]:
        """Alerts with more items now than when first seen."""
        return [a for a in self.observe() if a.items > self.earlier_items[a.id]]

    def ready(self, minutes: float) -> bool:
        """Whether ``minutes`` simulated minutes have passed and the promised happened: three
        new matching events and one that grew (slower on a busy machine, never skipped)."""
        grown = self.grown()  # observed from the start, so growth is seen as it happens
        if self.minutes() < minutes:
            return False
        return len({a.event_id for a in self.new_alerts()}) >= 3 and bool(grown)

    def world(self) -> list[Article]:
        """Every article the demo world has published (its saved state)."""
        return load_state(self.data / "world")[0]

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(90)


def start_demo(root: Path) -> DemoRun:
    api_port, smtp_port, site_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env = {k: v for k, v in env.items() if not k.startswith("YUQING_")}
    (root / "none.toml").write_text("# everything comes from YUQING_* variables\n")
    env |= {
        "YUQING_CONFIG": str(root / "none.toml"),
        "YUQING_DATA_DIR": str(root / "var"),
        "YUQING_STORE": f"sqlite:///{root / 'var' / 'yuqing.db'}",
        "YUQING_API_PORT": str(api_port),
        "YUQING_SMTP_PORT": str(smtp_port),
    }
    run = DemoRun(root, env, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{site_port}")
    run.start()
    return run

"""``yuqing-dev demo``: the whole service on one machine, with news arriving to watch.

On 127.0.0.1 it starts the demo world (:mod:`devtools.demosite.world`: a fictional 潼南
news portal, GBK government portal, forum and RSS feed where incidents start every few
minutes and grow), a mail catcher keeping every email as an ``.eml`` file in
``var/demo/mail`` (the console lists them at ``/mail``), and ``yuqing run`` on the data
directory ``var/demo``. Before that it fills an empty store: the sample keyword library
for 潼南区, the demo world's sources, and the operator login ``demo``, whose password is
printed once. What the world published is kept in ``var/demo/world``, so a restart
continues with new pages.

``--speed 30`` runs the world and the service on an accelerated clock (``[clock] speed``
and ``origin``, given to every process as ``YUQING_CLOCK_*``): an hour of news in two
minutes. Crawl intervals are business time, so they are longer then (see
:func:`crawl_interval`) to keep the crawls a machine can run.

The demo's settings are defaults given to every part as ``YUQING_*`` variables: one set
already wins (``YUQING_STORE=http://127.0.0.1:9200 yuqing-dev demo`` runs on Elasticsearch).
Ctrl-C or SIGTERM stops the service first (running crawls finish, pending emails stay in
the outbox), then the catcher and the site.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import IO, Any, cast
from urllib.parse import urlsplit, urlunsplit

import click

from api.accounts import Accounts
from crawler.operations import seed_sources
from crawler.sources import load_sources
from devtools.demosite import DemoSite, create_app, serve
from devtools.demosite.world import World
from devtools.mailcatcher import MailCatcher
from keywords.io import read_library
from keywords.library import KeywordLibrary
from keywords.operations import save_library
from store import Store, StoreError
from store.acting import Acting
from store.model import Source
from yuqing.config import Config, ConfigError, load
from yuqing.wiring import clock_for, store_for

DATA_DIR = "var/demo"
SITE_PORT = 8610
INTERVAL = 60  # seconds between crawls of each demo source (the shortest allowed)
REAL_INTERVAL = 8.0  # ... and at least this many real seconds on an accelerated clock
INCIDENT_EVERY = 360.0  # business seconds between incidents of the demo world
CLOCK_STATE = "clock.json"
# Each list source follows only its own list's links: the sidebars of every page show the
# latest items of all channels, and a source taking another's items would leave that one
# "silent" and name the wrong source on alerts.
LIST_LINKS = {
    "demo-news": "ul.list a::attr(href)",
    "demo-shehui": "ul.list a::attr(href)",
    "demo-zwgk": "ul.doc-list a::attr(href)",
    "demo-bbs": "table.threads a::attr(href)",
}
USER = "demo"
GRACE = 5  # seconds running crawls get to finish when the demo stops
DEFAULTS = {
    "YUQING_DATA_DIR": DATA_DIR,
    "YUQING_STORE": f"sqlite:///{DATA_DIR}/yuqing.db",
    "YUQING_API_HOST": "127.0.0.1",
    "YUQING_API_PORT": "8600",
    "YUQING_SMTP_HOST": "127.0.0.1",
    "YUQING_SMTP_PORT": "8025",
    "YUQING_ALERTS_RECIPIENTS": "duty@tongnan.example",
}
# Events of ``yuqing run`` shown on the terminal, with the fields shown; the log file in
# the data directory has every line.
SHOWN = {
    "started": ("store", "api"),
    "crawl": ("source", "outcome", "new_items", "hits"),
    "alert": ("severity", "rule", "title"),
    "emails": ("sent", "failed", "pending"),
    "stopping": ("signal",),
    "stopped": (),
}


def environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the demo's settings added where it has none."""
    out = {**DEFAULTS, **env}
    out.setdefault(
        "YUQING_ALERTS_PUBLIC_URL", f"http://{out['YUQING_API_HOST']}:{out['YUQING_API_PORT']}"
    )
    return out


def crawl_interval(speed: float) -> int:
    """Business seconds between crawls of a demo source: :data:`INTERVAL`, or longer on
    an accelerated clock so a crawl starts at most every :data:`REAL_INTERVAL` real s."""
    return max(INTERVAL, round(REAL_INTERVAL * speed))


def world_step(interval: int) -> float:
    """Mean business seconds between the world's ordinary items. Five channels take turns,
    so each gets one about every 1.5 crawl intervals: no source goes "silent"."""
    return interval * 0.3


def demo_sources(site_url: str, interval: int = INTERVAL) -> list[Source]:
    """The bundled sources (``crawler/sources.yaml``) pointed at the demo world on
    ``site_url`` and crawled every ``interval`` seconds; the feed is the world's wire
    (快讯) channel, which no list page carries, and the sitemap (everything again) is left
    out."""
    base = urlsplit(site_url)

    def moved(url: str) -> str:
        parts = urlsplit(url)._replace(scheme=base.scheme, netloc=base.netloc)
        if parts.path == "/rss.xml":
            parts = parts._replace(query="section=kuaixun")
        return urlunsplit(parts)

    def links(source: Source) -> dict[str, str]:
        if source.id not in LIST_LINKS:
            return dict(source.selectors)
        return {**source.selectors, "links": LIST_LINKS[source.id]}

    return [
        replace(
            s,
            start_urls=[moved(u) for u in s.start_urls],
            interval=interval,
            selectors=links(s),
        )
        for s in load_sources()
        if s.type != "sitemap"
    ]


def clock_settings(data_dir: Path, speed: float, env: Mapping[str, str]) -> dict[str, str]:
    """The ``YUQING_CLOCK_*`` variables of an accelerated demo: one origin for every
    process, kept in the data directory so a restart at the same speed continues the
    same business time (items already stored never lie in the future)."""
    if speed == 1:
        return {"YUQING_CLOCK_SPEED": "1"}
    shown = f"{speed:g}"
    if "YUQING_CLOCK_ORIGIN" in env:
        return {"YUQING_CLOCK_SPEED": shown, "YUQING_CLOCK_ORIGIN": env["YUQING_CLOCK_ORIGIN"]}
    path = data_dir / CLOCK_STATE
    saved: dict[str, Any] = {}
    if path.exists():
        saved = json.loads(path.read_text("utf-8"))
    if saved.get("speed") != speed:
        saved = {"speed": speed, "origin": datetime.now(UTC).isoformat()}
        path.write_text(json.dumps(saved), "utf-8")
    return {"YUQING_CLOCK_SPEED": shown, "YUQING_CLOCK_ORIGIN": str(saved["origin"])}


def prepare(config: Config, store: Store, site_url: str, interval: int = INTERVAL) -> str | None:
    """Fill what the store lacks: the sample library, the demo sources, the demo login.
    Returns the login's password if it was created now."""
    clock = clock_for(config)
    acting = Acting(USER, store, clock)
    if KeywordLibrary(store).current()[0] == 0:
        sample = resources.files("keywords.samples").joinpath("tongnan.yaml").read_bytes()
        save_library(acting, read_library(sample, "yaml"), message="潼南区示例词库")
        click.echo("loaded the sample keyword library for 潼南区 (keywords/samples/tongnan.yaml)")
    if not store.sources.list():
        added = seed_sources(acting, demo_sources(site_url, interval))
        click.echo(f"registered {len(added)} demo sources, crawled every {interval} s")
    if store.users.get(USER) is not None:
        return None
    password = secrets.token_urlsafe(12)
    Accounts(store, clock).create(USER, "operator", password, actor=USER, display_name="演示值班员")
    click.echo(f"created the login {USER} (operator), password: {password}")
    click.echo("Note it now: it is not stored and is not shown again.")
    return password


def _interrupt(number: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Demo:
    """The parts of a running demo; :meth:`stop` ends them, the service first."""

    def __init__(
        self, config: Config, env: dict[str, str], config_path: str | None, site_port: int
    ) -> None:
        self.config, self.env, self.config_path = config, env, config_path
        self.site_port = site_port
        self.interval = crawl_interval(config.clock.speed)
        self.world: World | None = None
        self.stopping = threading.Event()
        self.log_path = config.data_dir / "yuqing.log"
        self.site_server: Any = None
        self.catcher: MailCatcher | None = None
        self.service: subprocess.Popen[str] | None = None

    def start_site(self) -> str:
        clock = clock_for(self.config)
        app = create_app(clock, live=True)
        try:
            self.site_server, url = serve(port=self.site_port, app=app)
        except OSError as e:
            raise click.ClickException(
                f"demo site: cannot listen on 127.0.0.1:{self.site_port}: {e}"
            ) from e
        site = cast(DemoSite, app.extensions["demosite"])
        self.world = World(
            site,
            clock,
            self.config.data_dir / "world",
            step=world_step(self.interval),
            incident_every=INCIDENT_EVERY,
        )
        self.world.run(self.stopping)
        return str(url)

    def start_catcher(self) -> Path:
        smtp = self.config.smtp
        folder = self.config.data_dir / "mail"
        try:
            self.catcher = MailCatcher(folder, port=smtp.port, host=smtp.host).start()
        except (OSError, RuntimeError) as e:
            raise click.ClickException(f"mail catcher: cannot listen on {smtp.port}: {e}") from e
        return folder

    def start_service(self) -> None:
        command = [str(Path(sys.executable).with_name("yuqing"))]
        if self.config_path:
            command += ["--config", self.config_path]
        # Its own session: Ctrl-C reaches only the demo, which stops the parts in order.
        self.service = subprocess.Popen(
            [*command, "run", "--grace", str(GRACE)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.service.stderr is not None
        threading.Thread(target=self._relay, args=(self.service.stderr,), daemon=True).start()

    def _relay(self, lines: IO[str]) -> None:
        """Keep the service's JSON log in the data directory; show the main events."""
        with self.log_path.open("a", encoding="utf-8") as log:
            for line in lines:
                log.write(line)
                log.flush()
                shown = _short(line)
                if shown:
                    click.echo(shown)

    def wait_until_up(self, timeout: float = 60.0) -> bool:
        """Whether the API answers before ``timeout`` (False if the service ended)."""
        api = self.config.api
        url = f"http://{api.host}:{api.port}/api/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.service is not None
            if self.service.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return True
            except OSError:
                time.sleep(0.3)
        return False

    def stop(self) -> int:
        """Stop the service (a second Ctrl-C kills it), then the catcher and the site."""
        code = 0
        if self.service is not None and self.service.poll() is None:
            click.echo("stopping: the service first (running crawls finish)...")
            self.service.send_signal(signal.SIGTERM)
            try:
                code = self.service.wait()
            except KeyboardInterrupt:
                os.killpg(self.service.pid, signal.SIGKILL)
                code = self.service.wait()
        elif self.service is not None:
            code = self.service.returncode
        if self.catcher is not None:
            self.catcher.stop()
        self.stopping.set()
        if self.site_server is not None:
            self.site_server.shutdown()
            self.site_server.server_close()
        return code


def _short(line: str) -> str | None:
    """A terminal line for one of the service's log events, or None to leave it out."""
    try:
        data = json.loads(line)
    except ValueError:
        return line.rstrip()
    name = data.get("event", "log")
    if name in SHOWN:
        keys = SHOWN[name]
    elif data.get("level") in ("error", "critical"):
        keys = ("message", "error")
    else:
        return None
    fields = " ".join(f"{k}={data[k]}" for k in keys if data.get(k) not in (None, ""))
    return f"{str(data.get('time', ''))[11:19]} {name} {fields}".rstrip()


def instructions(config: Config, site_url: str, mail: Path, password: str | None) -> str:
    console = f"http://{config.api.host}:{config.api.port}/"
    if password:
        login = f"sign in as {USER} / {password}   (shown this once: note it)"
    else:
        login = (
            f"sign in as {USER}: its password was printed by the first run. Lost it? Set a new"
            f" one: YUQING_STORE={config.store.url} yuqing users password {USER} --generate"
        )
    return "\n".join(
        (
            "",
            f"yuqing demo is running: open {console}",
            f"  {login}",
            "What to click:",
            "  1. 总览 (dashboard): items, events and alerts as the crawls come in",
            "  2. 预警 (inbox): open an alert, read its items, 签收 (acknowledge) it",
            "  3. 检索 (search): e.g. 潼南 火灾",
            "  4. 关键词库 (keywords): live-test a sentence, e.g. 双江镇一商铺起火",
            f"  5. the emails: 邮件 ({console}mail) or the files {mail}/*.eml;"
            " their acknowledge link works",
            f"The demo world {site_url}/ publishes all the time, with an incident about every"
            f" {INCIDENT_EVERY / 60:g} min (clock speed {config.clock.speed:g});"
            f" sources are crawled every {crawl_interval(config.clock.speed)} s."
            " Ctrl-C stops everything.",
            "",
        )
    )


@click.command("demo")
@click.option(
    "--speed",
    type=click.FloatRange(min=1, max=1000),
    default=None,
    help="clock speed: 30 shows an hour of news in two minutes (default: [clock] speed, 1)",
)
@click.option(
    "--site-port", type=click.IntRange(0, 65535), default=SITE_PORT, show_default=True,
    help="port of the demo world (0: a free one)",
)  # fmt: skip
@click.pass_context
def demo_command(ctx: click.Context, speed: float | None, site_port: int) -> None:
    """Run the demo: demo world, mail catcher, sample library, a login, and the service."""
    env = environment(os.environ)
    if speed is not None:
        env["YUQING_CLOCK_SPEED"] = f"{speed:g}"
    try:
        config = load(ctx.obj, env)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        env |= clock_settings(config.data_dir, config.clock.speed, env)
        config = load(ctx.obj, env)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    demo = Demo(config, env, ctx.obj, site_port)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        site_url = demo.start_site()
        mail = demo.start_catcher()
        try:
            store = store_for(config)
        except StoreError as e:
            raise click.ClickException(str(e)) from e
        try:
            password = prepare(config, store, site_url, demo.interval)
        finally:
            store.close()
        demo.start_service()
        if not demo.wait_until_up():
            raise click.ClickException(f"the service did not start: see {demo.log_path}")
        click.echo(instructions(config, site_url, mail, password))
        assert demo.service is not None
        demo.service.wait()
    except KeyboardInterrupt:
        pass
    finally:
        code = demo.stop()
        signal.signal(signal.SIGTERM, previous)
    click.echo("demo stopped")
    sys.exit(code)

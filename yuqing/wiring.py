"""The composition root: builds the parts from the configuration and wires them together.

Nothing below ``yuqing/`` reads the configuration: each part gets its settings, its clock
and its collaborators here (the alert engine's emergency hook into crawl scheduling, the
crawl's matcher and alert hand-off, the API's services).
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from store import Store, open_store
from store.clock import Clock, ScaledClock
from store.model import EmergencySwitch, Source
from yuqing.config import Config

# The API, the console and the alert engine are imported where they are built: a crawl
# process imports this module for its clock and store options, and importing them (Flask,
# the console, openpyxl, ...) took about half of its start-up CPU.
if TYPE_CHECKING:
    from apiflask import APIFlask

    from monitor.alerts.engine import Alerting

# How a crawl process is started. ``-I`` (isolated): neither the working directory nor
# $PYTHONPATH (nor the user's site-packages) is put on sys.path, so a file named like one
# of the project's packages (``monitor.py``) where ``yuqing run`` was started, or a path
# the parent inherited, cannot replace the project's code in the crawl.
CRAWL_COMMAND = (sys.executable, "-I", "-m", "yuqing.crawl")
CRAWLS_PER_WORKER = 8  # crawls at a time in one crawl worker process (yuqing run)


def clock_for(config: Config) -> Clock:
    """The process's clock, in the configured zone; with ``[clock] speed`` other than 1 a
    :class:`ScaledClock` anchored at ``[clock] origin`` (so crawl processes agree)."""
    if config.clock.speed == 1:
        return Clock(config.timezone)
    origin = config.clock.origin or datetime.now(UTC)
    if origin.tzinfo is None:
        origin = origin.replace(tzinfo=UTC)
    return ScaledClock(config.clock.speed, zone=config.timezone, anchor=origin)


def store_options(config: Config) -> dict[str, Any]:
    """The options :func:`store.open_store` takes for the configured store."""
    options: dict[str, Any] = {"tz": config.timezone}
    if config.store.url.startswith(("http://", "https://")):
        options |= config.store.elastic_options()
    return options


def store_for(config: Config, *, wait_seconds: float | None = None) -> Store:
    """Open the configured store (SQLite by default, Elasticsearch by URL); an unreachable
    Elasticsearch is waited for ``wait_seconds`` (default 30) before StoreUnavailable."""
    options = store_options(config)
    if wait_seconds is not None and "prefix" in options:
        options["wait_seconds"] = wait_seconds
    return open_store(config.store.url, **options)


def secret_key(config: Config) -> str:
    """The key signing sessions and acknowledge links: ``api.secret_key`` (from
    ``YUQING_API_SECRET_KEY``) or, on one machine, a random key kept in the data
    directory (mode 0600) so links and logins survive a restart."""
    if config.api.secret_key:
        return config.api.secret_key
    path = config.data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    config.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this service wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def build_alerting(config: Config, store: Store, clock: Clock | None = None) -> Alerting:
    """The alert engine for ``config``, its emergency hook wired to crawl scheduling.
    ValueError if the configuration cannot sign acknowledge links."""
    from crawler.sources import set_emergency
    from monitor.alerts.engine import Alerting
    from monitor.alerts.links import AckLinks

    clock = clock or clock_for(config)

    def crawl_hook(switch: EmergencySwitch, tags: list[str] | None, interval: int) -> list[Source]:
        now = clock.now()
        # An emergency without an end still lets the crawl schedule recover after a day.
        until = (switch.until or now + timedelta(days=1)) if switch.on else now
        ids = [s.id for s in store.sources.list()] if tags is None else []
        # The sources changed are named in the switch's audit entry.
        return set_emergency(store, interval=interval, until=until, source_ids=ids, tags=tags or [])

    links = AckLinks(secret_key(config), config.alerts.link_hours * 3600)
    return Alerting(store, config.alerts, links, clock, crawl_hook=crawl_hook)


def crawl_args(config_path: str | None, settings: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Arguments every crawl process gets: the configuration file and Scrapy overrides."""
    args = ["--config", config_path] if config_path else []
    for pair in settings:
        args += ["-s", pair]
    return args


def overrides(pairs: list[str]) -> dict[str, Any]:
    """``-s NAME=VALUE`` settings (JSON values allowed)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out


def crawl_settings(args: list[str]) -> dict[str, Any]:
    """The ``-s`` settings among crawl process arguments (:func:`crawl_args`)."""
    return overrides([value for flag, value in itertools.pairwise(args) if flag == "-s"])


def app_for(
    config: Config,
    store: Store,
    *,
    clock: Clock | None = None,
    crawl_args: list[str] | None = None,
) -> APIFlask:
    """The API and console app over an open ``store`` (the caller owns its lifetime)."""
    from api import create_app
    from api.context import Parts
    from crawler.now import RunNow
    from yuqing.discovery import settings_for

    clock = clock or clock_for(config)
    parts = Parts(
        store=store,
        clock=clock,
        alerts=config.alerts,
        alerting=lambda: build_alerting(config, store, clock),
        run_now=lambda: RunNow(store, CRAWL_COMMAND, crawl_args or []),
        mail_dir=config.data_dir / "mail",
        import_limits=config.imports.limits(),
        smtp=config.smtp,
        policy=config.api.policy(),
        discovery=settings_for(config.discovery),
        # The source preview renders as the crawls do: their browser, wait and timeout.
        crawl_settings=crawl_settings(crawl_args or []),
    )
    return create_app(
        parts,
        secret_key=secret_key(config),
        secure_cookies=config.alerts.public_url.startswith("https://"),
        session_hours=config.api.session_hours,
    )

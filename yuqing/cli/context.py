"""What every ``yuqing`` command reaches through ``ctx.obj``: the configuration and the
parts built from it, with user errors turned into one clear line."""

from __future__ import annotations

import getpass
import os

from monitor.alerts.engine import Alerting
from store import Invalid, Store, StoreError
from store.acting import Acting
from store.clock import Clock
from yuqing.cli.errors import Outage, UserError
from yuqing.config import Config, ConfigError, load
from yuqing.wiring import build_alerting, clock_for, store_for


def login_actor() -> str:
    """Who runs this command, for the audit log of a command without ``--actor``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid, e.g. in a bare container
        return f"cli:uid-{os.getuid()}"


class CliContext:
    def __init__(self, path: str | None) -> None:
        self.path = path

    def config(self) -> Config:
        try:
            return load(self.path)
        except ConfigError as e:
            raise UserError(str(e)) from e

    def clock(self) -> Clock:
        return clock_for(self.config())

    def store(self) -> Store:
        """The configured store; a clear error, saying where it looked, if it cannot be
        opened."""
        config = self.config()
        try:
            # A person at a terminal is told within seconds; the service waits longer.
            return store_for(config, wait_seconds=10)
        except StoreError as e:
            raise Outage(f"{e} (the store from {self.store_origin(config)})") from e

    def store_origin(self, config: Config) -> str:
        """Where the store's address came from, for a person wondering why this command
        does not see the service's data."""
        if os.environ.get("YUQING_STORE") or os.environ.get("YUQING_STORE_URL"):
            return "$YUQING_STORE"
        path = self.path or os.environ.get("YUQING_CONFIG")
        if path:
            return path
        return "yuqing.toml" if os.path.isfile("yuqing.toml") else "the default; set YUQING_STORE"

    def acting(self, store: Store, actor: str | None = None) -> Acting:
        """``actor`` (default: the login running the command) changing ``store``, for an
        operation; a blank name is a clear error."""
        try:
            return Acting(login_actor() if actor is None else actor, store, self.clock())
        except Invalid as e:
            raise UserError(e.message) from e

    def alerting(self, store: Store) -> Alerting:
        """The alert engine over ``store``; a clear error if it cannot be built."""
        try:
            return build_alerting(self.config(), store)
        except ValueError as e:
            raise UserError(str(e)) from e

"""What every ``yuqing`` command reaches through ``ctx.obj``: the configuration and the
parts built from it, with user errors turned into one clear line."""

from __future__ import annotations

import getpass
import os

import click

from monitor.alerts.engine import Alerting
from store import Invalid, Store, StoreError
from store.acting import Acting
from store.clock import Clock
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
            raise click.ClickException(str(e)) from e

    def clock(self) -> Clock:
        return clock_for(self.config())

    def store(self) -> Store:
        """The configured store; a clear error if it cannot be opened."""
        try:
            return store_for(self.config())
        except StoreError as e:
            raise click.ClickException(str(e)) from e

    def acting(self, store: Store, actor: str | None = None) -> Acting:
        """``actor`` (default: the login running the command) changing ``store``, for an
        operation; a blank name is a clear error."""
        try:
            return Acting(login_actor() if actor is None else actor, store, self.clock())
        except Invalid as e:
            raise click.ClickException(e.message) from e

    def alerting(self, store: Store) -> Alerting:
        """The alert engine over ``store``; a clear error if it cannot be built."""
        try:
            return build_alerting(self.config(), store)
        except ValueError as e:
            raise click.ClickException(str(e)) from e

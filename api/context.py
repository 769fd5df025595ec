"""The parts a request works with, built once per app from its configuration."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import cast
from zoneinfo import ZoneInfo

from flask import current_app

from api.accounts import Accounts
from keywords.library import KeywordLibrary
from monitor.alerts.cli import build as build_alerting
from monitor.alerts.engine import Alerting
from monitor.alerts.tickets import Tickets
from store import Store
from yuqing.config import Config


class Parts:
    """What views share: the store and the services over it (one of each per app)."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config, self.store = config, store
        self.zone = ZoneInfo(config.timezone)

    def now(self) -> datetime:
        return datetime.now(self.zone)

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.store, self.now)

    @cached_property
    def library(self) -> KeywordLibrary:
        return KeywordLibrary(self.store, self.now)

    @cached_property
    def alerting(self) -> Alerting:
        return build_alerting(self.config, self.store)

    @property
    def tickets(self) -> Tickets:
        return self.alerting.tickets


def parts() -> Parts:
    """The :class:`Parts` of the current app."""
    return cast(Parts, current_app.extensions["yuqing"])

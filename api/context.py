"""The parts a request works with, given to the app by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Any, cast

from flask import current_app

from api.accounts import AccountPolicy, Accounts
from crawler.now import RunNow
from keywords.io import ImportLimits
from keywords.library import KeywordLibrary
from monitor.alerts.engine import Alerting
from monitor.alerts.settings import AlertsConfig, SmtpConfig
from monitor.alerts.tickets import Tickets
from monitor.discovery.terms import Settings as DiscoverySettings
from store import Store
from store.clock import Clock


class Parts:
    """What views share: the store, the clock and the services over them (one of each per
    app). Services that are costly or may fail to build (alerting, run now) are built on
    first use from the factories given."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        alerts: AlertsConfig,
        alerting: Callable[[], Alerting],
        run_now: Callable[[], RunNow],
        mail_dir: Path,
        import_limits: ImportLimits | None = None,
        smtp: SmtpConfig | None = None,
        policy: AccountPolicy | None = None,
        discovery: DiscoverySettings | None = None,
        crawl_settings: dict[str, Any] | None = None,
    ) -> None:
        self.store, self.clock, self.alerts, self.mail_dir = store, clock, alerts, mail_dir
        self.import_limits = import_limits or ImportLimits()
        self.smtp = smtp or SmtpConfig.model_validate({})  # for test emails
        self._alerting, self._run_now = alerting, run_now
        self.policy = policy or AccountPolicy()
        self.discovery = discovery or DiscoverySettings()
        self.crawl_settings = crawl_settings or {}  # -s overrides the crawls get

    @property
    def zone(self) -> tzinfo:
        return self.clock.zone

    def now(self) -> datetime:
        return self.clock.now()

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.store, self.clock, self.policy)

    @cached_property
    def library(self) -> KeywordLibrary:
        return KeywordLibrary(self.store)

    @cached_property
    def alerting(self) -> Alerting:
        return self._alerting()

    @property
    def tickets(self) -> Tickets:
        return self.alerting.tickets

    @cached_property
    def run_now(self) -> RunNow:
        return self._run_now()


def parts() -> Parts:
    """The :class:`Parts` of the current app."""
    return cast(Parts, current_app.extensions["yuqing"])

"""Emergency mode, for one rule or for all (scope ``*``): every new event alerts at once
whatever the policy, quiet hours do not hold it back, and the sources tagged for the
rule are crawled more often. The switches live in ``store.emergencies`` (what a crawl
scheduler reads); switching is an audited operation,
:func:`monitor.alerts.operations.switch_emergency`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from store import Store
from store.model import EmergencySwitch

GLOBAL = "*"
DEFAULT_INTERVAL = 60  # seconds between crawls of the affected sources, if no policy says
# Called after a switch changes with the switch, the source tags of its rule (None: every
# source) and their crawl interval meanwhile; the composition root wires it to the
# crawler's scheduling. What it returns, if a list of sources, is named in the audit entry.
CrawlHook = Callable[[EmergencySwitch, list[str] | None, int], object]


@dataclass(frozen=True)
class Emergencies:
    """The switches on at one moment."""

    scopes: frozenset[str]

    def covers(self, rule: str) -> bool:
        return GLOBAL in self.scopes or rule in self.scopes


def active(store: Store, now: datetime) -> Emergencies:
    """Switches that are on and not past their ``until``."""
    return Emergencies(
        frozenset(
            s.scope for s in store.emergencies.list() if s.on and (s.until is None or now < s.until)
        )
    )

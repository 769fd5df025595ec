"""Emergency mode, for one rule or for all (scope ``*``): every new event alerts at once
whatever the policy, quiet hours do not hold it back, and the sources tagged for the
rule are crawled more often. The switches live in ``store.emergencies`` (what a crawl
scheduler reads); each change is audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from store import Store
from store.codec import to_doc
from store.model import AuditEntry, EmergencySwitch

GLOBAL = "*"
DEFAULT_INTERVAL = 60  # seconds between crawls of the affected sources, if no policy says
# Called after a switch changes with the switch, the source tags of its rule (None: every
# source) and their crawl interval meanwhile; the composition root wires it to the
# crawler's scheduling.
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


def switch(
    store: Store,
    scope: str,
    on: bool,
    actor: str,
    now: datetime,
    *,
    reason: str = "",
    until: datetime | None = None,
    hook: CrawlHook | None = None,
) -> EmergencySwitch:
    """Turn emergency mode for ``scope`` on or off, audit it and tell ``hook``."""
    if not actor.strip():
        raise ValueError("actor: say who switches emergency mode")
    if until is not None and until <= now:
        raise ValueError("until: must lie in the future")
    before = store.emergencies.get(scope)
    after = EmergencySwitch(
        scope, on, now, actor, reason, until, version=before.version if before else None
    )
    store.emergencies.put(after)
    store.audit.append(
        AuditEntry(
            actor,
            "emergency.on" if on else "emergency.off",
            f"emergency:{scope}",
            now,
            None if before is None else to_doc(before),
            to_doc(after),
        )
    )
    if hook is not None:
        policy = None if scope == GLOBAL else store.alert_policies.get(scope)
        settings = policy.settings if policy else {}
        tags = None if scope == GLOBAL else list(settings.get("source_tags", []))
        hook(after, tags, int(settings.get("emergency_interval", DEFAULT_INTERVAL)))
    return after

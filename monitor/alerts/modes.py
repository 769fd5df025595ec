"""Alert rule types, one job each: given a rule's newly matched items, say which alert
(event key) they belong to. No key, no alert (yet). Counts come from the store, so a
restarted process decides as the old one would have."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta

from monitor.alerts.policy import Policy
from store import Item, ItemQuery, Store


def count_items(
    store: Store, rule: str, since: datetime, until: datetime, backfill: bool = False
) -> int:
    """Stored items matching ``rule`` first seen in [since, until); backfill items only
    if ``backfill`` (a new source's archive is no surge)."""
    query = ItemQuery(
        rules=[rule],
        since=since,
        until=until,
        backfill=None if backfill else False,
        sort="first_seen",
        size=1,
        highlight=False,
    )
    return store.items.search(query).total


def window_start(now: datetime, minutes: int) -> datetime:
    """Start of the fixed window of ``minutes`` holding ``now`` (aligned to the epoch, so
    every process agrees on it)."""
    seconds = minutes * 60
    return datetime.fromtimestamp(now.timestamp() // seconds * seconds, now.tzinfo)


class Mode(ABC):
    @abstractmethod
    def events(self, rule: str, items: list[Item], now: datetime) -> dict[str, list[Item]]:
        """Event key -> the items that go to that event's alert."""


class Immediate(Mode):
    """One alert per new event (repost cluster): reposts join their event's alert."""

    def events(self, rule: str, items: list[Item], now: datetime) -> dict[str, list[Item]]:
        out: dict[str, list[Item]] = {}
        for item in items:
            out.setdefault(item.event_id or item.id, []).append(item)
        return out


class Threshold(Mode):
    """One alert per window once it holds ``threshold`` matching items."""

    def __init__(self, store: Store, policy: Policy) -> None:
        self.store, self.policy = store, policy

    def events(self, rule: str, items: list[Item], now: datetime) -> dict[str, list[Item]]:
        start = window_start(now, self.policy.window_minutes)
        end = start + timedelta(minutes=self.policy.window_minutes)
        counted = count_items(self.store, rule, start, end, self.policy.include_backfill)
        if counted < self.policy.threshold:
            return {}
        return {f"threshold@{start.isoformat()}": items}


class Spike(Mode):
    """One alert per window holding ``spike_factor`` times the mean of the windows before
    it, and at least ``spike_minimum`` items (a quiet baseline alone proves nothing)."""

    def __init__(self, store: Store, policy: Policy) -> None:
        self.store, self.policy = store, policy

    def events(self, rule: str, items: list[Item], now: datetime) -> dict[str, list[Item]]:
        width = timedelta(minutes=self.policy.window_minutes)
        start = window_start(now, self.policy.window_minutes)
        old = self.policy.include_backfill
        current = count_items(self.store, rule, start, start + width, old)
        if current < self.policy.spike_minimum:
            return {}
        windows = self.policy.baseline_windows
        baseline = count_items(self.store, rule, start - windows * width, start, old) / windows
        if current < self.policy.spike_factor * baseline:
            return {}
        return {f"spike@{start.isoformat()}": items}


class Digest(Mode):
    """No alert per item: the scheduled digest summarises stored items instead."""

    def events(self, rule: str, items: list[Item], now: datetime) -> dict[str, list[Item]]:
        return {}


def mode_for(store: Store, policy: Policy, emergency: bool) -> Mode:
    """The rule type for ``policy``; in an emergency every new event alerts at once."""
    if emergency or policy.mode == "immediate":
        return Immediate()
    if policy.mode == "threshold":
        return Threshold(store, policy)
    if policy.mode == "spike":
        return Spike(store, policy)
    return Digest()

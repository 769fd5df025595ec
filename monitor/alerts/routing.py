"""Routing: which channel destinations an alert goes to, beyond its email recipients.

The routing table (``store.routing``, edited as YAML or JSON in the console, the API or
``yuqing routing set``) has

- ``routes``: in order, each with conditions (``when``: rules — glob patterns, so
  ``source:*`` names the source health alerts —, keyword groups, severities, regions
  by name, region codes (``region_codes: [500152]``: the alert's items are about 潼南区
  or a place under it, by any place they mention or, with ``region_scope: primary``,
  by their primary region), a time of day) and destinations (``to``: a channel, and
  for SMS and email the numbers or addresses). Every matching route adds its destinations; one with
  ``stop: true`` ends the walk. No condition means every alert.
- ``emergency``: while emergency mode covers an alert, it goes to these instead of
  the routes (everyone on the emergency list).
- ``escalation``: per severity, steps of a chain: an alert still new (not acknowledged)
  ``after_minutes`` after it was created is sent to the step's destinations. The last
  step also hears of every missed handling deadline.
- ``remind_minutes``: how long before the guidance and respond deadlines the alert's
  own destinations are reminded (0: never).

A destination's quiet hours (its channel's ``quiet_hours``) hold all but critical and
emergency alerts until they end.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from analysis.gazetteer import normalize_code
from monitor.alerts.channels import EMAIL, channel_class
from monitor.alerts.settings import clock_time
from store import Store
from store.errors import Invalid
from store.model import ChannelConfig

log = logging.getLogger(__name__)

Severity = Literal["critical", "warning", "info"]
# A division's code (2, 4, 6 or 9 digits) or an operator's place under one (500152-1).
REGION_CODE = re.compile(r"^\d{2}(\d{2}(\d{2}(\d{3})?)?)?(-\d{1,6})?$")


class RoutingError(Invalid):
    """The routing table is wrong; ``field`` is the dotted path of the first problem."""

    field: str

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field)


@dataclass(frozen=True)
class Target:
    """One destination: a channel, and within it an address (a phone number, an email
    address; empty for a group's robot or a webhook)."""

    channel: str
    to: str = ""

    @property
    def key(self) -> str:
        """How the destination is named in delivery keys: an email address alone (as
        before channels), else ``channel`` or ``channel:address``."""
        if self.channel == EMAIL:
            return self.to
        return f"{self.channel}:{self.to}" if self.to else self.channel

    @classmethod
    def parse(cls, key: str) -> Target:
        channel, _, to = key.partition(":")
        if "@" in channel:
            return cls(EMAIL, key)
        return cls(channel, to)


class Destination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1)
    to: list[str] = Field(default_factory=list, description="phone numbers or addresses")

    def targets(self) -> list[Target]:
        return [Target(self.channel, t) for t in self.to] or [Target(self.channel)]


class When(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[str] = Field(default_factory=list, description="rule names or globs")
    groups: list[str] = Field(default_factory=list, description="keyword groups that matched")
    severities: list[Severity] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list, description="e.g. 潼南 (part of a name)")
    region_codes: list[str] = Field(
        default_factory=list,
        description="administrative codes, e.g. 500152: the items are about it or a place "
        "under it (12-digit official codes are accepted)",
    )
    region_scope: Literal["mentioned", "primary"] = Field(
        "mentioned",
        description="mentioned: any place the items mention; primary: their primary region",
    )
    hours: str = Field("", pattern=r"^$|^\d{2}:\d{2}-\d{2}:\d{2}$", examples=["08:00-18:00"])

    @field_validator("region_codes", mode="before")
    @classmethod
    def _codes(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        out = []
        for code in value:
            text = normalize_code(str(code))
            if not REGION_CODE.match(text):
                raise ValueError(f"{code!r} is not a region code (such as 500152 or 500152000000)")
            out.append(text)
        return out

    @field_validator("hours")
    @classmethod
    def _clock(cls, value: str) -> str:
        for part in filter(None, value.split("-")):
            clock_time(part)
        return value


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    when: When = Field(default_factory=lambda: When.model_validate({}))
    to: list[Destination] = Field(min_length=1)
    stop: bool = False


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_minutes: int = Field(ge=1, le=7 * 24 * 60)
    to: list[Destination] = Field(min_length=1)


class Routing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routes: list[Route] = Field(default_factory=list)
    emergency: list[Destination] = Field(default_factory=list)
    escalation: dict[Severity, list[Step]] = Field(default_factory=dict)
    remind_minutes: int = Field(60, ge=0, le=24 * 60)


@dataclass
class Facts:
    """What routes look at, of one alert."""

    rule: str
    severity: str
    groups: set[str] = field(default_factory=set)
    regions: list[str] = field(default_factory=list)
    emergency: bool = False
    # The codes of the places its items mention (and the codes above them), and of
    # their primary regions: what ``region_codes`` tests.
    region_codes: list[str] = field(default_factory=list)
    primary_codes: list[str] = field(default_factory=list)


def parse_routing(
    data: dict[str, Any],
    channels: dict[str, ChannelConfig],
    known_code: Callable[[str], bool] | None = None,
) -> Routing:
    """Validate a routing table against the configured ``channels`` (and, with
    ``known_code``, its region codes against the gazetteer); :class:`RoutingError`
    names the first wrong field (e.g. ``routes.0.to.1.channel``)."""
    try:
        routing = Routing.model_validate(data)
    except ValidationError as e:
        problem = e.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "routing"
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise RoutingError(f"{where}: {message}", where) from e
    for severity, steps in routing.escalation.items():
        waits = [s.after_minutes for s in steps]
        if waits != sorted(set(waits)):
            where = f"escalation.{severity}"
            raise RoutingError(f"{where}: after_minutes must grow from step to step", where)
    if known_code is not None:
        for i, r in enumerate(routing.routes):
            for j, code in enumerate(r.when.region_codes):
                if not known_code(code):
                    where = f"routes.{i}.when.region_codes.{j}"
                    raise RoutingError(f"{where}: no region code {code}", where)
    places: list[tuple[str, list[Destination]]] = [
        (f"routes.{i}.to", r.to) for i, r in enumerate(routing.routes)
    ]
    places.append(("emergency", routing.emergency))
    for severity, steps in routing.escalation.items():
        places += [(f"escalation.{severity}.{i}.to", s.to) for i, s in enumerate(steps)]
    for where, destinations in places:
        for i, d in enumerate(destinations):
            _check_destination(d, channels, f"{where}.{i}")
    return routing


def _check_destination(d: Destination, channels: dict[str, ChannelConfig], where: str) -> None:
    if d.channel == EMAIL:
        kind = EMAIL
    elif d.channel in channels:
        kind = channels[d.channel].kind
    else:
        known = ", ".join([EMAIL, *sorted(channels)])
        raise RoutingError(
            f"{where}.channel: no channel {d.channel!r} (there are: {known})", f"{where}.channel"
        )
    cls = channel_class(kind)
    try:
        if cls.addressed and not d.to:
            cls.check_to("")
        for to in d.to:
            cls.check_to(to)
    except ValueError as e:
        raise RoutingError(f"{where}.to: {e}", f"{where}.to") from e


def in_window(window: str, at: datetime) -> bool:
    """Whether the time of day of ``at`` lies in ``HH:MM-HH:MM`` (may pass midnight)."""
    if not window:
        return True
    (sh, sm), (eh, em) = (clock_time(p) for p in window.split("-"))
    start, end, now = sh * 60 + sm, eh * 60 + em, at.hour * 60 + at.minute
    return start <= now < end if start <= end else (now >= start or now < end)


def quiet_end(window: str, at: datetime) -> datetime | None:
    """When the quiet window (``HH:MM-HH:MM``) holding ``at`` ends; None outside it."""
    if not window or not in_window(window, at):
        return None
    eh, em = clock_time(window.split("-")[1])
    end = at.replace(hour=eh, minute=em, second=0, microsecond=0)
    return end if end > at else end + timedelta(days=1)


def load(store: Store) -> Routing:
    """The stored routing table (empty if none). One that names a channel deleted since
    is still used: deliveries to that channel become dead letters saying so."""
    table = store.routing.get()
    if table is None:
        return Routing.model_validate({})
    try:
        return Routing.model_validate(table.settings)
    except ValidationError:
        log.exception("the stored routing table is not valid; routing nothing")
        return Routing.model_validate({})


def matches(when: When, facts: Facts, at: datetime) -> bool:
    """Every condition given holds for the alert (each list: any of its values)."""
    if facts.rule.startswith("source:") and not when.rules:
        return False  # source health alerts go only where a route names them
    if when.rules and not any(fnmatch.fnmatchcase(facts.rule, p) for p in when.rules):
        return False
    if when.groups and not facts.groups & set(when.groups):
        return False
    if when.severities and facts.severity not in when.severities:
        return False
    if when.regions and not any(r in region for r in when.regions for region in facts.regions):
        return False
    if when.region_codes:
        pool = facts.primary_codes if when.region_scope == "primary" else facts.region_codes
        if not any(within(code, area) for area in when.region_codes for code in pool):
            return False
    return in_window(when.hours, at)


def within(code: str, area: str) -> bool:
    """Whether the place ``code`` is ``area`` or lies under it (codes of a level have a
    fixed length, an operator's place is ``<division>-<n>``)."""
    return code == area or ("-" not in area and code.startswith(area))


def route(routing: Routing, facts: Facts, at: datetime) -> tuple[list[Target], list[str]]:
    """The destinations of an alert with ``facts`` raised at ``at`` (local time), in order
    without repeats, and the names of the routes that matched (or ``应急名单``)."""
    if facts.emergency and routing.emergency:
        return _unique(d for dest in routing.emergency for d in dest.targets()), ["应急名单"]
    found: list[Target] = []
    names: list[str] = []
    for r in routing.routes:
        if not matches(r.when, facts, at):
            continue
        names.append(r.name)
        found += [t for dest in r.to for t in dest.targets()]
        if r.stop:
            break
    return _unique(found), names


def _unique(targets: Any) -> list[Target]:
    return list(dict.fromkeys(targets))

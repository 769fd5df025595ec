"""Alert policies: how each rule of the keyword library alerts, kept beside the library
(``store.alert_policies``, keyed by rule name) so editing one never needs a new library
version. A rule without a policy alerts immediately to the configured recipients."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.alerts.settings import check_addresses, clock_time
from store import Invalid, Store
from store.model import AlertPolicy

Mode = Literal["immediate", "threshold", "spike", "digest"]


class PolicyError(Invalid):
    """Invalid policy settings; ``field`` names the offending setting."""

    field: str

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field)


class Policy(BaseModel):
    """One rule's alerting: ``immediate`` (each new event), ``threshold`` (``threshold``
    items within ``window_minutes``), ``spike`` (a window with ``spike_factor`` times the
    mean of the ``baseline_windows`` before it, and at least ``spike_minimum`` items) or
    ``digest`` (a summary at each of ``digest_times``)."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = "immediate"
    recipients: list[str] = Field(default_factory=list)
    window_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    threshold: int = Field(10, ge=1)
    spike_factor: float = Field(3.0, ge=1.0)
    spike_minimum: int = Field(10, ge=1)
    baseline_windows: int = Field(6, ge=1, le=168)
    digest_times: list[str] = Field(default_factory=lambda: ["08:00", "17:00"])
    update_minutes: int = Field(30, ge=1, le=24 * 60)  # at most one "N more items" per this
    quiet: bool = True  # held back in quiet hours (an emergency always goes through)
    source_tags: list[str] = Field(default_factory=list)  # crawled faster in an emergency
    emergency_interval: int = Field(60, ge=10, le=3600)  # their crawl interval then, seconds
    # Alert on backfill items too (old news at first sight, see crawler.backfill); such
    # alerts have no handling deadlines.
    include_backfill: bool = False

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return check_addresses(value)

    @field_validator("digest_times")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        for text in value:
            clock_time(text)
        if len(set(value)) != len(value):
            raise ValueError("a time is listed twice")
        return sorted(value)


def parse_policy(rule: str, settings: dict[str, Any]) -> Policy:
    """Validate ``settings``; :class:`PolicyError` names the first wrong field."""
    try:
        policy = Policy.model_validate(settings)
    except ValidationError as e:
        problem = e.errors()[0]
        field = ".".join(str(p) for p in problem["loc"]) or "settings"
        got = problem.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise PolicyError(f"alert policy for {rule}: {field}: {message}{shown}", field) from e
    if policy.mode == "digest" and not policy.digest_times:
        raise PolicyError(
            f"alert policy for {rule}: digest_times: a digest needs at least one time of day",
            "digest_times",
        )
    return policy


def save_policy(
    store: Store, rule: str, settings: dict[str, Any], author: str, now: datetime
) -> Policy:
    """Validate and store ``rule``'s policy; invalid settings change nothing."""
    policy = parse_policy(rule, settings)
    store.alert_policies.put(
        AlertPolicy(rule, policy.model_dump(exclude_defaults=True), now, author)
    )
    return policy


def policy_for(store: Store, rule: str, default_recipients: list[str]) -> Policy:
    """``rule``'s stored policy, or immediate alerts to ``default_recipients``."""
    stored = store.alert_policies.get(rule)
    if stored is None:
        return Policy.model_validate({"recipients": default_recipients})
    policy = parse_policy(rule, stored.settings)
    if not policy.recipients:
        policy.recipients = default_recipients
    return policy


def rule_names(store: Store) -> list[str]:
    """The rules of the newest keyword library, whose policies and emergencies may be set."""
    head = store.library.head()
    return [r["name"] for r in (head.data.get("rules", []) if head else [])]

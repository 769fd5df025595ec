"""Settings of alerting and email delivery (sections ``[alerts]`` and ``[smtp]`` of the
configuration, which the composition root reads and passes in), and the checks of
addresses and times of day that they and the alert policies share."""

from __future__ import annotations

import re
import ssl
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EMAIL_PATTERN = r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$"
_CLOCK = re.compile(r"^(\d{2}):(\d{2})$")


def check_addresses(addresses: list[str]) -> list[str]:
    """``addresses`` unchanged; ValueError naming the first that is not an email address."""
    for address in addresses:
        if not re.fullmatch(EMAIL_PATTERN, address):
            raise ValueError(f"{address!r} is not an email address")
    return addresses


def clock_time(text: str) -> tuple[int, int]:
    """``HH:MM`` as (hour, minute); ValueError unless it is a time of day."""
    m = _CLOCK.match(text)
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"{text!r} is not a time of day (HH:MM, 00:00-23:59)")
    return int(m[1]), int(m[2])


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SmtpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    username: str = ""
    password: str = Field("", description="set YUQING_SMTP_PASSWORD")
    starttls: bool = False
    ssl: bool = Field(False, description="TLS from the first byte (port 465)")
    sender: str = Field("yuqing@localhost.localdomain", pattern=EMAIL_PATTERN)
    timeout: float = Field(30.0, gt=0, le=600)
    ca_file: str = Field("", description="PEM CAs to trust for the server; empty: the system's")

    @field_validator("ca_file")
    @classmethod
    def _readable_cas(cls, path: str) -> str:
        if path:
            try:
                ssl.create_default_context(cafile=path)
            except OSError as e:  # ssl.SSLError included: not PEM certificates
                raise ValueError(f"cannot use {path!r} as CA certificates: {e}") from e
        return path

    @model_validator(mode="after")
    def _one_tls(self) -> SmtpConfig:
        if self.ssl and self.starttls:
            raise ValueError("set ssl (port 465) or starttls (port 587), not both")
        if self.password and not self.username:
            raise ValueError("password is set but username is empty")
        # Credentials never cross the network in clear, whatever the server offers.
        if self.username and not (self.ssl or self.starttls):
            raise ValueError("username needs an encrypted connection: set starttls or ssl")
        return self


class Deadlines(_Section):
    """Minutes allowed from an alert to each step of handling it."""

    acknowledge: int = Field(ge=1)
    guidance: int = Field(ge=1, description="authoritative information published")
    respond: int = Field(ge=1)


def _default_deadlines() -> dict[str, Deadlines]:
    return {
        "critical": Deadlines(acknowledge=30, guidance=300, respond=1440),
        "warning": Deadlines(acknowledge=120, guidance=1440, respond=4320),
        "info": Deadlines(acknowledge=1440, guidance=4320, respond=10080),
    }


class AlertsConfig(_Section):
    public_url: str = Field("http://127.0.0.1:8600", description="console base URL for links")
    recipients: list[str] = Field(default_factory=list, description="rules without a policy")
    admins: list[str] = Field(default_factory=list, description="source health events")
    escalation: list[str] = Field(default_factory=list, description="overdue alerts")
    quiet_hours: str = Field("", pattern=r"^$|^\d{2}:\d{2}-\d{2}:\d{2}$", examples=["22:00-07:00"])
    quiet_weekends: bool = False
    link_hours: int = Field(72, ge=1, le=720, description="how long acknowledge links work")
    deadlines: dict[str, Deadlines] = Field(default_factory=_default_deadlines)
    backfill_hours: int = Field(
        72, ge=1, le=87_600, description="pages older than this at first sight are backfill"
    )
    backfill_first_crawl: bool = Field(
        True, description="everything a source's first crawl collects is backfill"
    )
    raise_at_negative: float | None = Field(
        None,
        ge=0,
        le=1,
        description="raise a new alert's severity one level (info, warning, critical) when "
        "its most negative item scores at least this (e.g. 0.8); empty: never",
    )

    @field_validator("recipients", "admins", "escalation", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # From the environment a list comes as comma-separated text.
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("recipients", "admins", "escalation")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return check_addresses(value)

    @field_validator("quiet_hours")
    @classmethod
    def _clock(cls, value: str) -> str:
        for part in filter(None, value.split("-")):
            clock_time(part)
        return value

    @field_validator("deadlines")
    @classmethod
    def _severities(cls, value: dict[str, Deadlines]) -> dict[str, Deadlines]:
        unknown = set(value) - {"info", "warning", "critical"}
        if unknown:
            raise ValueError(f"unknown severity {sorted(unknown)} (info, warning, critical)")
        return _default_deadlines() | value

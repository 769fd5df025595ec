"""Configuration: one TOML file, overridden by the environment.

With no file and no variables everything runs on one machine (SQLite under
``var/``). Each key can be overridden by ``YUQING_<SECTION>_<KEY>`` (for
example ``YUQING_SMTP_PASSWORD``); ``YUQING_STORE`` is short for the store URL.
Secrets belong in the environment, never in the file.
"""

from __future__ import annotations

import os
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from monitor.alerts.settings import AlertsConfig, SmtpConfig
from store.secrets import MASK, redact_url

# Made only where asked for: every process reads the configuration, and importing the API
# (Flask, the console) or the keyword importer (openpyxl) cost a crawl process a good part of
# its start-up.
if TYPE_CHECKING:
    from api.accounts import AccountPolicy
    from keywords.io import ImportLimits

DEFAULT_FILE = "yuqing.toml"


class ConfigError(ValueError):
    """The configuration is wrong; the message names each bad key and what it expects."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StoreConfig(_Section):
    url: str = Field("sqlite:///var/yuqing.db", description="sqlite:///path or http(s)://host")
    prefix: str = Field("yuqing-", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    shards: int = Field(1, ge=1, le=64)
    replicas: int | Literal["auto"] = Field(
        "auto", description="per new index; auto: one as soon as the cluster has two nodes"
    )
    retention_days: int = Field(90, ge=0, description="items kept (Elasticsearch); 0: all")
    rollover_age: str = Field("7d", pattern=r"^[1-9][0-9]*(h|d)$", description="e.g. 7d")
    rollover_size: str = Field("50gb", pattern=r"^[1-9][0-9]*(mb|gb)$", description="e.g. 50gb")

    @field_validator("replicas")
    @classmethod
    def _replica_count(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 0 <= value <= 8:
            raise ValueError("must be auto or a number from 0 to 8")
        return value

    def elastic_options(self) -> dict[str, Any]:
        """The Elasticsearch store's options (plain data: crawl processes get them too)."""
        return {
            "prefix": self.prefix,
            "shards": self.shards,
            "replicas": self.replicas,
            "lifecycle": {
                "retention_days": self.retention_days,
                "rollover_age": self.rollover_age,
                "rollover_size": self.rollover_size,
            },
        }

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite:///", "http://", "https://")):
            raise ValueError("must start with sqlite:///, http:// or https://")
        return url


class ApiConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8600, ge=1, le=65535)
    secret_key: str = Field("", description="session signing key; set YUQING_API_SECRET_KEY")
    public_url: str = ""
    session_idle_minutes: int = Field(
        120, ge=5, le=7 * 24 * 60, description="a console session unused this long ends"
    )
    session_hours: int = Field(
        12, ge=1, le=30 * 24, description="a console session ends this long after sign-in"
    )
    token_days: int = Field(90, ge=1, le=3650, description="default life of a new API token")

    def policy(self) -> AccountPolicy:
        from api.accounts import AccountPolicy

        return AccountPolicy(
            idle=timedelta(minutes=self.session_idle_minutes),
            absolute=timedelta(hours=self.session_hours),
            token_days=self.token_days,
        )


class ImportsConfig(_Section):
    """Limits on imported files (keywords, places, users): what a file may be before it is
    refused, with a message naming the limit."""

    max_mb: float = Field(20, gt=0, le=1024, description="the uploaded file")
    max_unpacked_mb: float = Field(64, gt=0, le=4096, description="an .xlsx unpacked")
    max_rows: int = Field(200_000, ge=1, le=10_000_000)
    max_cell_chars: int = Field(1_000, ge=10, le=1_000_000)

    def limits(self) -> ImportLimits:
        from keywords.io import ImportLimits

        return ImportLimits(
            max_bytes=int(self.max_mb * 1024 * 1024),
            max_unpacked_bytes=int(self.max_unpacked_mb * 1024 * 1024),
            max_rows=self.max_rows,
            max_cell_chars=self.max_cell_chars,
        )


class ClockConfig(_Section):
    speed: float = Field(
        1.0, gt=0, le=1000, description="business seconds per real second (demos: e.g. 30)"
    )
    origin: datetime | None = Field(
        None,
        description="with speed > 1: the real instant from which business time runs faster;"
        " every process of one service must share it (unset: when the process started)",
    )


class DiscoveryConfig(_Section):
    """Discovery of emerging terms (monitor.discovery): how often and over what."""

    enabled: bool = True
    interval_minutes: int = Field(60, ge=5, le=24 * 60, description="between runs")
    window_hours: int = Field(24, ge=1, le=24 * 7, description="the recent window")
    baseline_days: int = Field(14, ge=1, le=90, description="the baseline before it")
    min_support: int = Field(4, ge=2, le=1000, description="window items holding a term")


class Config(_Section):
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("var")
    store: StoreConfig = Field(default_factory=StoreConfig)  # type: ignore[arg-type]
    api: ApiConfig = Field(default_factory=ApiConfig)  # type: ignore[arg-type]
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)  # type: ignore[arg-type]
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)  # type: ignore[arg-type]
    imports: ImportsConfig = Field(default_factory=ImportsConfig)  # type: ignore[arg-type]
    clock: ClockConfig = Field(default_factory=ClockConfig)  # type: ignore[arg-type]
    discovery: DiscoveryConfig = Field(default_factory=DiscoveryConfig)  # type: ignore[arg-type]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {name!r} (use an IANA name)") from e
        return name

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds (for :class:`store.secrets.Redactor`):
        settings named like a password, secret or token, and passwords in the store URL."""
        found = [
            str(value)
            for section in self.model_dump().values()
            if isinstance(section, dict)
            for key, value in section.items()
            if _is_secret(key) and value
        ]
        for url in self.store.url.split(","):
            try:
                password = urlsplit(url).password
            except ValueError:
                continue
            if password:
                found.append(password)
        return found

    def masked(self) -> dict[str, Any]:
        """The configuration as data with secrets hidden, for ``yuqing config check``."""
        data = self.model_dump(mode="json")
        for section in data.values():
            if isinstance(section, dict):
                for key in section:
                    if _is_secret(key) and section[key]:
                        section[key] = MASK
        data["store"]["url"] = redact_url(self.store.url)
        return data


def _is_secret(key: str) -> bool:
    return any(word in key for word in ("password", "secret", "token"))


SECTIONS: dict[str, type[BaseModel]] = {
    "store": StoreConfig,
    "api": ApiConfig,
    "smtp": SmtpConfig,
    "alerts": AlertsConfig,
    "imports": ImportsConfig,
    "clock": ClockConfig,
}


def _env_overrides(env: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("timezone", "data_dir"):
        if f"YUQING_{key.upper()}" in env:
            out[key] = env[f"YUQING_{key.upper()}"]
    for section, model in SECTIONS.items():
        for field in model.model_fields:
            name = f"YUQING_{section.upper()}_{field.upper()}"
            if name in env:
                out.setdefault(section, {})[field] = env[name]
    if "YUQING_STORE" in env:
        out.setdefault("store", {})["url"] = env["YUQING_STORE"]
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read ``path`` (or ``$YUQING_CONFIG``, or ./yuqing.toml if present) and the
    environment. Raises :class:`ConfigError` naming every wrong key."""
    env = dict(os.environ) if env is None else env
    explicit = path or env.get("YUQING_CONFIG")
    file = Path(explicit) if explicit else Path(DEFAULT_FILE)
    data: dict[str, Any] = {}
    if explicit and not file.is_file():
        raise ConfigError(f"{file}: no such configuration file")
    if file.is_file():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{file}: not valid TOML: {e}") from e
        except UnicodeDecodeError as e:
            raise ConfigError(f"{file}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    where = str(file) if file.is_file() else "configuration"
    try:
        return Config.model_validate(_merge(data, _env_overrides(env)))
    except ValidationError as e:
        raise ConfigError(_explain(where, e)) from e


def _explain(where: str, error: ValidationError) -> str:
    lines = [f"{where}: {error.error_count()} problem(s)"]
    for problem in error.errors():
        key = ".".join(str(p) for p in problem["loc"])
        if problem["type"] == "extra_forbidden":
            parent = problem["loc"][:-1]
            model: type[BaseModel] = Config
            for part in parent:
                model = SECTIONS.get(str(part), model)
            allowed = ", ".join(model.model_fields)
            lines.append(f"  {key}: unknown key (expected one of: {allowed})")
        else:
            got = problem.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"  {key}: {problem['msg']}{shown}")
    return "\n".join(lines)

"""Notification channels: email and the kinds an administrator configures (chat robots,
SMS, webhooks), each a small class behind :class:`~monitor.alerts.channels.base.Channel`.

:func:`check` validates a kind's settings and secrets (naming the wrong field);
:func:`build` makes the channel of a stored configuration.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from monitor.alerts.channels.base import Channel, Clock, mask
from monitor.alerts.channels.dingtalk import DingTalkRobot
from monitor.alerts.channels.email import EmailChannel
from monitor.alerts.channels.feishu import FeishuBot
from monitor.alerts.channels.sms import AliyunSms, SmsGateway
from monitor.alerts.channels.webhook import Webhook
from monitor.alerts.channels.wecom import WeComRobot
from store.errors import Invalid
from store.model import ChannelConfig

EMAIL = "email"  # the channel of the configured SMTP server; no stored configuration
KINDS: dict[str, type[Channel]] = {
    c.kind: c for c in (WeComRobot, DingTalkRobot, FeishuBot, Webhook, SmsGateway, AliyunSms)
}


class ChannelError(Invalid):
    """A channel's configuration is wrong; ``field`` names it (``settings.url``)."""

    field: str

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field)


def channel_class(kind: str) -> type[Channel]:
    if kind == EMAIL:
        return EmailChannel
    try:
        return KINDS[kind]
    except KeyError:
        raise ChannelError(
            f"kind: unknown channel kind {kind!r} (there are: {', '.join(KINDS)})", "kind"
        ) from None


def check(kind: str, settings: dict[str, Any], secrets: dict[str, str]) -> tuple[Any, Any]:
    """The validated settings and secrets of a channel of ``kind``."""
    cls = channel_class(kind)
    if cls is EmailChannel:
        raise ChannelError("kind: email is configured in [smtp], not here", "kind")
    return _model(cls.Settings, settings, "settings"), _model(cls.Secrets, secrets, "secrets")


def _model(model: type[BaseModel], data: dict[str, Any], where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problem = e.errors()[0]
        name = ".".join(str(p) for p in (where, *problem["loc"]))
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise ChannelError(f"{name}: {message}", name) from e


def build(config: ChannelConfig, http: httpx.Client, clock: Clock) -> Channel:
    """The channel of a stored configuration (ChannelError if it is no longer valid)."""
    settings, secrets = check(config.kind, config.settings, config.secrets)
    return KINDS[config.kind](config.id, config.name, settings, secrets, http, clock)


def masked(config: ChannelConfig) -> dict[str, str]:
    """The channel's secrets as shown: which are set, never their values."""
    return {name: mask(value) for name, value in config.secrets.items()}


__all__ = [
    "EMAIL",
    "KINDS",
    "Channel",
    "ChannelError",
    "EmailChannel",
    "build",
    "channel_class",
    "check",
    "masked",
]

"""Generic webhook: the alert as versioned JSON (``schema`` ``yuqing.alert/1``, see
docs/channels.md), POSTed to an endpoint that checks our signature.

Every request carries ``X-Yuqing-Signature: t=<unix seconds>,v1=<hex>``, where the hex is
HMAC-SHA256 keyed with the endpoint's secret over ``<t>.<body bytes>``, and
``X-Yuqing-Delivery``, the delivery's stable id (the same on every retry: a receiver
that remembers ids it has seen processes each delivery once). A receiver refuses a
timestamp more than :data:`REPLAY_WINDOW` seconds from its clock (:func:`verify`).
Any 2xx is success; 429 waits for ``Retry-After``; 5xx, 408 and network errors are
retried; other 4xx are recorded as refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.alerts.channels.base import (
    Channel,
    ChannelSettings,
    Outgoing,
    PermanentFailure,
    TransientFailure,
    check_url,
)

SCHEMA = "yuqing.alert/1"
REPLAY_WINDOW = 300  # seconds a signature is good for


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Yuqing-Signature`` header of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float, window: int = REPLAY_WINDOW) -> int:
    """For receivers written in Python: the timestamp of a genuine, fresh request;
    ValueError if the signature is missing, wrong or outside the replay window."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError) as e:
        raise ValueError("no timestamp in X-Yuqing-Signature") from e
    if abs(now - stamp) > window:
        raise ValueError(f"timestamp {stamp} is outside the {window} s replay window")
    expected = signature(secret, stamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise ValueError("signature does not match")
    return stamp


def payload(out: Outgoing) -> dict[str, Any]:
    """The documented JSON body of ``out``."""
    n = out.notice
    return {
        "schema": SCHEMA,
        "delivery": out.delivery_id,
        "key": out.key,
        "kind": n.kind,
        "merged": out.merged,
        "created": n.created,
        "zone": n.zone,
        "alert": {
            "id": n.alert_id,
            "rule": n.rule,
            "severity": n.severity,
            "emergency": n.emergency,
            "title": n.title,
            "url": n.url,
            "source": n.source,
            "region": n.region,
            "published": n.published,
            "first_seen": n.first_seen,
            "items": n.items,
            "more": n.more,
            "deadline": {"step": n.deadline_label, "due": n.deadline} if n.deadline else None,
            "step": n.step_label,
            "console_url": n.console_url,
            "ack_url": out.ack_url,
        },
        "entries": [
            {"title": e.title, "source": e.source, "time": e.time, "url": e.url} for e in n.entries
        ],
    }


class Settings(ChannelSettings):
    url: str
    headers: dict[str, str] = Field(default_factory=dict, description="extra, not secret")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)


class Secrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=16, description="HMAC key, shared with the receiver")


class Webhook(Channel):
    kind = "webhook"
    label = "通用 Webhook"
    Settings = Settings
    Secrets = Secrets

    def send(self, out: Outgoing) -> None:
        body = json.dumps(payload(out), ensure_ascii=False, separators=(",", ":")).encode()
        now = int(time.time())  # the receiver checks its wall clock (see dingtalk.py)
        headers = {
            **self.settings.headers,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "yuqing-webhook/1",
            "X-Yuqing-Signature": signature(self.secrets.secret, now, body),
            "X-Yuqing-Delivery": out.delivery_id,
            "X-Yuqing-Event": f"alert.{out.notice.kind}",
        }
        answer = self.post(self.settings.url, content=body, headers=headers)
        if 200 <= answer.status_code < 300:
            return
        said = answer.text[:200].replace("\n", " ")
        if answer.status_code == 408:
            raise TransientFailure(f"the receiver timed out (HTTP 408): {said}", "408")
        raise PermanentFailure(
            f"the receiver refused it (HTTP {answer.status_code}): {said}", str(answer.status_code)
        )

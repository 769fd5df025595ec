"""企业微信 (WeCom) group robot: a markdown message to the group's webhook.

The webhook URL carries the robot's key, so the whole URL is the secret. The platform
takes at most 20 messages a minute per robot and 4096 bytes of markdown; it answers
HTTP 200 with ``errcode`` 0, or an error code (45009 rate limited, 93000 a removed
robot or a wrong key, ...). 政务微信 and private deployments answer the same API on
their own hosts: any http(s) URL with a ``key`` parameter is accepted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from monitor.alerts.channels.base import (
    Channel,
    Limit,
    Outgoing,
    PermanentFailure,
    RateLimited,
    TransientFailure,
    check_url,
)
from monitor.alerts.channels.text import markdown

MAX_BYTES = 4096
# What the platform's codes mean, in English (see DeliveryError: the console reads them
# in Chinese).
ERRORS = {
    45009: "calling too often: at most 20 messages a minute per robot",
    93000: "invalid webhook address: the robot may have been removed from the group chat, or"
    " the key is wrong",
    93004: "the robot has been disabled",
    93008: "the robot is not in this group",
    40008: "unsupported message type",
    44004: "the message is empty",
    40058: "the message is longer than the limit",
    -1: "WeCom is busy",
}


class Secrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook: str  # https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...

    @field_validator("webhook")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, query="key")


class WeComRobot(Channel):
    kind = "wecom"
    label = "企业微信群机器人"
    limits = (Limit(20, 60.0),)
    Secrets = Secrets

    def send(self, out: Outgoing) -> None:
        body = {
            "msgtype": "markdown",
            "markdown": {"content": markdown(out.notice, out.ack_url, MAX_BYTES)},
        }
        answer = self.answer_json(self.post(self.secrets.webhook, json_body=body))
        code = int(answer.get("errcode", -2))
        if code == 0:
            return
        text = f"WeCom {code}: {ERRORS.get(code, 'unknown error')} ({answer.get('errmsg', '')})"
        if code == 45009:
            raise RateLimited(text, 60.0, str(code))
        if code == -1:
            raise TransientFailure(text, str(code))
        raise PermanentFailure(text, str(code))

"""飞书 / Lark custom bot: an interactive card with 签收 and 查看 buttons.

Security settings, as the bot's page offers them: **签名校验** (the JSON body carries
``timestamp``, seconds as text, and ``sign``, the base64 of HMAC-SHA256 keyed with
``timestamp + "\\n" + secret`` over nothing), **自定义关键词** (added if the message
lacks them) and an IP list. The platform takes 100 messages a minute and 5 a second per
bot; it answers ``code`` 0, or 19021 (signature or timestamp refused), 19022 (IP not
allowed), 19024 (keyword missing), 11232 (too frequent), ...
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.alerts.channels.base import (
    Channel,
    ChannelSettings,
    Limit,
    Outgoing,
    PermanentFailure,
    RateLimited,
    TransientFailure,
    check_url,
)
from monitor.alerts.channels.text import markdown

MAX_BYTES = 8000
TEMPLATES = {"critical": "red", "warning": "orange", "info": "blue"}
# What the platform's codes mean, in English (see DeliveryError: the console reads them
# in Chinese).
ERRORS = {
    19021: "signature check failed: check the signing secret, or whether the server's clock"
    " is more than an hour off Feishu's",
    19022: "the server's IP address is not on the robot's allow list",
    19024: "the message holds none of the robot's custom keywords",
    11232: "sending too often: at most 100 messages a minute and 5 a second per robot",
    9499: "malformed request",
    19001: "invalid parameter",
}


def sign(secret: str, timestamp: int) -> str:
    """The ``sign`` field for ``timestamp`` (seconds)."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class Settings(ChannelSettings):
    keywords: list[str] = Field(default_factory=list, description="自定义关键词")


class Secrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook: str  # https://open.feishu.cn/open-apis/bot/v2/hook/...
    secret: str = ""  # 签名校验 secret

    @field_validator("webhook")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, path_prefix="/open-apis/bot/")


class FeishuBot(Channel):
    kind = "feishu"
    label = "飞书群机器人"
    limits = (Limit(5, 1.0), Limit(100, 60.0))
    Settings = Settings
    Secrets = Secrets

    def card(self, out: Outgoing) -> dict[str, Any]:
        notice = out.notice
        text = markdown(notice, out.ack_url, MAX_BYTES, heading="")
        keywords = self.settings.keywords
        if keywords and not any(k in notice.headline or k in text for k in keywords):
            text += f"\n（{keywords[0]}）"
        buttons = []
        if out.ack_url:
            buttons.append(_button("签收", out.ack_url, "primary"))
        buttons.append(_button("查看", notice.console_url, "default"))
        return {
            "config": {"wide_screen_mode": True},
            "header": {
                "title": {"tag": "plain_text", "content": notice.headline},
                "template": "red" if notice.emergency else TEMPLATES.get(notice.severity, "blue"),
            },
            "elements": [
                {"tag": "div", "text": {"tag": "lark_md", "content": text}},
                {"tag": "action", "actions": buttons},
            ],
        }

    def send(self, out: Outgoing) -> None:
        body: dict[str, Any] = {"msg_type": "interactive", "card": self.card(out)}
        if self.secrets.secret:
            now = int(time.time())  # the platform checks the wall clock (see dingtalk.py)
            body = {"timestamp": str(now), "sign": sign(self.secrets.secret, now)} | body
        answer = self.answer_json(self.post(self.secrets.webhook, json_body=body))
        # Older deployments answer StatusCode/StatusMessage; current ones code/msg.
        code = answer.get("code", answer.get("StatusCode"))
        said = str(answer.get("msg", answer.get("StatusMessage", "")))
        if code == 0:
            return
        text = f"Feishu {code}: {ERRORS.get(code, 'unknown error')} ({said})"  # type: ignore[arg-type]
        if code == 11232:
            raise RateLimited(text, 60.0, str(code))
        if code is None:
            raise TransientFailure(f"the answer of Feishu has no code: {str(answer)[:200]}")
        raise PermanentFailure(text, str(code))


def _button(label: str, url: str, kind: str) -> dict[str, Any]:
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": label},
        "url": url,
        "type": kind,
    }

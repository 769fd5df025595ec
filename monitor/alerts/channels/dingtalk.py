"""钉钉 (DingTalk) custom robot: an action card with 签收 and 查看 buttons.

Security settings, as the robot's page offers them: **加签** (signed mode: the request
carries ``timestamp``, milliseconds, and ``sign``, the URL-encoded base64 of
HMAC-SHA256 keyed with the secret over ``timestamp + "\\n" + secret``) and/or
**自定义关键词** (the message must contain one of the keywords; it is added if the text
lacks them). The platform takes 20 messages a minute per robot (then blocks it for ten
minutes) and answers HTTP 200 with ``errcode`` 0 or an error code: 310000 with
``sign not match`` / ``keywords not in content`` / an IP not on the list, 130101 or
410100 too fast, 300001 or 400101 a wrong token, ...
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

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

MAX_BYTES = 5000  # the platform takes more; a phone screen does not
BLOCKED_SECONDS = 600.0  # how long DingTalk refuses a robot that went over its limit
# What the platform's codes mean, in English (see DeliveryError: the console reads them
# in Chinese).
ERRORS = {
    130101: "sending too fast: at most 20 messages a minute per robot, then blocked for 10 minutes",
    410100: "blocked for sending too fast",
    300001: "no such access_token: the robot may have been removed",
    400101: "no such access_token",
    400102: "the robot is disabled",
    400106: "no such robot",
    400013: "the group has been dissolved",
    400105: "unsupported message type",
    430101: "the message holds an unsafe link",
    430102: "the message holds inappropriate text",
    430104: "the message holds inappropriate content",
    -1: "DingTalk is busy",
}
REFUSALS = {  # errcode 310000: which security setting refused it
    "sign": "signature mismatch: check the signing secret, or whether the server's clock is right",
    "timestamp": "invalid timestamp: the server's clock is more than an hour off DingTalk's",
    "keywords": "the message holds none of the robot's custom keywords",
    "ip": "the server's IP address is not on the robot's allow list",
}


def sign(secret: str, timestamp: int) -> str:
    """The ``sign`` parameter for ``timestamp`` (milliseconds), URL-encoded as sent."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


class Settings(ChannelSettings):
    keywords: list[str] = Field(default_factory=list, description="自定义关键词")


class Secrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook: str  # https://oapi.dingtalk.com/robot/send?access_token=...
    secret: str = ""  # SEC...: the 加签 secret

    @field_validator("webhook")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, query="access_token")


class DingTalkRobot(Channel):
    kind = "dingtalk"
    label = "钉钉群机器人"
    limits = (Limit(20, 60.0),)
    Settings = Settings
    Secrets = Secrets

    def send(self, out: Outgoing) -> None:
        notice = out.notice
        text = markdown(notice, out.ack_url, MAX_BYTES)
        keywords = self.settings.keywords
        if keywords and not any(k in notice.headline or k in text for k in keywords):
            text += f"\n\n（{keywords[0]}）"
        card: dict[str, object] = {"title": notice.headline, "text": text}
        if out.ack_url:
            card["btnOrientation"] = "1"
            card["btns"] = [
                {"title": "签收", "actionURL": out.ack_url},
                {"title": "查看", "actionURL": notice.console_url},
            ]
        else:
            card |= {"singleTitle": "查看", "singleURL": notice.console_url}
        url = self.secrets.webhook
        if self.secrets.secret:
            # The platform checks the wall clock, not business time (which a demo may run
            # faster): a signature is a protocol matter.
            now = int(time.time() * 1000)
            url += f"&timestamp={now}&sign={sign(self.secrets.secret, now)}"
        answer = self.answer_json(
            self.post(url, json_body={"msgtype": "actionCard", "actionCard": card})
        )
        self.check(answer)

    @staticmethod
    def check(answer: dict[str, object]) -> None:
        code, said = int(str(answer.get("errcode", -2))), str(answer.get("errmsg", ""))
        if code == 0:
            return
        if code == 310000:
            why = next(
                (v for k, v in REFUSALS.items() if k in said.lower()),
                "the security settings refused it",
            )
            raise PermanentFailure(f"DingTalk 310000: {why} ({said})", "310000")
        text = f"DingTalk {code}: {ERRORS.get(code, 'unknown error')} ({said})"
        if code in (130101, 410100):
            raise RateLimited(text, BLOCKED_SECONDS, str(code))
        if code == -1:
            raise TransientFailure(text, str(code))
        raise PermanentFailure(text, str(code))

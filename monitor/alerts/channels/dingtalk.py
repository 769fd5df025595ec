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
ERRORS = {
    130101: "发送太快：每个机器人每分钟最多 20 条，超过后限流 10 分钟",
    410100: "发送速度太快而被限流",
    300001: "access_token 不存在：机器人可能已被移除",
    400101: "access_token 不存在",
    400102: "机器人已停用",
    400106: "机器人不存在",
    400013: "群已被解散",
    400105: "不支持的消息类型",
    430101: "消息含有不安全的外链",
    430102: "消息含有不合适的文本",
    430104: "消息含有不合适的内容",
    -1: "钉钉系统繁忙",
}
REFUSALS = {  # errcode 310000: which security setting refused it
    "sign": "签名不匹配：检查加签密钥，或服务器时间是否准确",
    "timestamp": "时间戳无效：服务器时间与钉钉相差超过 1 小时",
    "keywords": "消息不含机器人设置的自定义关键词",
    "ip": "服务器 IP 不在机器人的 IP 白名单内",
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
            why = next((v for k, v in REFUSALS.items() if k in said.lower()), "安全设置校验未通过")
            raise PermanentFailure(f"钉钉 310000：{why}（{said}）", "310000")
        text = f"钉钉 {code}：{ERRORS.get(code, '未知错误')}（{said}）"
        if code in (130101, 410100):
            raise RateLimited(text, BLOCKED_SECONDS, str(code))
        if code == -1:
            raise TransientFailure(text, str(code))
        raise PermanentFailure(text, str(code))

"""SMS: any HTTP gateway (a request template with placeholders) and 阿里云短信服务
(Aliyun Dysmsapi ``SendSms``, with its RPC request signature).

A route names the phone numbers; each number is a destination of its own (its own rate
limit, its own delivery). Message text comes from the notice through placeholders (see
:func:`monitor.alerts.channels.text.sms_values`): ``{headline}``, ``{severity}``,
``{rule}``, ``{title}``, ``{title20}`` (at most 20 characters), ``{region}``,
``{source}``, ``{time}``, ``{items}``, ``{more}``, ``{deadline}``, ``{kind}``, ``{ack}``
(the short acknowledge link), ``{code}`` (its last part, for templates that fix the
link's host), ``{console}``; a gateway's request also ``{phone}``, ``{text}`` and
``{secret}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from string import Formatter
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.alerts.channels.base import (
    PHONE,
    Channel,
    ChannelSettings,
    Limit,
    Outgoing,
    PermanentFailure,
    RateLimited,
    TransientFailure,
    check_url,
)
from monitor.alerts.channels.text import sms_values

NOTICE_NAMES = frozenset(
    "kind headline severity rule title title20 region source time items more deadline "
    "ack code console".split()
)
REQUEST_NAMES = NOTICE_NAMES | {"phone", "text", "secret"}
# What SMS platforms allow one number by default; a route's updates merge meanwhile.
SMS_LIMITS = (Limit(1, 60.0), Limit(5, 3600.0))


def check_template(text: str, names: frozenset[str]) -> str:
    """``text`` if its ``{placeholders}`` are all known; ValueError naming the first that
    is not."""
    try:
        used = [name for _, name, _, _ in Formatter().parse(text) if name is not None]
    except ValueError as e:
        raise ValueError(f"the template is malformed: {e}") from e
    for name in used:
        if name not in names:
            raise ValueError(
                f"unknown placeholder {{{name}}}; there are: {', '.join(sorted(names))}"
            )
    return text


def fill(template: str, values: dict[str, str]) -> str:
    return template.format_map(values)


class _SmsChannel(Channel):
    addressed = True
    limits = SMS_LIMITS

    @classmethod
    def check_to(cls, to: str) -> str:
        if not PHONE.match(to):
            raise ValueError(f"{to!r} is not a mobile number")
        return to


# -- any HTTP gateway ----------------------------------------------------------------


class GatewaySettings(ChannelSettings):
    url: str
    method: Literal["POST", "GET"] = "POST"
    format: Literal["json", "form"] = "json"
    fields: dict[str, str] = Field(default_factory=lambda: {"phone": "{phone}", "text": "{text}"})
    headers: dict[str, str] = Field(default_factory=dict)
    template: str = "【舆情{severity}】{title20}（{rule}，共{items}条）{deadline} 签收：{ack}"
    max_length: int = Field(300, ge=20, le=1000, description="characters of {text}")
    ok_field: str = Field("", description="a field of the JSON answer that must equal ok_value")
    ok_value: str = ""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        return check_template(value, NOTICE_NAMES)

    @field_validator("fields", "headers")
    @classmethod
    def _request(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            check_template(template, REQUEST_NAMES)
        return value


class GatewaySecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = ""  # for {secret} in headers or fields, e.g. an API key


class SmsGateway(_SmsChannel):
    kind = "sms_gateway"
    label = "短信网关"
    Settings = GatewaySettings
    Secrets = GatewaySecrets

    def text(self, out: Outgoing) -> str:
        values = sms_values(out.notice, out.ack_url)
        text = fill(self.settings.template, values)
        if len(text) > self.settings.max_length:  # keep the link: shorten the title
            over = len(text) - self.settings.max_length
            values["title20"] = values["title"] = values["title20"][: max(4, 20 - over)] + "…"
            text = fill(self.settings.template, values)[: self.settings.max_length]
        return text

    def send(self, out: Outgoing) -> None:
        s = self.settings
        values = sms_values(out.notice, out.ack_url)
        values |= {"phone": out.to, "text": self.text(out), "secret": self.secrets.secret}
        fields = {name: fill(t, values) for name, t in s.fields.items()}
        headers = {name: fill(t, values) for name, t in s.headers.items()}
        if s.method == "GET":
            answer = self.post(s.url, params=fields, headers=headers, method="GET")
        elif s.format == "json":
            answer = self.post(s.url, json_body=fields, headers=headers)
        else:
            answer = self.post(s.url, data=fields, headers=headers)
        said = answer.text[:200].replace("\n", " ")
        if not 200 <= answer.status_code < 300:
            raise PermanentFailure(
                f"the SMS gateway refused it (HTTP {answer.status_code}): {said}"
            )
        if s.ok_field:
            got = self.answer_json(answer).get(s.ok_field)
            if str(got) != s.ok_value:
                raise PermanentFailure(
                    f"the SMS gateway answered {s.ok_field}={got}: {said}", str(got)
                )


# -- 阿里云短信服务 ------------------------------------------------------------------


def percent(text: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's RPC signature specifies (only A-Z a-z 0-9
    - _ . ~ stay; a space is %20)."""
    return quote(text, safe="~")


def rpc_signature(secret: str, params: dict[str, str], method: str = "POST") -> str:
    """Aliyun's RPC (V1, HMAC-SHA1) signature of ``params``: the sorted, encoded query
    as ``METHOD&%2F&<encoded query>``, keyed with ``secret + "&"``, base64."""
    query = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent('/')}&{percent(query)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


# What the platform's codes mean, in English (see DeliveryError: the console reads them
# in Chinese).
ALIYUN_ERRORS = {
    "isv.MOBILE_NUMBER_ILLEGAL": "malformed mobile number",
    "isv.SMS_TEMPLATE_ILLEGAL": "the SMS template does not exist or is not approved",
    "isv.SMS_SIGNATURE_ILLEGAL": "the SMS signature does not exist or is not approved",
    "isv.TEMPLATE_MISSING_PARAMETERS": "a template variable has no value",
    "isv.TEMPLATE_PARAMS_ILLEGAL": "a template variable holds a forbidden keyword",
    "isv.PARAM_LENGTH_LIMIT": "a parameter is longer than the limit",
    "isv.AMOUNT_NOT_ENOUGH": "the account balance is too low",
    "isv.BLACK_KEY_CONTROL_LIMIT": "the text holds a blocklisted keyword",
    "isv.DENY_IP_RANGE": "the server's IP address is not in the allowed range",
    "isv.MOBILE_COUNT_OVER_LIMIT": "too many mobile numbers",
    "SignatureDoesNotMatch": "signature mismatch: check the AccessKey Secret",
    "InvalidAccessKeyId.NotFound": "no such AccessKey ID",
    "InvalidAccessKeyId.Inactive": "the AccessKey is disabled",
    "InvalidTimeStamp.Expired": "expired timestamp: the server's clock is more than 15 minutes"
    " off Aliyun's",
    "Forbidden.RAM": "the RAM user may not send SMS",
}
_RETRY = {"isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "SignatureNonceUsed", "ServiceUnavailable"}
# Aliyun's own (Chinese) answer to a flow control names its window in these words.
_LIMIT_WINDOW = {"分钟": 60.0, "小时": 3600.0, "天": 86400.0}


class AliyunSettings(ChannelSettings):
    access_key_id: str = Field(min_length=1)
    sign_name: str = Field(min_length=1, description="短信签名")
    template_code: str = Field(pattern=r"^SMS_\d+$", description="模板 CODE")
    params: dict[str, str] = Field(
        default_factory=lambda: {
            "severity": "{severity}",
            "title": "{title20}",
            "count": "{items}",
            "code": "{code}",
        },
        description="模板变量 -> 占位符",
    )
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    region_id: str = "cn-hangzhou"

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            check_template(template, NOTICE_NAMES)
        return value


class AliyunSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_key_secret: str = Field(min_length=1)


class AliyunSms(_SmsChannel):
    kind = "sms_aliyun"
    label = "阿里云短信"
    Settings = AliyunSettings
    Secrets = AliyunSecrets

    def request(self, out: Outgoing, timestamp: float, nonce: str) -> dict[str, str]:
        """The signed form of the ``SendSms`` request for ``out``."""
        s = self.settings
        values = sms_values(out.notice, out.ack_url)
        params = {
            "AccessKeyId": s.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": out.delivery_id[:32],
            "PhoneNumbers": out.to,
            "RegionId": s.region_id,
            "SignName": s.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": s.template_code,
            "TemplateParam": json.dumps(
                {k: fill(t, values) for k, t in s.params.items()}, ensure_ascii=False
            ),
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp)),
            "Version": "2017-05-25",
        }
        params["Signature"] = rpc_signature(self.secrets.access_key_secret, params)
        return params

    def send(self, out: Outgoing) -> None:
        # The platform checks the wall clock (see dingtalk.py).
        form = self.request(out, time.time(), uuid.uuid4().hex)
        answer = self.post(self.settings.endpoint, data=form)
        body = self.answer_json(answer)
        code, said = str(body.get("Code", "")), str(body.get("Message", ""))
        if code == "OK":
            return
        text = f"Aliyun SMS {code}: {ALIYUN_ERRORS.get(code, said or 'unknown error')} ({said})"
        if code == "isv.BUSINESS_LIMIT_CONTROL" or code.startswith("Throttling"):
            window = next((s for word, s in _LIMIT_WINDOW.items() if word in said), 60.0)
            raise RateLimited(f"Aliyun SMS {code}: rate limited ({said})", window, code)
        if code in _RETRY:
            raise TransientFailure(text, code)
        raise PermanentFailure(text, code)


SMS_KINDS = (SmsGateway, AliyunSms)

"""What the channel tests share: the fake platforms (real HTTP servers on 127.0.0.1),
one configured channel of each kind pointing at them, and a routing table."""

from __future__ import annotations

from typing import Any

from alerting_support import T0, Clock

from devtools.fakeplatforms import FakePlatforms
from monitor.alerts.delivery import save_channel, save_routing
from monitor.alerts.outbox import Sender
from store import Store
from store.acting import Acting
from yuqing.config import SmtpConfig

DING_SECRET = "SEC5f3c2a9d0e1b4c7a8f6e2d1c0b9a8f7e6d5c4b3a29180716f5e4d3c2b1a0f9e8"
FEISHU_SECRET = "fs8Kd02nQvX3bLmP9wTz"
HOOK_SECRET = "whsec-7d2f9c1e5a8b3d6f0e4c2a1b9d8e7f6a"
ALI_ID, ALI_SECRET = "LTAI5tFakeKeyForTests", "aliFakeSecret0123456789abcdef"
GATEWAY_KEY = "gw-api-key-1234567890"
PHONE = "13800000001"
# channel id -> kind, for the parametrised tests
KINDS = {
    "duty-wecom": "wecom",
    "duty-ding": "dingtalk",
    "duty-feishu": "feishu",
    "ops-hook": "webhook",
    "sms-gw": "sms_gateway",
    "sms-ali": "sms_aliyun",
}
PLATFORM = {  # channel id -> what the fake records it as
    "duty-wecom": "wecom",
    "duty-ding": "dingtalk",
    "duty-feishu": "feishu",
    "ops-hook": "webhook",
    "sms-gw": "sms",
    "sms-ali": "aliyun",
}


def channel_settings(fakes: FakePlatforms) -> dict[str, tuple[str, dict[str, Any], dict[str, str]]]:
    """id -> (kind, settings, secrets) of one channel per kind, at ``fakes``."""
    return {
        "duty-wecom": ("wecom", {}, {"webhook": fakes.add_wecom("wk-duty")}),
        "duty-ding": (
            "dingtalk",
            {"keywords": ["舆情"]},
            {
                "webhook": fakes.add_dingtalk("dt-duty", DING_SECRET, ["舆情"]),
                "secret": DING_SECRET,
            },
        ),
        "duty-feishu": (
            "feishu",
            {"keywords": ["舆情"]},
            {
                "webhook": fakes.add_feishu("fs-duty", FEISHU_SECRET, ["舆情"]),
                "secret": FEISHU_SECRET,
            },
        ),
        "ops-hook": (
            "webhook",
            {"url": fakes.add_webhook("ops", HOOK_SECRET)},
            {"secret": HOOK_SECRET},
        ),
        "sms-gw": (
            "sms_gateway",
            {
                "url": fakes.add_gateway(GATEWAY_KEY),
                "headers": {"Authorization": "Bearer {secret}"},
                "ok_field": "code",
                "ok_value": "0",
            },
            {"secret": GATEWAY_KEY},
        ),
        "sms-ali": (
            "sms_aliyun",
            {
                "access_key_id": ALI_ID,
                "sign_name": "舆情监测",
                "template_code": "SMS_460725001",
                "endpoint": fakes.add_aliyun(ALI_ID, ALI_SECRET),
            },
            {"access_key_secret": ALI_SECRET},
        ),
    }


def add_channels(
    store: Store,
    fakes: FakePlatforms,
    only: list[str] | None = None,
    phones: list[str] | None = None,
) -> list[str]:
    """Configure the channels (``only`` those ids) and route every alert to them; the
    SMS channels to ``phones``. Returns the channel ids."""
    chosen = []
    for ident, (kind, settings, secrets) in channel_settings(fakes).items():
        if only is not None and ident not in only:
            continue
        save_channel(
            Acting("test", store, lambda: T0), ident, kind, f"测试{kind}", settings, secrets
        )
        chosen.append(ident)
    to = [
        {"channel": c, "to": phones or [PHONE]} if KINDS[c].startswith("sms") else {"channel": c}
        for c in chosen
    ]
    save_routing(Acting("test", store, lambda: T0), {"routes": [{"name": "全部", "to": to}]})
    return chosen


def add_misconfigured(store: Store, fakes: FakePlatforms, clock: Clock) -> None:
    """One channel of each kind the platform refuses for good, routed to by every alert: a
    wrong signing secret (DingTalk), a keyword the robot wants and the message lacks
    (Feishu), a removed robot (WeCom), a wrong API key (SMS gateway), a wrong AccessKey
    secret (Aliyun), a receiver that refuses the signature (webhook)."""
    settings = channel_settings(fakes)
    fakes.add_feishu("fs-strict", keywords=["舆情告警"])  # wants a word the message lacks
    wrong: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = [
        # (id, kind, name, settings, secrets)
        (
            "duty-ding",
            "dingtalk",
            "区值班群",
            settings["duty-ding"][1],
            settings["duty-ding"][2] | {"secret": "SECwrong"},
        ),
        (
            "duty-feishu",
            "feishu",
            "飞书群",
            {},
            {"webhook": f"{fakes.url}/open-apis/bot/v2/hook/fs-strict"},
        ),
        (
            "duty-wecom",
            "wecom",
            "企业微信群",
            {},
            {"webhook": f"{fakes.url}/cgi-bin/webhook/send?key=6c1d0f52-removed-robot"},
        ),
        (
            "sms-ali",
            settings["sms-ali"][0],
            "阿里云短信",
            settings["sms-ali"][1],
            {"access_key_secret": "wrong"},
        ),
        (
            "ops-hook",
            settings["ops-hook"][0],
            "Webhook",
            settings["ops-hook"][1],
            {"secret": "x" * 32},
        ),
        ("sms-gw", settings["sms-gw"][0], "短信网关", settings["sms-gw"][1], {"secret": "wrong"}),
    ]
    for ident, kind, name, chosen, secrets in wrong:
        save_channel(Acting("t", store, clock), ident, kind, name, chosen, secrets)
    to = [{"channel": c} for c in ("duty-ding", "duty-feishu", "duty-wecom", "ops-hook")]
    sms = [{"channel": c, "to": [PHONE]} for c in ("sms-gw", "sms-ali")]
    save_routing(Acting("t", store, clock), {"routes": [{"name": "全部", "to": [*to, *sms]}]})


def sender(store: Store, clock: Clock, **options: Any) -> Sender:
    return Sender(store, SmtpConfig(port=1, timeout=2), clock, base_delay=5, **options)

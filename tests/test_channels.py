"""Chat, SMS and webhook channels against the local fake platforms (real HTTP servers on
127.0.0.1 that check signatures as the platforms document them): the signers, what a
message says, the platforms' refusals, servers down then up, rate limits, every
delivery exactly once."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from alerting_support import RECIPIENTS, Clock, add, alerting, story
from channel_support import (
    DING_SECRET,
    FEISHU_SECRET,
    HOOK_SECRET,
    KINDS,
    PHONE,
    PLATFORM,
    add_channels,
    channel_settings,
    sender,
)

from devtools.fakeplatforms import FakePlatforms
from monitor.alerts.channels import dingtalk, feishu, webhook
from monitor.alerts.channels.sms import rpc_signature
from monitor.alerts.delivery import save_channel
from store import Store


@pytest.fixture
def fakes() -> Iterator[FakePlatforms]:
    server = FakePlatforms().start()
    yield server
    server.release.set()
    server.stop()


def chat_keys(store: Store) -> Counter[str]:
    """Deliveries that are not emails, per status."""
    return Counter(m.status for m in store.outbox.list(limit=1000) if m.channel != "email")


# -- the signers -----------------------------------------------------------------------


def test_aliyun_signer_matches_the_documented_example() -> None:
    """The example of Aliyun's SMS documentation (HTTP GET, secret testSecret)."""
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert rpc_signature("testSecret", params, "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert rpc_signature("testSecret", params, "POST") != "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_dingtalk_and_feishu_signatures_are_the_documented_ones() -> None:
    """Written out from the platforms' descriptions, apart from the senders' code."""
    import base64
    import hashlib
    import hmac
    from urllib.parse import unquote_plus

    stamp = 1612492200000
    mac = hmac.new(DING_SECRET.encode(), f"{stamp}\n{DING_SECRET}".encode(), hashlib.sha256)
    sent = dingtalk.sign(DING_SECRET, stamp)
    assert unquote_plus(sent) == base64.b64encode(mac.digest()).decode()
    assert "+" not in sent and "/" not in sent and "=" not in sent  # URL-encoded as sent
    key = f"{stamp // 1000}\n{FEISHU_SECRET}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu.sign(FEISHU_SECRET, stamp // 1000) == expected


def test_webhook_signature_checks_body_secret_and_replay_window() -> None:
    body = json.dumps({"schema": webhook.SCHEMA, "alert": {"title": "起火"}}).encode()
    header = webhook.signature(HOOK_SECRET, 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert webhook.verify(HOOK_SECRET, header, body, 1_700_000_100) == 1_700_000_000
    with pytest.raises(ValueError, match="does not match"):
        webhook.verify(HOOK_SECRET, header, body + b" ", 1_700_000_100)
    with pytest.raises(ValueError, match="does not match"):
        webhook.verify("another-secret-of-16", header, body, 1_700_000_100)
    with pytest.raises(ValueError, match="replay window"):
        webhook.verify(HOOK_SECRET, header, body, 1_700_000_000 + 301)


# -- what each channel says ---------------------------------------------------------------


def test_each_channel_delivers_each_alert_once_in_chinese(store: Store, fakes: FakePlatforms) -> None:
    clock = Clock()
    ids = add_channels(store, fakes)
    alerts = alerting(store, clock)
    title = '潼南区双江镇民房[起火](http://evil.example/x) <font color="red">*'
    [ident] = add(store, alerts, [story(1, title=title)])
    alert = store.alerts.get(ident)
    assert alert is not None and sorted(alert.targets) == sorted(
        f"{c}:{PHONE}" if KINDS[c].startswith("sms") else c for c in ids
    )
    # The emails wait for an SMTP server this test has none of (see test_alert_email.py).
    assert sender(store, clock).run_once() == len(ids)
    got = {r.platform: r for r in fakes.received}
    assert sorted(got) == sorted(PLATFORM.values()) and len(fakes.received) == len(ids)
    assert not fakes.refused

    md = got["wecom"].body["markdown"]["content"]
    assert md.startswith("### 【舆情严重】") and "**方案**：潼南火灾（严重）" in md
    assert "［【起火】］（http://evil.example/x） ＜font color=\"red\"＞＊" in md  # inert
    assert "[签收](https://yq.example.cn/k/" in md and f"[查看](https://yq.example.cn/alerts/{ident})" in md
    assert "（时间为 Asia/Shanghai）" in md and "**时限**：签收截止 02-05 11:00" in md

    card = got["dingtalk"].body["actionCard"]
    assert [b["title"] for b in card["btns"]] == ["签收", "查看"]
    assert card["btns"][0]["actionURL"].startswith("https://yq.example.cn/k/")
    query = dict(parse_qsl(urlsplit(card["btns"][0]["actionURL"]).query))
    assert not query  # the short link carries nothing but its code

    feishu_card = got["feishu"].body["card"]
    assert feishu_card["header"]["template"] == "red"
    assert [a["text"]["content"] for a in feishu_card["elements"][1]["actions"]] == ["签收", "查看"]

    hook = got["webhook"]
    assert hook.body["schema"] == "yuqing.alert/1" and hook.body["alert"]["title"] == title
    assert hook.body["alert"]["ack_url"].startswith("https://yq.example.cn/k/")
    assert hook.key == store.outbox.get(f"{ident}/ops-hook/new").id  # type: ignore[union-attr]

    sms = got["sms"].body
    assert sms["phone"] == PHONE and sms["text"].startswith("【舆情严重】")
    assert "签收：https://yq.example.cn/k/" in sms["text"] and len(sms["text"]) <= 300
    params = json.loads(got["aliyun"].body["TemplateParam"])
    assert params["severity"] == "严重" and params["count"] == "1" and len(params["code"]) == 12
    assert len(params["title"]) <= 20

    actions = Counter(e.action for e in store.alert_timeline.list(ident))
    assert actions["notified"] == len(ids) and not actions["notify_failed"]
    assert {m.recipient for m in store.outbox.list(channel="email")} == set(RECIPIENTS)
    assert chat_keys(store) == {"sent": len(ids)}

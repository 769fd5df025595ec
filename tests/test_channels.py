"""Chat, SMS and webhook channels against the local fake platforms (real HTTP servers on
127.0.0.1 that check signatures as the platforms document them): the signers, what a
message says, the platforms' refusals, servers down then up, rate limits, every
delivery exactly once. A sender killed mid-send: tests/test_channels_kill.py."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
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
    add_misconfigured,
    sender,
)

from api.console.messages import chinese
from devtools.fakeplatforms import FakePlatforms
from monitor.alerts.channels import dingtalk, feishu, webhook
from monitor.alerts.channels.sms import rpc_signature
from monitor.alerts.delivery import save_channel
from store import Store
from store.acting import Acting


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


def test_each_channel_delivers_each_alert_once_in_chinese(
    store: Store, fakes: FakePlatforms
) -> None:
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
    assert '［【起火】］（http://evil.example/x） ＜font color="red"＞＊' in md  # inert
    assert (
        "[签收](https://yq.example.cn/k/" in md
        and f"[查看](https://yq.example.cn/alerts/{ident})" in md
    )
    assert "（时间为 北京时间）" in md and "**时限**：签收截止 02-05 11:00" in md

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


# -- refusals, outages, rate limits -----------------------------------------------------


def test_refusals_are_dead_letters_with_the_reason_in_english_read_in_chinese(
    store: Store, fakes: FakePlatforms
) -> None:
    """A wrong signing secret, a keyword the robot wants and the message lacks, a
    removed robot, a wrong API key or AccessKey secret: recorded, not retried. The reason
    is recorded in English (the domain's language); the console's catalog reads it in
    Chinese as it was written before."""
    clock = Clock()
    add_misconfigured(store, fakes, clock)
    [ident] = add(store, alerting(store, clock), [story(1)])
    send = sender(store, clock)
    assert send.run_once() == 0
    clock.advance(hours=1)
    assert send.run_once() == 0  # nothing retried
    failed = {m.channel: m for m in store.outbox.list(status="failed")}
    assert sorted(failed) == [
        "duty-ding",
        "duty-feishu",
        "duty-wecom",
        "ops-hook",
        "sms-ali",
        "sms-gw",
    ]
    said = {ident: (m.error, chinese(m.error)) for ident, m in failed.items()}
    expected = {
        "duty-ding": (
            "DingTalk 310000: signature mismatch: check the signing secret",
            "钉钉 310000：签名不匹配：检查加签密钥，或服务器时间是否准确（",
        ),
        "duty-feishu": (
            "Feishu 19024: the message holds none of the robot's custom keywords (",
            "飞书 19024：消息不含机器人设置的自定义关键词（",
        ),
        "duty-wecom": (
            "WeCom 93000: invalid webhook address: the robot may have been removed",
            "企业微信 93000：webhook 地址无效：机器人可能已被移出群聊，或 key 有误（",
        ),
        "sms-ali": (
            "Aliyun SMS SignatureDoesNotMatch: signature mismatch: check the AccessKey Secret (",
            "阿里云短信 SignatureDoesNotMatch：签名不匹配：检查 AccessKey Secret（",
        ),
        "sms-gw": ("the SMS gateway refused it (HTTP 401): ", "短信网关拒绝（HTTP 401）："),
        "ops-hook": ("the receiver refused it (HTTP 401): ", "接收方拒绝（HTTP 401）："),
    }
    for channel, (english, zh) in expected.items():
        assert said[channel][0].startswith(english), said[channel]
        assert said[channel][1].startswith(zh), said[channel]
    assert said["duty-ding"][1].endswith("）")  # the platform's own words quoted whole
    assert {m.attempts for m in failed.values()} == {1} and not fakes.received
    assert len(fakes.refused) == 6
    actions = Counter(e.action for e in store.alert_timeline.list(ident))
    assert actions["notify_failed"] == 6


def test_platforms_down_then_up_every_message_once(store: Store, fakes: FakePlatforms) -> None:
    clock = Clock()
    ids = add_channels(store, fakes, phones=["13800000001", "13800000002"])
    fakes.clock = lambda: clock().timestamp()  # the platforms count in the test's time
    alerts = alerting(store, clock)
    add(store, alerts, [story(n) for n in range(3)])
    fakes.stop()  # every platform down
    send = sender(store, clock)
    assert send.run_once() == 0
    waiting = [m for m in store.outbox.list(limit=100) if m.channel != "email"]
    expected = len(waiting)
    assert expected == 3 * (len(ids) + 2) - 0  # each SMS channel: two numbers
    assert {(m.status, m.attempts) for m in waiting} == {("pending", 1)}
    assert all(m.error.startswith("cannot connect to 127.0.0.1:") for m in waiting)
    assert all(chinese(m.error).startswith("无法连接 127.0.0.1:") for m in waiting)
    clock.advance(seconds=5)
    assert send.run_once() == 0
    fakes.start()  # up again, same port
    clock.advance(seconds=10)
    sent = 0
    for _ in range(20):  # SMS numbers take one message a minute: let the minutes pass
        sent += send.run_once()
        clock.advance(seconds=61)
    keys = [
        m.key for m in store.outbox.list(limit=100) if m.channel != "email" and m.status == "sent"
    ]
    assert len(keys) == expected == sent
    per = Counter((r.platform, r.robot) for r in fakes.received)
    assert len(fakes.received) == expected and not fakes.refused
    assert per[("dingtalk", "dt-duty")] == 3 and per[("aliyun", "13800000002")] == 3
    hooks = [r.key for r in fakes.received if r.platform == "webhook"]
    assert len(hooks) == len(set(hooks)) == 3


def test_rate_limit_queues_and_merges_a_burst_never_drops(
    store: Store, fakes: FakePlatforms
) -> None:
    """25 alerts and their updates for one DingTalk robot (20 a minute): 20 go at once,
    the rest wait their turn; an alert's queued updates go as one message."""
    clock = Clock()
    add_channels(store, fakes, only=["duty-ding"])
    fakes.clock = lambda: clock().timestamp()  # the platform counts in the test's time
    alerts = alerting(store, clock)
    firsts = [story(n) for n in range(25)]
    idents = add(store, alerts, firsts)
    send = sender(store, clock)
    assert send.run_once() == 20
    assert len(fakes.received) == 20 and not fakes.refused  # never over the limit
    held = [
        m
        for m in store.outbox.list(limit=100)
        if m.channel == "duty-ding" and m.status == "pending"
    ]
    assert len(held) == 5 and {m.attempts for m in held} == {0}
    # Meanwhile the held alerts grow: their updates queue behind them.
    late = {m.alert_id for m in held}
    stories = {s.id: s for s in firsts}
    for n, ident in enumerate(sorted(late)):
        first = stories[store.alerts.get(ident).item_id]  # type: ignore[union-attr]
        clock.advance(minutes=31)
        add(store, alerts, [story(100 + n, event=first.id)])
        alerts.tick()
    queued = [
        m
        for m in store.outbox.list(limit=200)
        if m.channel == "duty-ding" and m.status == "pending"
    ]
    assert Counter(m.kind for m in queued) == {"new": 5, "update": 5}
    clock.advance(minutes=1)
    assert send.run_once() == 5  # five messages for ten deliveries
    merged = [m for m in store.outbox.list(limit=200) if m.status == "merged"]
    assert len(merged) == 5 and all(m.merged_into.endswith("/new") for m in merged)
    texts = [r.body["actionCard"]["text"] for r in fakes.received[20:]]
    assert all("**规模**：共 2 条相关信息" in t for t in texts)
    assert len(fakes.received) == 25 and not fakes.refused
    assert {
        m.alert_id for m in store.outbox.list(limit=200) if m.status in ("sent", "merged")
    } == set(idents)


def test_a_platforms_rate_limit_answer_waits_and_costs_no_attempt(
    store: Store, fakes: FakePlatforms
) -> None:
    """Another sender (or a restart) used the robot's minute: the platform says 130101,
    the delivery waits the ten minutes DingTalk blocks a robot for, then goes."""
    clock = Clock()
    add_channels(store, fakes, only=["duty-ding"])
    fakes.clock = lambda: clock().timestamp()
    for _ in range(20):  # someone else's messages this minute
        assert not fakes.over_limit("dingtalk:dt-duty", [(20, 60.0)], block=600.0)
    add(store, alerting(store, clock), [story(1)])
    send = sender(store, clock)
    assert send.run_once() == 0
    [waiting] = store.outbox.list(channel="duty-ding")
    assert waiting.status == "pending" and waiting.attempts == 0
    assert waiting.error.startswith(
        "DingTalk 130101: sending too fast"
    ) and waiting.due == clock() + timedelta(seconds=600)
    clock.advance(minutes=5)
    assert send.run_once() == 0 and len(fakes.refused) == 1  # not asked again meanwhile
    clock.advance(minutes=6)
    assert send.run_once() == 1 and len(fakes.received) == 1


def test_long_events_fit_the_platforms_limits_with_a_count_of_the_rest(
    store: Store, fakes: FakePlatforms
) -> None:
    from monitor.alerts.channels.base import Outgoing
    from monitor.alerts.channels.text import markdown
    from monitor.alerts.notice import Entry, Notice

    entries = [
        Entry("潼南区" + "很长的标题" * 60 + str(n), "tn-news", "2021-02-05 10:30", "http://a.cn/x")
        for n in range(5)
    ]
    notice = Notice(
        "new",
        "a1",
        "潼南火灾",
        "critical",
        "标题" * 400,
        "https://yq.example.cn/alerts/a1",
        "https://yq.example.cn",
        "Asia/Shanghai",
        "2021-02-05T10:30:00+08:00",
        items=57,
        entries=entries,
    )
    text = markdown(notice, "https://yq.example.cn/k/abc", 4096)
    assert len(text.encode()) <= 4096 and "等 52 条" in text  # 5 listed of 57
    assert (
        text.endswith("（时间为 Asia/Shanghai）") and "[签收](https://yq.example.cn/k/abc)" in text
    )
    assert "标题" * 59 + "标…" in text  # the title shortened for a phone
    short = markdown(notice, "https://yq.example.cn/k/abc", 600)
    assert len(short.encode()) <= 600 and short.endswith("（时间为 Asia/Shanghai）")
    assert "[签收](https://yq.example.cn/k/abc)" in short  # the links survive any cut
    # Through a real channel: WeCom takes it (its 4096-byte limit is checked).
    add_channels(store, fakes, only=["duty-wecom"])
    from monitor.alerts.channels import build

    config = store.channels.get("duty-wecom")
    assert config is not None
    with httpx.Client() as http:
        build(config, http, Clock()).send(
            Outgoing(notice, "", "https://yq.example.cn/k/abc", "k", "d")
        )
    assert len(fakes.received) == 1 and not fakes.refused


def test_recorded_errors_never_carry_a_channels_secret(store: Store) -> None:
    """A proxy's error page may echo the request: the key in a webhook address, a
    signing secret and a gateway's API key are masked before anything is recorded."""
    from monitor.alerts.channels import build

    hook = "https://oapi.dingtalk.com/robot/send?access_token=tok3n-0f-the-robot"
    save_channel(
        Acting("t", store, Clock()),
        "d",
        "dingtalk",
        "群",
        {},
        {"webhook": hook, "secret": DING_SECRET},
    )
    config = store.channels.get("d")
    assert config is not None
    with httpx.Client() as http:
        channel = build(config, http, Clock())
    said = channel.redact(f"502 from proxy for {hook}: token tok3n-0f-the-robot, key {DING_SECRET}")
    assert "tok3n-0f-the-robot" not in said and DING_SECRET not in said and said.count("***") >= 2
    # The API's own word ending the path (robot/send) is no secret: a reason keeps it.
    reason = "DingTalk 130101: sending too fast: at most 20 messages a minute per robot"
    assert channel.redact(reason) == reason
    # A token of letters only ending the path (Feishu's is there) is masked all the same.
    token = "ZqXwVuTsRpOnMlKj"
    feishu_hook = f"https://open.feishu.cn/open-apis/bot/v2/hook/{token}"
    save_channel(Acting("t", store, Clock()), "f", "feishu", "飞书群", {}, {"webhook": feishu_hook})
    config = store.channels.get("f")
    assert config is not None
    with httpx.Client() as http:
        hooked = build(config, http, Clock())
    assert token not in hooked.redact(f"HTTP 502: no robot {token}")

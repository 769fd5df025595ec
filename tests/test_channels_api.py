"""Channels, routing and deliveries through the API and the console: secrets
write-only (masked, never returned), one audit entry per change, test sends against the
fake platforms, the routing preview, dead letters resent, an alert's deliveries on its
page, and the short acknowledge link of chat messages working once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from alerting_support import SECRET, Clock, add, alerting, story
from api_support import Browser, make_app, signed_in
from apiflask import APIFlask
from channel_support import DING_SECRET, add_channels, add_misconfigured, sender
from lxml import html as lxml_html

from devtools.fakeplatforms import FakePlatforms
from store import Store
from store.clock import Clock as RealClock


@pytest.fixture
def fakes() -> Iterator[FakePlatforms]:
    server = FakePlatforms().start()
    yield server
    server.stop()


@pytest.fixture
def app(store: Store, tmp_path: Path) -> APIFlask:
    return make_app(
        store,
        tmp_path,
        api={"secret_key": SECRET},
        alerts={"public_url": "https://yq.example.cn", "recipients": ["duty@example.cn"]},
    )


def ding(fakes: FakePlatforms, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": "district-duty",
        "kind": "dingtalk",
        "name": "区值班群",
        "settings": {"keywords": ["舆情"], "quiet_hours": "22:00-07:00"},
        "secrets": {
            "webhook": fakes.add_dingtalk("dt-1", DING_SECRET, ["舆情"]),
            "secret": DING_SECRET,
        },
    }
    return body | changes


def test_channels_are_managed_with_write_only_secrets_and_audited(
    store: Store, app: APIFlask, admin: Browser, fakes: FakePlatforms
) -> None:
    viewer = signed_in(app, "viewer")
    operator = signed_in(app, "operator")
    assert viewer.get("/api/channels").status_code == 403
    assert operator.post("/api/channels", json=ding(fakes)).status_code == 403
    made = admin.post("/api/channels", json=ding(fakes))
    assert made.status_code == 201, made.get_json()
    doc = made.get_json()
    assert doc["secrets"]["secret"] == "●●●●" + DING_SECRET[-4:]
    everything = [admin.get("/api/channels").get_data(as_text=True), str(doc)]
    everything.append(admin.get("/api/channels/district-duty").get_data(as_text=True))
    everything.append(admin.get("/channels").get_data(as_text=True))
    everything.append(admin.get("/channels/district-duty/edit").get_data(as_text=True))
    assert not [page for page in everything if DING_SECRET in page or "access_token=dt-1" in page]
    # Changing the name with the secrets left empty keeps them.
    changed = admin.send(
        "PUT",
        "/api/channels/district-duty",
        json=ding(fakes, name="值班群", secrets={"webhook": "", "secret": ""}) | {"id": None},
    )
    assert changed.status_code == 400  # id is not part of an update
    body = {k: v for k, v in ding(fakes, name="值班群", secrets={}).items() if k != "id"}
    assert admin.send("PUT", "/api/channels/district-duty", json=body).status_code == 200
    stored = store.channels.get("district-duty")
    assert (
        stored is not None and stored.name == "值班群" and stored.secrets["secret"] == DING_SECRET
    )
    entries = store.audit.list(target="channel:district-duty")
    assert [e.action for e in entries] == ["channel.update", "channel.create"]
    assert all(DING_SECRET not in str(e.before) + str(e.after) for e in entries)
    # Wrong input: a problem document naming the field; nothing changes.
    bad = admin.post(
        "/api/channels", json=ding(fakes, id="bad-hook", secrets={"webhook": "ftp://x"})
    )
    assert bad.status_code == 400 and bad.get_json()["field"] == "secrets.webhook"
    assert "not an http(s) address" in bad.get_json()["detail"]
    assert admin.post("/api/channels", json=ding(fakes)).status_code == 409
    assert store.channels.get("bad-hook") is None


def test_test_send_reports_the_platforms_answer(
    store: Store, app: APIFlask, admin: Browser, fakes: FakePlatforms
) -> None:
    admin.post("/api/channels", json=ding(fakes))
    ok = admin.post("/api/channels/district-duty/test", json={})
    assert ok.get_json() == {"ok": True, "message": "delivered"}  # the API speaks English
    [got] = fakes.received
    assert "测试消息" in got.body["actionCard"]["text"]
    fakes.dingtalk["dt-1"].secret = "SECrotated"  # the robot's secret was reset
    page = admin.post("/channels/district-duty/test", data={"csrf_token": admin.csrf})
    text = page.get_data(as_text=True)
    assert 'data-ok="0"' in text and "钉钉 310000：签名不匹配：检查加签密钥" in text
    page = admin.post("/channels/district-duty/test?lang=en", data={"csrf_token": admin.csrf})
    text = page.get_data(as_text=True)
    assert 'data-ok="0"' in text and "DingTalk 310000: signature mismatch: check the" in text
    assert "签名不匹配" not in text
    fakes.dingtalk["dt-1"].secret = DING_SECRET
    for lang, shown in (("zh", "已送达"), ("en", "delivered")):
        page = admin.post(
            f"/channels/district-duty/test?lang={lang}", data={"csrf_token": admin.csrf}
        )
        assert text_of(page.get_data(as_text=True), ".muted") == shown
    assert [
        e.after["ok"]
        for e in store.audit.list(target="channel:district-duty")
        if e.action == "channel.test"
    ] == [True, True, False, False, True]  # newest first
    sms = admin.post("/api/channels/email/test", json={"to": "not-an-address"})
    assert sms.status_code == 400 and sms.get_json()["field"] == "to"


def test_routing_is_validated_previewed_and_audited(
    store: Store, app: APIFlask, admin: Browser, fakes: FakePlatforms
) -> None:
    admin.post("/api/channels", json=ding(fakes))
    bad = admin.send(
        "PUT",
        "/api/routing",
        json={"settings": {"routes": [{"name": "x", "to": [{"channel": "nope"}]}]}},
    )
    assert bad.status_code == 400 and bad.get_json()["field"] == "routes.0.to.0.channel"
    table = {
        "routes": [
            {
                "name": "严重",
                "when": {"severities": ["critical"]},
                "to": [{"channel": "district-duty"}],
            }
        ]
    }
    assert admin.send("PUT", "/api/routing", json={"settings": table}).status_code == 200
    assert [e.action for e in store.audit.list(target="routing")] == ["routing.update"]
    shown = admin.post(
        "/api/routing/preview",
        json={"rule": "潼南火灾", "severity": "critical", "at": "2021-02-05T23:00:00"},
    ).get_json()
    assert shown["routes"] == ["严重"]
    assert [(t["channel"], t["held"]) for t in shown["targets"]] == [
        ("email", ""),
        ("district-duty", ""),
    ]
    # In the console: a YAML error names its line; the preview lists destinations.
    page = admin.post(
        "/routing", data={"csrf_token": admin.csrf, "routing": "routes:\n  - name: [x\n"}
    )
    assert page.status_code == 400 and "第 3 行" in page.get_data(as_text=True)
    page = admin.post(
        "/routing/preview",
        data={
            "csrf_token": admin.csrf,
            "rule": "潼南火灾",
            "severity": "warning",
            "at": "2021-02-05T23:00",
        },
    )
    text = page.get_data(as_text=True)
    assert "该预警将发送至" in text and "区值班群" not in text  # a warning: no route
    english = admin.get("/routing?lang=en").get_data(as_text=True)
    assert "Routing preview" in english and "路由预览" not in english


def test_routing_by_region_code_in_the_api_and_the_console(
    store: Store, app: APIFlask, admin: Browser, fakes: FakePlatforms
) -> None:
    admin.post("/api/channels", json=ding(fakes))
    route = {"name": "潼南属地", "when": {"region_codes": ["500152"]}}
    table = {"routes": [route | {"to": [{"channel": "district-duty"}]}]}
    bad = {"routes": [{**table["routes"][0], "when": {"region_codes": ["500199"]}}]}
    refused = admin.send("PUT", "/api/routing", json={"settings": bad})
    assert refused.status_code == 400
    assert refused.get_json()["field"] == "routes.0.when.region_codes.0"
    assert "no region code 500199" in refused.get_json()["detail"]
    assert admin.send("PUT", "/api/routing", json={"settings": table}).status_code == 200
    [entry] = store.audit.list(target="routing")
    assert entry.after["routes"][0]["when"]["region_codes"] == ["500152"]
    street = {"rule": "潼南火灾", "region_codes": ["500152002"], "at": "2021-02-05T12:00:00"}
    shown = admin.post("/api/routing/preview", json=street).get_json()
    assert shown["routes"] == ["潼南属地"]
    wrong = admin.post("/api/routing/preview", json=street | {"primary_region": "潼南"})
    assert wrong.status_code == 400 and wrong.get_json()["field"] == "primary_region"
    # The console's preview takes the codes; the editor says what region_codes means.
    page = admin.post(
        "/routing/preview",
        data={"csrf_token": admin.csrf, "rule": "潼南火灾", "region_codes": "500152002000"},
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "潼南属地" in text and "区值班群" in text
    assert "<code>region_codes</code> 区划代码" in text and "条目提及的区划代码" in text
    english = admin.get("/routing?lang=en").get_data(as_text=True)
    assert "Region codes its items mention" in english and "Primary region code" in english
    assert "<code>region_codes</code> administrative codes" in english
    assert "区划代码" not in english


def test_dead_letters_are_listed_and_resent_and_an_alert_shows_its_deliveries(
    store: Store, app: APIFlask, admin: Browser, fakes: FakePlatforms
) -> None:
    clock = Clock()
    add_channels(store, fakes, only=["duty-wecom"])
    fakes.wecom.clear()  # the robot was removed from the group
    [ident] = add(store, alerting(store, clock), [story(1)])
    sender(store, clock).run_once()
    [dead] = [m for m in store.outbox.list(status="failed")]
    page = admin.get("/channels/dead").get_data(as_text=True)
    assert "企业微信 93000" in page and f'data-delivery="{dead.id}"' in page
    detail = admin.get(f"/alerts/{ident}").get_data(as_text=True)
    assert 'id="alert-deliveries"' in detail and 'data-status="failed"' in detail
    listed = admin.get(f"/api/deliveries?alert_id={ident}&channel=duty-wecom").get_json()
    assert [d["status"] for d in listed["deliveries"]] == ["failed"]
    assert "ack_token" not in listed["deliveries"][0] and "link" not in listed["deliveries"][0]
    fakes.add_wecom("wk-duty")  # back in the group
    back = admin.post(f"/deliveries/{dead.id}/resend", data={"csrf_token": admin.csrf})
    assert back.status_code == 302
    assert store.outbox.find(dead.id).status == "pending"  # type: ignore[union-attr]
    assert [e.action for e in store.audit.list(target=f"delivery:{dead.id}")] == ["delivery.resend"]
    assert admin.post(f"/api/deliveries/{dead.id}/resend").status_code == 409  # not failed now
    # Queued at the console's time (the real clock), sent by a sender on it.
    assert sender(store, RealClock()).run_once() == 1 and len(fakes.received) == 1


# Why each kind of channel failed, as the console shows it: recorded in English, read in
# Chinese on Chinese pages (as the reason was written before), as recorded on English ones.
FAILED = {
    "duty-ding": (
        "钉钉 310000：签名不匹配：检查加签密钥，或服务器时间是否准确（",
        "DingTalk 310000: signature mismatch: check the signing secret, or whether the"
        " server's clock is right (",
    ),
    "duty-feishu": (
        "飞书 19024：消息不含机器人设置的自定义关键词（",
        "Feishu 19024: the message holds none of the robot's custom keywords (",
    ),
    "duty-wecom": (
        "企业微信 93000：webhook 地址无效：机器人可能已被移出群聊，或 key 有误（",
        "WeCom 93000: invalid webhook address: the robot may have been removed",
    ),
    "sms-gw": ("短信网关拒绝（HTTP 401）：", "the SMS gateway refused it (HTTP 401): "),
    "sms-ali": (
        "阿里云短信 SignatureDoesNotMatch：签名不匹配：检查 AccessKey Secret（",
        "Aliyun SMS SignatureDoesNotMatch: signature mismatch: check the AccessKey Secret (",
    ),
    "ops-hook": ("接收方拒绝（HTTP 401）：", "the receiver refused it (HTTP 401): "),
}


def text_of(page: str, selector: str) -> str:
    [found] = lxml_html.fromstring(page).cssselect(selector)
    return " ".join(found.text_content().split())


def test_each_channels_failure_reads_in_the_pages_language(
    store: Store, app: APIFlask, admin: Browser, fakes: FakePlatforms
) -> None:
    clock = Clock()
    add_misconfigured(store, fakes, clock)
    [ident] = add(store, alerting(store, clock), [story(1)])
    sender(store, clock).run_once()  # the channels refuse; the mail server is not there
    dead = {m.channel: m.id for m in store.outbox.list(status="failed")}
    assert sorted(dead) == sorted(FAILED)
    mails = [m for m in store.outbox.list(alert_id=ident) if m.channel == "email"]
    assert mails and all(m.status == "pending" for m in mails)
    assert all(m.error.startswith("mail server 127.0.0.1:1: ") for m in mails)
    for column, lang in ((0, "zh"), (1, "en")):
        page = admin.get(f"/channels/dead?lang={lang}").get_data(as_text=True)
        for channel, reasons in FAILED.items():
            shown = text_of(page, f'tr[data-delivery="{dead[channel]}"] td.problem')
            assert shown.startswith(reasons[column]), shown
        page = admin.get(f"/alerts/{ident}?lang={lang}").get_data(as_text=True)
        for channel, reasons in FAILED.items():
            shown = text_of(page, f'tr[data-channel="{channel}"] .delivery-error')
            assert shown.startswith(reasons[column]), shown
        mail_errors = lxml_html.fromstring(page).cssselect(
            'tr[data-channel="email"] .delivery-error'
        )
        assert len(mail_errors) == len(mails)
        for found in mail_errors:  # waiting to be retried, shown with why
            expected = ("邮件服务器 127.0.0.1:1：", "mail server 127.0.0.1:1: ")[column]
            assert found.text_content().strip().startswith(expected), found.text_content()
        notes = [
            " ".join(p.text_content().split())
            for p in lxml_html.fromstring(page).cssselect(
                '#timeline li[data-action="notify_failed"] p'
            )
        ]
        assert sorted(n[:12] for n in notes) == sorted(r[column][:12] for r in FAILED.values())
    assert "签名不匹配" not in admin.get("/channels/dead?lang=en").get_data(as_text=True)


def test_the_short_link_acknowledges_once(
    store: Store, app: APIFlask, fakes: FakePlatforms
) -> None:
    clock = Clock()
    add_channels(store, fakes, only=["duty-ding"])
    [ident] = add(store, alerting(store, clock), [story(1)])
    sender(store, clock).run_once()
    link = fakes.received[0].body["actionCard"]["btns"][0]["actionURL"]
    path = urlsplit(link).path
    assert re.fullmatch(r"/k/[\w-]{12}", path)
    browser = Browser(app)  # nobody signed in: the link is the credential
    hop = browser.get(path)
    assert hop.status_code == 302 and f"/alerts/{ident}/ack?t=" in hop.headers["Location"]
    page = browser.get(hop.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "确认签收" in text and "测试dingtalk" in text
    browser.csrf = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    done = browser.client.post(hop.headers["Location"], data={"csrf_token": browser.csrf})
    assert done.status_code == 200 and "预警已签收" in done.get_data(as_text=True)
    alert = store.alerts.get(ident)
    assert alert is not None and alert.status == "acknowledged"
    [entry] = [e for e in store.alert_timeline.list(ident) if e.action == "acknowledge"]
    assert entry.actor == "测试dingtalk" and entry.details["via"] == "dingtalk"
    again = browser.get(browser.get(path).headers["Location"])
    assert again.status_code == 410  # used
    assert browser.get("/k/AAAAAAAAAAAA").status_code == 404

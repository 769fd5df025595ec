"""Routing (rule, keyword group, severity, region, time of day -> destinations), quiet
hours per destination, the emergency list, the preview, escalation chains, deadline
reminders and escalations — on both backends."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from alerting_support import T0, Clock, add, story

from analysis.item import default as default_analyzer
from monitor.alerts.delivery import preview, preview_codes, save_channel, save_routing
from monitor.alerts.engine import Alerting
from monitor.alerts.links import AckLinks
from monitor.alerts.routing import Facts, RoutingError
from store import Item, Store
from store.acting import Acting
from store.model import LibraryVersion, Source
from yuqing.config import AlertsConfig

LIBRARY = {
    "groups": [
        {"name": "地名", "category": "region", "words": ["潼南", "双江镇"]},
        {"name": "火灾词", "category": "event", "words": ["起火"]},
    ],
    "rules": [
        {"name": "潼南火灾", "expression": "起火", "severity": "critical"},
        {"name": "一般火情", "expression": "起火", "severity": "warning"},
    ],
}
DUTY, LEADER = "13800000001", "13900000009"
ROUTING = {
    "routes": [
        {
            "name": "潼南严重",
            "when": {"severities": ["critical"], "regions": ["潼南"]},
            "to": [{"channel": "district-duty"}, {"channel": "sms", "to": [DUTY]}],
        },
        {"name": "警告", "when": {"severities": ["warning"]}, "to": [{"channel": "work-group"}]},
    ],
    "emergency": [{"channel": "district-duty"}, {"channel": "sms", "to": [DUTY, LEADER]}],
    "escalation": {
        "critical": [
            {"after_minutes": 10, "to": [{"channel": "work-group"}]},
            {"after_minutes": 30, "to": [{"channel": "sms", "to": [LEADER]}]},
        ]
    },
    "remind_minutes": 60,
}


def setup(store: Store, clock: Clock, quiet: str = "") -> Alerting:
    store.library.commit(LibraryVersion(1, None, "张三", T0, "库", LIBRARY))
    store.sources.put(
        Source(id="tn-news", name="潼南新闻网", type="list", start_urls=["http://a.cn/"],
               interval=600, region="潼南区")
    )  # fmt: skip
    hook = "https://oapi.dingtalk.com/robot/send?access_token="
    save_channel(
        Acting("t", store, lambda: T0),
        "district-duty",
        "dingtalk",
        "区值班群",
        {},
        {"webhook": hook + "a"},
    )
    acting = Acting("t", store, lambda: T0)
    save_channel(acting, "work-group", "wecom", "工作群", {"quiet_hours": quiet} if quiet else {},
                 {"webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"})  # fmt: skip
    save_channel(acting, "sms", "sms_gateway", "短信", {"url": "https://sms.example.cn/send"}, {})
    save_routing(acting, ROUTING)
    config = AlertsConfig.model_validate(
        {"public_url": "https://yq.example.cn", "recipients": [], "escalation": ["boss@example.cn"]}
    )
    return Alerting(store, config, AckLinks("k" * 16, 3600), clock)


def places(store: Store, ident: str, kind: str = "new") -> list[str]:
    """Where the deliveries of ``kind`` for alert ``ident`` go."""
    return sorted(
        m.key.split("/")[1] for m in store.outbox.list(alert_id=ident, limit=100)
        if m.key.endswith(f"/{kind}")
    )  # fmt: skip


def test_critical_region_alerts_reach_the_duty_group_and_sms_warnings_the_work_group(
    store: Store,
) -> None:
    clock = Clock()
    alerts = setup(store, clock)
    [critical] = add(store, alerts, [story(1, rule="潼南火灾")])
    [warning] = add(store, alerts, [story(2, rule="一般火情")])
    assert places(store, critical) == ["district-duty", f"sms:{DUTY}"]
    assert places(store, warning) == ["work-group"]
    chat = store.outbox.get(f"{critical}/district-duty/new")
    assert chat is not None and chat.link and chat.ack_token and chat.notice["region"] == "潼南区"
    sms = store.outbox.get(f"{critical}/sms:{DUTY}/new")
    assert sms is not None and sms.recipient == DUTY and sms.link != chat.link


def test_quiet_hours_hold_all_but_critical_for_that_destination(store: Store) -> None:
    clock = Clock(T0.replace(hour=23))
    alerts = setup(store, clock, quiet="22:00-07:00")
    [warning] = add(store, alerts, [story(2, rule="一般火情")])
    held = store.outbox.get(f"{warning}/work-group/new")
    assert held is not None and held.due == (T0 + timedelta(days=1)).replace(hour=7, minute=0)
    [critical] = add(store, alerts, [story(1, rule="潼南火灾")])
    assert {m.due for m in store.outbox.list(alert_id=critical)} == {clock()}


def test_emergency_mode_sends_to_everyone_on_the_emergency_list(store: Store) -> None:
    clock = Clock()
    alerts = setup(store, clock)
    alerts.emergency("*", True, "王五", reason="汛期")
    [ident] = add(store, alerts, [story(2, rule="一般火情")])  # a warning, routed as emergency
    assert places(store, ident) == ["district-duty", f"sms:{DUTY}", f"sms:{LEADER}"]


def test_time_of_day_and_health_alerts(store: Store) -> None:
    clock = Clock()
    alerts = setup(store, clock)
    routing = dict(ROUTING)
    routing["routes"] = [
        {"name": "白天", "when": {"hours": "08:00-18:00"}, "to": [{"channel": "work-group"}]},
        {"name": "夜间", "when": {"hours": "18:00-08:00"}, "to": [{"channel": "district-duty"}]},
        {"name": "采集异常", "when": {"rules": ["source:*"]}, "to": [{"channel": "work-group"}]},
    ]
    save_routing(Acting("t", store, lambda: T0), routing)
    [day] = add(store, alerts, [story(1)])
    clock.advance(hours=9)  # 19:30
    [night] = add(store, alerts, [story(2)])
    assert places(store, day) == ["work-group"] and places(store, night) == ["district-duty"]
    health = alerts.health_event("tn-news", "silent", "6 小时没有新内容")
    assert health is not None and health.targets == ["work-group"]


def test_a_wrong_routing_table_names_the_field_and_changes_nothing(store: Store) -> None:
    setup(store, Clock())
    before = store.routing.get()

    def one(destination: dict[str, object], **when: object) -> dict[str, object]:
        return {"routes": [{"name": "x", "when": when, "to": [destination]}]}

    work = {"channel": "work-group"}
    steps = [{"after_minutes": 30, "to": [work]}, {"after_minutes": 10, "to": [work]}]
    bad = [
        (one({"channel": "nope"}), "routes.0.to.0.channel"),
        (one({"channel": "sms"}), "routes.0.to.0.to"),
        (one({"channel": "sms", "to": ["110x"]}), "routes.0.to.0.to"),
        (one({"channel": "work-group", "to": [DUTY]}), "routes.0.to.0.to"),
        (one({"channel": "sms", "to": [DUTY]}, hours="25:00-07:00"), "routes.0.when.hours"),
        ({"escalation": {"critical": steps}}, "escalation.critical"),
        ({"route": []}, "route"),
    ]
    for table, field in bad:
        with pytest.raises(RoutingError) as caught:
            save_routing(Acting("t", store, lambda: T0), table)
        assert caught.value.field == field, caught.value
    assert store.routing.get() == before
    with pytest.raises(
        RoutingError,
        match=r"no channel 'nope' \(there are: email, district-duty, sms, work-group\)",
    ):
        save_routing(Acting("t", store, lambda: T0), bad[0][0])


def test_the_preview_says_where_an_alert_would_go(store: Store) -> None:
    setup(store, Clock(), quiet="22:00-07:00")
    night = T0.replace(hour=23)
    shown = preview(
        store, Facts("一般火情", "warning", regions=["潼南区"]), night, ["duty@example.cn"]
    )
    assert shown.routes == ["警告"]
    assert [(t["channel"], t["to"], t["held"]) for t in shown.targets] == [
        ("email", "duty@example.cn", ""),
        ("work-group", "", "22:00-07:00"),
    ]
    shown = preview(store, Facts("潼南火灾", "critical", regions=["潼南区"]), night, [])
    assert shown.routes == ["潼南严重"] and [t["name"] for t in shown.targets] == [
        "区值班群",
        "短信",
    ]


def test_an_unacknowledged_alert_climbs_the_chain_until_acknowledged(store: Store) -> None:
    clock = Clock()
    alerts = setup(store, clock)
    [ident] = add(store, alerts, [story(1, rule="潼南火灾")])
    clock.advance(minutes=9)
    alerts.tick()
    assert places(store, ident, "chain-1") == []
    clock.advance(minutes=2)
    alerts.tick()
    alerts.tick()  # once per step
    assert places(store, ident, "chain-1") == ["work-group"]
    step = store.outbox.get(f"{ident}/work-group/chain-1")
    assert step is not None and step.notice["kind"] == "escalate"
    assert step.notice["step_label"] == "第 1 级升级：10 分钟内无人签收" and step.link
    escalated = [e for e in store.alert_timeline.list(ident) if e.action == "escalated"]
    assert [e.details for e in escalated] == [{"chain": 1, "to": ["work-group"]}]
    alerts.tickets.acknowledge(ident, "张三", via="dingtalk")
    clock.advance(minutes=30)
    alerts.tick()
    assert places(store, ident, "chain-2") == []  # acknowledging stopped it


def test_deadlines_remind_before_and_escalate_after(store: Store) -> None:
    """Critical: guidance due in 5 hours, respond in 24. Reminders reach the alert's own
    destinations an hour before; a missed deadline reaches [alerts] escalation and the
    top of the chain."""
    clock = Clock()
    alerts = setup(store, clock)
    [ident] = add(store, alerts, [story(1, rule="潼南火灾")])
    alerts.tickets.acknowledge(ident, "张三")
    clock.advance(hours=4, minutes=1)  # 59 minutes before guidance is due
    alerts.tick()
    alerts.tick()
    reminded = places(store, ident, "remind-guidance")
    assert reminded == ["district-duty", f"sms:{DUTY}"]
    note = store.outbox.get(f"{ident}/district-duty/remind-guidance")
    assert note is not None and note.notice["step_label"].startswith(
        "距发布权威信息时限还有 59 分钟"
    )
    assert note.link == ""  # acknowledged already: no acknowledge link
    clock.advance(hours=1)
    alerts.tick()
    assert places(store, ident, "escalate-guidance") == ["boss@example.cn", f"sms:{LEADER}"]
    actions = Counter(e.action for e in store.alert_timeline.list(ident))
    assert actions["reminded"] == 1 and actions["escalated"] == 1  # guidance only


def analysed(item: Item) -> Item:
    """``item`` with its places and sentiment, as the live matcher leaves it."""
    return default_analyzer().analyze(item)


def test_region_codes_route_by_the_places_the_items_mention(store: Store) -> None:
    clock = Clock()
    alerts = setup(store, clock)
    routing = dict(ROUTING)
    routing["routes"] = [
        {
            "name": "提及潼南",
            "when": {"region_codes": ["500152"]},
            "to": [{"channel": "work-group"}],
        },
        {
            "name": "主属地潼南",
            "when": {"region_codes": ["500152000000"], "region_scope": "primary"},
            "to": [{"channel": "district-duty"}],
        },
    ]
    save_routing(Acting("t", store, lambda: T0), routing)
    assert store.routing.get().settings["routes"][1]["when"]["region_codes"] == ["500152"]  # type: ignore[union-attr]
    # About a street of 潼南区: under 500152 by its primary region and by mention.
    [street] = add(store, alerts, [analysed(story(1, title="潼南区梓潼街道一民房起火"))])
    # About 双流区, mentioning 潼南区 in the lead: only the route by mention.
    other = story(2, title="成都市双流区一民房起火", body="潼南区消防支队赶赴增援。")
    [mentioned] = add(store, alerts, [analysed(other)])
    # 梓潼县 is in Sichuan, not 潼南's 梓潼街道: neither.
    [elsewhere] = add(store, alerts, [analysed(story(3, title="四川梓潼县一民房起火"))])
    assert places(store, street) == ["district-duty", "work-group"]
    assert places(store, mentioned) == ["work-group"]
    assert places(store, elsewhere) == []
    # The message names the place the story is about after the source's region.
    chat = store.outbox.get(f"{mentioned}/work-group/new")
    assert chat is not None and chat.notice["region"] == "潼南区、双流区"
    chat = store.outbox.get(f"{street}/district-duty/new")
    assert chat is not None and chat.notice["region"] == "潼南区、梓潼街道"

    # The preview takes the codes (and names what is wrong with one).
    facts = Facts("一般火情", "warning", region_codes=["500152001"], primary_codes=["510116"])
    assert preview(store, facts, T0, []).routes == ["提及潼南"]
    codes = preview_codes(store, ["500152001000"], "500152")
    assert codes == (["500152", "500152001"], ["500152"])
    assert preview(
        store, Facts("一般火情", "warning", set(), [], False, *codes), T0, []
    ).routes == [
        "提及潼南",
        "主属地潼南",
    ]
    for mentioned_codes, primary, field, message in [
        (["500199"], "", "region_codes.0", "no region code 500199"),
        ([], "潼南", "primary_region", "is not a region code"),
    ]:
        with pytest.raises(RoutingError, match=message) as caught:
            preview_codes(store, mentioned_codes, primary)
        assert caught.value.field == field


def test_a_region_code_that_names_no_place_is_refused(store: Store) -> None:
    setup(store, Clock())
    before = store.routing.get()
    for codes, field, message in [
        (["500199"], "routes.0.when.region_codes.0", "no region code 500199"),
        (["5001x"], "routes.0.when.region_codes", "'5001x' is not a region code"),
    ]:
        table = {
            "routes": [
                {"name": "x", "when": {"region_codes": codes}, "to": [{"channel": "work-group"}]}
            ]
        }
        with pytest.raises(RoutingError, match=message) as caught:
            save_routing(Acting("t", store, lambda: T0), table)
        assert caught.value.field == field
    assert store.routing.get() == before

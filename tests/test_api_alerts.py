"""/api/alerts, /api/policies, /api/emergency, /api/outbox and the emailed acknowledge
link, on both stores."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from alerting_support import RULE, SH, Clock, add, alerting, story
from api_support import Browser, make_app, signed_in
from apiflask import APIFlask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from werkzeug.test import TestResponse

from api.context import parts
from store import Store

OTHER_RULE = "潼南疫情"


@pytest.fixture
def app(store: Store, tmp_path: Path) -> APIFlask:
    return make_app(store, tmp_path, alerts={"public_url": "https://yq.example.cn"})


def make_alerts(store: Store, *numbers: int, ago: float = 0, rule: str = RULE) -> list[str]:
    """One alert per story number, created ``ago`` minutes before now."""
    clock = Clock(datetime.now(SH) - timedelta(minutes=ago))
    items = [story(n, at=clock.now, rule=rule) for n in numbers]
    return add(store, alerting(store, clock), items)


def timeline(store: Store, alert_id: str) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in store.alert_timeline.list(alert_id)]


def audits(store: Store, target: str) -> list[str]:
    return [e.action for e in store.audit.list(target=target)]


def ids(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [a["id"] for a in response.get_json()["alerts"]]


def test_inbox_filters_and_pages(store: Store, operator: Browser) -> None:
    late = make_alerts(store, 1, ago=120)[0]
    fresh = make_alerts(store, 2, 3)
    other = make_alerts(store, 4, rule=OTHER_RULE)[0]
    assert operator.post(f"/api/alerts/{fresh[0]}/acknowledge").status_code == 200
    assert (
        operator.post(f"/api/alerts/{fresh[1]}/assign", json={"assignee": "李四"}).status_code
        == 200
    )

    everything = ids(operator.get("/api/alerts"))
    assert set(everything) == {late, *fresh, other}
    assert everything[-1] == late  # newest first
    assert set(ids(operator.get("/api/alerts?status=new"))) == {late, fresh[1], other}
    assert ids(operator.get("/api/alerts?status=acknowledged,closed")) == [fresh[0]]
    assert ids(operator.get(f"/api/alerts?rule={OTHER_RULE}")) == [other]
    assert ids(operator.get("/api/alerts?assignee=李四")) == [fresh[1]]
    assert len(ids(operator.get("/api/alerts?severity=critical"))) == 4
    assert ids(operator.get("/api/alerts?severity=warning,info")) == []
    assert ids(operator.get("/api/alerts?overdue=true")) == [late]
    since = (datetime.now(SH) - timedelta(minutes=60)).isoformat()
    assert late not in ids(operator.get("/api/alerts", query_string={"since": since}))
    assert ids(operator.get("/api/alerts", query_string={"until": since})) == [late]

    first = operator.get("/api/alerts?size=3").get_json()
    second = operator.get("/api/alerts?size=3&page=2").get_json()
    assert first["total"] == second["total"] == 4
    assert [a["id"] for a in first["alerts"] + second["alerts"]] == everything

    row = operator.get("/api/alerts?overdue=true").get_json()["alerts"][0]
    assert row["overdue"] == ["acknowledge"]
    assert datetime.fromisoformat(row["next_due"]) < datetime.now(SH)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("severity=huge", "severity"),
        ("size=0", "size"),
        ("since=yesterday", "since"),
        ("page=x", "page"),
        ("colour=red", "colour"),
    ],
)
def test_inbox_refuses_bad_filters(operator: Browser, query: str, field: str) -> None:
    response = operator.get(f"/api/alerts?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field


def test_detail_has_timeline_deadlines_and_escaped_event_items(
    store: Store, operator: Browser
) -> None:
    clock = Clock(datetime.now(SH))
    engine = alerting(store, clock)
    first = story(1, at=clock.now, title="潼南<script>alert(1)</script>民房起火")
    [alert_id] = add(store, engine, [first])
    clock.advance(minutes=1)
    add(
        store,
        engine,
        [story(2, at=clock.now, event=first.id), story(3, at=clock.now, event=first.id)],
    )

    response = operator.get(f"/api/alerts/{alert_id}")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["status"] == "new" and doc["rule"] == RULE and doc["items"] == 3
    assert [s["step"] for s in doc["deadlines"]] == ["acknowledge", "guidance", "respond"]
    assert not any(s["overdue"] for s in doc["deadlines"])
    due = datetime.fromisoformat(doc["deadlines"][0]["due"])
    assert due - datetime.fromisoformat(doc["created"]) == timedelta(minutes=30)
    assert [e["action"] for e in doc["timeline"]] == ["created"]
    event = doc["event_items"]
    assert event["total"] == 3
    assert event["items"][0]["id"] == first.id
    html = event["items"][0]["title_html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>起火</mark>" in html
    assert event["items"][0]["link"] == first.url

    missing = operator.get("/api/alerts/nosuchalert")
    assert missing.status_code == 404
    assert missing.get_json()["field"] == "id"


def test_every_action_is_audited_and_moves_the_ticket(store: Store, operator: Browser) -> None:
    [alert_id] = make_alerts(store, 1)
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("acknowledge", {}, "acknowledged"),
        ("assign", {"assignee": "李四"}, "acknowledged"),
        ("note", {"note": "已电话联系属地"}, "acknowledged"),
        ("handle", {}, "handling"),
        ("respond", {"guidance": "https://gov.example.cn/notice/1"}, "responded"),
        ("close", {"reason": "handled", "note": "处置完毕"}, "closed"),
    ]
    for action, body, status in steps:
        url = f"/api/alerts/{alert_id}/{action}"
        response = (
            operator.post(url, json=body) if body or action == "handle" else operator.post(url)
        )
        assert response.status_code == 200, (action, response.get_json())
        assert response.get_json()["status"] == status
    alert = store.alerts.get(alert_id)
    assert alert is not None
    assert alert.assignee == "operator1"  # handle without a name: whoever starts it
    assert alert.guidance == "https://gov.example.cn/notice/1"
    assert alert.close_reason == "handled"
    assert [a for _, a in timeline(store, alert_id)] == ["created"] + [s[0] for s in steps]
    assert {actor for actor, _ in timeline(store, alert_id)} == {"yuqing", "operator1"}
    assert sorted(audits(store, f"alert:{alert_id}")) == sorted(f"alert.{s[0]}" for s in steps)
    entry = store.audit.list(target=f"alert:{alert_id}")[0]
    assert entry.actor == "operator1" and entry.action == "alert.close"
    assert entry.before["status"] == "responded" and entry.after["reason"] == "handled"


def test_illegal_transition_is_409_changes_nothing_and_is_recorded(
    store: Store, operator: Browser
) -> None:
    [alert_id] = make_alerts(store, 1)
    assert (
        operator.post(f"/api/alerts/{alert_id}/close", json={"reason": "duplicate"}).status_code
        == 200
    )
    before = store.alerts.get(alert_id)
    attempts: list[tuple[str, dict[str, str] | None]] = [
        ("acknowledge", None),
        ("close", {"reason": "handled"}),
        ("respond", {"guidance": "x"}),
        ("assign", {"assignee": "王五"}),
    ]
    for action, body in attempts:
        response = operator.post(f"/api/alerts/{alert_id}/{action}", json=body)
        assert response.status_code == 409, action
        problem = response.get_json()
        assert problem["detail"] == f"cannot {action} alert {alert_id}: it is closed"
    after = store.alerts.get(alert_id)
    assert after is not None and before is not None
    assert (after.status, after.assignee, after.close_reason, after.version) == (
        "closed",
        "",
        "duplicate",
        before.version,
    )
    assert [a for _, a in timeline(store, alert_id)][-4:] == [
        "acknowledge_refused",
        "close_refused",
        "respond_refused",
        "assign_refused",
    ]
    assert audits(store, f"alert:{alert_id}") == ["alert.close"]
    # A note is still welcome on a closed alert.
    assert operator.post(f"/api/alerts/{alert_id}/note", json={"note": "复盘"}).status_code == 200


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("close", {"reason": "bored"}, "reason"),
        ("close", {}, "reason"),
        ("respond", {"guidance": "   "}, "guidance"),
        ("assign", {"assignee": ""}, "assignee"),
        ("note", {"note": ""}, "note"),
    ],
)
def test_bad_action_input_is_400_naming_the_field(
    store: Store, operator: Browser, action: str, body: dict[str, Any], field: str
) -> None:
    [alert_id] = make_alerts(store, 1)
    response = operator.post(f"/api/alerts/{alert_id}/{action}", json=body)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert timeline(store, alert_id) == [("yuqing", "created")]


def test_unknown_alert_is_404_for_every_action(operator: Browser) -> None:
    for action in ("acknowledge", "handle", "note"):
        body = {"note": "x"} if action == "note" else {}
        response = operator.post(f"/api/alerts/nope/{action}", json=body)
        assert response.status_code == 404, action


def test_bulk_acknowledge(store: Store, operator: Browser) -> None:
    first, second, closed = make_alerts(store, 1, 2, 3)
    operator.post(f"/api/alerts/{closed}/close", json={"reason": "false_positive"})
    response = operator.post(
        "/api/alerts/acknowledge", json={"ids": [first, second, closed, "nope", first]}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["acknowledged"] == [first, second]
    assert [r["id"] for r in body["refused"]] == [closed, "nope"]
    assert "closed" in body["refused"][0]["detail"]
    assert all(store.alerts.get(i).status == "acknowledged" for i in (first, second))  # type: ignore[union-attr]
    assert operator.post("/api/alerts/acknowledge", json={"ids": []}).status_code == 400


def test_viewer_reads_but_may_not_act(store: Store, app: APIFlask) -> None:
    [alert_id] = make_alerts(store, 1)
    viewer = signed_in(app, "viewer")
    assert viewer.get("/api/alerts").status_code == 200
    assert viewer.get(f"/api/alerts/{alert_id}").status_code == 200
    assert viewer.get("/api/alerts/stats").status_code == 200
    assert viewer.get("/api/emergency").status_code == 200
    refused = [
        viewer.post(f"/api/alerts/{alert_id}/acknowledge"),
        viewer.post(f"/api/alerts/{alert_id}/note", json={"note": "x"}),
        viewer.post(f"/api/alerts/{alert_id}/close", json={"reason": "handled"}),
        viewer.post("/api/alerts/acknowledge", json={"ids": [alert_id]}),
        viewer.send("PUT", f"/api/policies/{RULE}", json={"mode": "immediate"}),
        viewer.send("PUT", "/api/emergency", json={"on": True}),
        viewer.get("/api/outbox"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert signed_in(app, "operator").get("/api/outbox").status_code == 403
    assert store.alerts.get(alert_id).status == "new"  # type: ignore[union-attr]
    assert timeline(store, alert_id) == [("yuqing", "created")]
    assert app.test_client().get("/api/alerts").status_code == 401


def test_policies_are_validated_naming_the_field(store: Store, operator: Browser) -> None:
    make_alerts(store, 1)  # commits a library with the rules
    shown = operator.get(f"/api/policies/{RULE}").get_json()
    assert shown["stored"] is False and shown["policy"]["mode"] == "immediate"

    good = {"mode": "threshold", "threshold": 5, "window_minutes": 30, "recipients": ["a@b.cn"]}
    response = operator.send("PUT", f"/api/policies/{RULE}", json=good)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["settings"] == good
    assert operator.get(f"/api/policies/{RULE}").get_json()["policy"]["threshold"] == 5
    [entry] = store.audit.list(target=f"policy:{RULE}")
    assert (entry.actor, entry.before, entry.after) == ("operator1", None, good)

    for body, field in [
        ({"window_minutes": -5}, "window_minutes"),
        ({"mode": "sometimes"}, "mode"),
        ({"recipients": ["not an address"]}, "recipients"),
        ({"digest_times": ["25:00"]}, "digest_times"),
        ({"mode": "digest", "digest_times": []}, "digest_times"),
        ({"colour": "red"}, "colour"),
    ]:
        response = operator.send("PUT", f"/api/policies/{RULE}", json=body)
        assert response.status_code == 400, body
        assert response.get_json()["field"] == field, response.get_json()
    assert store.alert_policies.get(RULE).settings == good  # type: ignore[union-attr]
    assert operator.send("PUT", "/api/policies/无此规则", json={}).status_code == 404
    assert operator.get("/api/policies/无此规则").status_code == 404
    listed = operator.get("/api/policies").get_json()["policies"]
    assert [p["rule"] for p in listed][:2] == [RULE, OTHER_RULE]


def test_emergency_switch_is_audited_once(store: Store, operator: Browser) -> None:
    make_alerts(store, 1)
    until = (datetime.now(SH) + timedelta(hours=6)).isoformat()
    response = operator.send(
        "PUT", "/api/emergency", json={"on": True, "reason": "汛期", "until": until}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["actor"] == "operator1"
    assert operator.get("/api/emergency").get_json()["active"] == ["*"]
    response = operator.send("PUT", "/api/emergency", json={"scope": RULE, "on": True})
    assert response.status_code == 200
    assert operator.send("PUT", "/api/emergency", json={"on": False}).status_code == 200
    assert operator.get("/api/emergency").get_json()["active"] == [RULE]
    entries = store.audit.list(target="emergency:*")
    assert [(e.actor, e.action) for e in entries] == [
        ("operator1", "emergency.off"),
        ("operator1", "emergency.on"),
    ]
    past = (datetime.now(SH) - timedelta(hours=1)).isoformat()
    bad = operator.send("PUT", "/api/emergency", json={"on": True, "until": past})
    assert bad.status_code == 400 and bad.get_json()["field"] == "until"
    bad = operator.send("PUT", "/api/emergency", json={"on": True, "scope": "无此规则"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "scope"
    assert operator.send("PUT", "/api/emergency", json={"reason": "x"}).status_code == 400
    assert len(store.audit.list(target="emergency:*")) == 2


def test_stats_and_outbox(store: Store, app: APIFlask, operator: Browser) -> None:
    first, second = make_alerts(store, 1, 2)
    operator.post(f"/api/alerts/{first}/acknowledge")
    operator.post(f"/api/alerts/{second}/close", json={"reason": "false_positive"})
    stats = operator.get("/api/alerts/stats?days=7").get_json()
    assert stats["days"] == 7 and stats["alerts"] == 2
    assert stats["per_rule"] == {RULE: 2}
    assert stats["time_to_acknowledge"]["p50"] is not None
    assert stats["rules"][RULE]["false_positives"] == 1
    assert operator.get("/api/alerts/stats?days=0").get_json()["field"] == "days"

    admin = signed_in(app, "admin")
    box = admin.get("/api/outbox?status=pending").get_json()
    assert box["counts"]["pending"] == 4  # two alerts, two recipients each
    assert {m["alert_id"] for m in box["messages"]} == {first, second}
    assert "html" not in box["messages"][0]


# -- the emailed acknowledge link ---------------------------------------------------


def ack_url(app: APIFlask, alert_id: str, recipient: str = "duty@example.cn") -> str:
    with app.app_context():
        p = parts()
        full = p.alerting.links.url(p.alerts.public_url, alert_id, recipient)
    split = urlsplit(full)
    return f"{split.path}?{split.query}"


def confirm(client: Any, url: str) -> TestResponse:
    """Open the link page, then press its confirm button (with the page's CSRF token)."""
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    action = re.search(r'<form id="ack-link-confirm" method="post" action="([^"]+)"', page)
    assert action, page
    target = action.group(1).replace("&amp;", "&")
    return client.post(target, data={"csrf_token": token.group(1)})


def test_ack_link_get_shows_and_post_acknowledges(store: Store, app: APIFlask) -> None:
    [alert_id] = make_alerts(store, 1)
    url = ack_url(app, alert_id)
    assert url.startswith(f"/alerts/{alert_id}/ack?t=")
    client = app.test_client()
    page = client.get(url)
    assert page.status_code == 200
    assert 'id="ack-link-confirm"' in page.get_data(as_text=True)
    assert store.alerts.get(alert_id).status == "new"  # type: ignore[union-attr]  # prefetch is harmless

    done = confirm(client, url)
    assert done.status_code == 200
    alert = store.alerts.get(alert_id)
    assert alert is not None and alert.status == "acknowledged"
    [*_, last] = store.alert_timeline.list(alert_id)
    assert (last.actor, last.action, last.details["via"]) == (
        "duty@example.cn",
        "acknowledge",
        "email",
    )
    assert audits(store, f"alert:{alert_id}") == ["alert.acknowledge"]

    # Replayed: the page says so, and a POST with a valid session token changes nothing.
    replay = Browser(app)
    again = replay.get(url)
    assert again.status_code == 410
    assert "该签收链接已使用过" in again.get_data(as_text=True)
    assert replay.client.post(url, data={"csrf_token": replay.refresh_csrf()}).status_code == 410
    assert len(store.alert_timeline.list(alert_id)) == 2


def test_ack_link_post_needs_the_csrf_token(store: Store, app: APIFlask) -> None:
    [alert_id] = make_alerts(store, 1)
    url = ack_url(app, alert_id)
    client = app.test_client()
    client.get(url)
    assert client.post(url, data={}).status_code == 403
    assert client.post(url, data={"csrf_token": "forged"}).status_code == 403
    assert store.alerts.get(alert_id).status == "new"  # type: ignore[union-attr]


def test_tampered_and_expired_links_are_refused(store: Store, app: APIFlask) -> None:
    first, second = make_alerts(store, 1, 2)
    url = ack_url(app, first)
    path, token = url.split("?t=")
    tampered = f"{path}?t={token[:-3]}{'AAA' if token[-3:] != 'AAA' else 'BBB'}"
    client = app.test_client()
    for bad in (tampered, f"/alerts/{first}/ack", f"/alerts/{second}/ack?t={token}"):
        response = client.get(bad)
        assert response.status_code == 403, bad
        assert response.status_code == client.post(bad, data={}).status_code

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 73 * 3600  # links work 72 hours by default

    key = app.config["SECRET_KEY"]
    old = URLSafeTimedSerializer(key, salt="yuqing-alert-ack", signer=LongAgo)
    expired = f"/alerts/{first}/ack?t={old.dumps({'a': first, 'r': 'duty@example.cn', 'n': 'x'})}"
    response = client.get(expired)
    assert response.status_code == 410
    assert "签收链接已过期" in response.get_data(as_text=True)
    assert store.alerts.get(first).status == "new"  # type: ignore[union-attr]
    assert timeline(store, first) == [("yuqing", "created")]


def race(app: APIFlask, operator: Browser, alert_id: str) -> dict[str, int]:
    """Acknowledge from the console and by the emailed link at the same moment."""
    url = ack_url(app, alert_id)
    link_client = app.test_client()
    page = link_client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    start = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def console() -> None:
        start.wait()
        statuses["console"] = operator.post(f"/api/alerts/{alert_id}/acknowledge").status_code

    def email() -> None:
        start.wait()
        statuses["email"] = link_client.post(url, data={"csrf_token": token[1]}).status_code

    threads = [threading.Thread(target=console), threading.Thread(target=email)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_console_and_email_acknowledge_at_once(store: Store, app: APIFlask) -> None:
    """Of two people acknowledging together, one wins; both attempts are in the
    timeline and the alert is consistent."""
    operator = signed_in(app, "operator")
    for n in range(4):
        [alert_id] = make_alerts(store, 10 + n)
        statuses = race(app, operator, alert_id)
        assert sorted(statuses.values()) == [200, 409], statuses
        loser = "duty@example.cn" if statuses["console"] == 200 else "operator1"
        entries = timeline(store, alert_id)
        assert sorted(a for _, a in entries) == ["acknowledge", "acknowledge_refused", "created"]
        assert (loser, "acknowledge_refused") in entries
        alert = store.alerts.get(alert_id)
        assert alert is not None and alert.status == "acknowledged"
        assert len(store.audit.list(target=f"alert:{alert_id}")) == 1


def test_ack_link_after_someone_else_acknowledged(
    store: Store, app: APIFlask, operator: Browser
) -> None:
    [alert_id] = make_alerts(store, 1)
    url = ack_url(app, alert_id)
    operator.post(f"/api/alerts/{alert_id}/acknowledge")
    shown = app.test_client().get(url)
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert 'id="ack-link-confirm"' not in html and "已签收" in html

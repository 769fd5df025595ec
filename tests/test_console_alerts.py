"""Console pages: the dashboard, the alert inbox and detail with their forms, and the
mail catcher's page."""

from __future__ import annotations

import smtplib
import socket
from datetime import datetime
from email.message import EmailMessage

from alerting_support import RULE, SH, Clock, add, alerting, story
from api_support import Browser, signed_in
from apiflask import APIFlask

from api.context import parts
from devtools.mailcatcher import MailCatcher
from store import Store
from store.model import Source

XSS = "<script>alert(1)</script>"


def make_alert(store: Store, n: int, title: str = "") -> str:
    clock = Clock(datetime.now(SH))
    [alert_id] = add(store, alerting(store, clock), [story(n, at=clock.now, title=title)])
    return alert_id


def page(browser: Browser, url: str, status: int = 200) -> str:
    response = browser.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_dashboard_shows_volume_alerts_events_and_the_switch(store: Store, app: APIFlask) -> None:
    hostile = make_alert(store, 1, title=f"潼南{XSS}民房起火")
    make_alert(store, 2)
    viewer = signed_in(app, "viewer")
    html = page(viewer, "/")
    assert 'id="volume-chart"' in html and "/static/vendor/echarts.min.js" in html
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<strong id="open-critical">2</strong>' in html
    assert f"/alerts/{hostile}" in html
    assert 'id="emergency-switch"' not in html  # viewers see, operators switch

    volume = viewer.get("/dashboard/volume.json?days=3").get_json()
    assert len(volume["days"]) == 3 and volume["days"][-1] == datetime.now(SH).strftime("%Y-%m-%d")
    series = {s["name"]: s["data"] for s in volume["series"]}
    assert series[RULE] == [0, 0, 2]

    operator = signed_in(app, "operator")
    assert 'id="emergency-switch"' in page(operator, "/")
    switched = operator.post("/emergency", data={"scope": "*", "on": "1", "reason": "汛期"})
    assert switched.status_code == 302
    html = page(operator, "/")
    assert "紧急模式已开启" in html and "汛期" in html
    [entry] = store.audit.list(target="emergency:*")
    assert (entry.actor, entry.action) == ("operator1", "emergency.on")
    refused = operator.post("/emergency", data={"on": "1", "hours": "-2"})
    assert refused.status_code == 302
    assert "until" in page(operator, "/")  # the refusal is shown
    assert len(store.audit.list(target="emergency:*")) == 1
    assert viewer.post("/emergency", data={"on": "0"}).status_code == 403


def test_inbox_and_detail_render_escaped(store: Store, app: APIFlask) -> None:
    hostile = make_alert(store, 1, title=f"潼南<img src=x onerror=alert(1)>{XSS}起火")
    operator = signed_in(app, "operator")
    html = page(operator, "/alerts")
    assert 'id="alerts-table"' in html and 'class="alert-row"' in html
    assert f'href="/alerts/{hostile}"' in html
    assert XSS not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert f'href="/alerts/{hostile}"' not in page(operator, "/alerts?status=closed")
    assert "severity" in page(operator, "/alerts?severity=huge", 400)

    html = page(operator, f"/alerts/{hostile}")
    assert 'id="timeline"' in html and 'id="acknowledge"' in html
    assert XSS not in html and "<img src=x" not in html
    assert "<mark>起火</mark>" in html  # the event's items, highlighted
    viewer = signed_in(app, "viewer")
    html = page(viewer, f"/alerts/{hostile}")
    assert 'id="timeline"' in html and 'id="acknowledge"' not in html
    page(viewer, "/alerts/nosuchalert", 404)


def test_action_forms(store: Store, app: APIFlask) -> None:
    first, second, third = (make_alert(store, n) for n in (1, 2, 3))
    operator = signed_in(app, "operator")
    done = operator.post(f"/alerts/{first}/acknowledge")
    assert done.status_code == 302 and done.headers["Location"] == f"/alerts/{first}"
    assert store.alerts.get(first).status == "acknowledged"  # type: ignore[union-attr]
    assert operator.post(f"/alerts/{first}/assign", data={"assignee": "李四"}).status_code == 302
    assert operator.post(f"/alerts/{first}/note", data={"note": "已联系"}).status_code == 302

    bad = operator.post(f"/alerts/{first}/close", data={"reason": "bored"})
    assert bad.status_code == 400 and "reason" in bad.get_data(as_text=True)
    assert operator.post(f"/alerts/{first}/close", data={"reason": "handled"}).status_code == 302
    again = operator.post(f"/alerts/{first}/acknowledge")
    assert again.status_code == 409
    assert f"预警 {first} 当前已关闭，不能签收" in again.get_data(as_text=True)
    actions = [e.action for e in store.alert_timeline.list(first)]
    assert actions == ["created", "acknowledge", "assign", "note", "close", "acknowledge_refused"]
    assert operator.post(f"/alerts/{first}/explode").status_code == 404

    bulk = operator.post("/alerts/acknowledge", data={"ids": [second, third], "back": "/alerts"})
    assert bulk.status_code == 302
    assert "已签收 2 条" in page(operator, "/alerts")
    assert {store.alerts.get(i).status for i in (second, third)} == {"acknowledged"}  # type: ignore[union-attr]

    viewer = signed_in(app, "viewer")
    assert viewer.post(f"/alerts/{second}/note", data={"note": "x"}).status_code == 403
    assert operator.client.post(f"/alerts/{second}/note", data={"note": "x"}).status_code == 403


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_mail_page_lists_caught_messages(app: APIFlask) -> None:
    admin = signed_in(app, "admin")
    html = page(admin, "/mail")
    with app.app_context():
        folder = parts().mail_dir
    assert "mail-catcher" in html and str(folder) in html
    assert signed_in(app, "viewer").get("/mail").status_code == 403

    message = EmailMessage()
    message["Subject"] = f"【预警】潼南{XSS}"
    message["From"] = "yuqing@example.cn"
    message["To"] = "duty@example.cn"
    message.set_content(f"正文 {XSS} 结束")
    message.add_alternative(f"<p>{XSS}</p>", subtype="html")
    with MailCatcher(folder, port=free_port()) as catcher:
        with smtplib.SMTP("127.0.0.1", catcher.controller.port) as smtp:
            smtp.send_message(message)
        [kept] = catcher.messages()

    html = page(admin, "/mail")
    assert f"/mail/{kept.name}" in html and "duty@example.cn" in html
    assert XSS not in html and "【预警】潼南&lt;script&gt;" in html
    html = page(admin, f"/mail/{kept.name}")
    assert "正文 &lt;script&gt;alert(1)&lt;/script&gt; 结束" in html and XSS not in html
    page(admin, "/mail/..%2Fsecret_key", 404)
    page(admin, "/mail/missing.eml", 404)


def test_pages_name_the_source_not_its_id(store: Store, app: APIFlask) -> None:
    store.sources.put(Source("tn-news", "潼南<b>新闻</b>网", "list", ["http://a.example/"], 600))
    alert_id = make_alert(store, 1)
    operator = signed_in(app, "operator")
    html = page(operator, f"/alerts/{alert_id}")
    assert "潼南&lt;b&gt;新闻&lt;/b&gt;网" in html and "<b>新闻</b>" not in html
    item_id = store.alerts.get(alert_id).item_id  # type: ignore[union-attr]
    assert "潼南&lt;b&gt;新闻&lt;/b&gt;网" in page(operator, f"/items/{item_id}")
    # a source that is gone is shown by its id
    store.sources.delete("tn-news")
    assert "tn-news" in page(operator, f"/alerts/{alert_id}")

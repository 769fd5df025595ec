"""The [smtp] and [alerts] configuration and the alerting commands."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from alerting_support import RULE, SECRET, SH, Clock, add, alerting, story
from click.testing import CliRunner
from mailsink import MailSink, free_port

from monitor.alerts.outbox import Sender
from monitor.alerts.policy import save_policy
from store import open_store
from store.model import Source
from yuqing.cli import main
from yuqing.config import ConfigError, SmtpConfig, load


def test_smtp_and_alerts_configuration(tmp_path: Path) -> None:
    env = {"YUQING_SMTP_USERNAME": "yuqing", "YUQING_SMTP_PASSWORD": "s3cret"}
    env |= {"YUQING_SMTP_STARTTLS": "true", "YUQING_ALERTS_ADMINS": "a@x.cn, b@x.cn"}
    config = load(env=env)
    assert config.smtp.password == "s3cret" and config.masked()["smtp"]["password"] == "***"
    assert config.alerts.admins == ["a@x.cn", "b@x.cn"]
    critical = config.alerts.deadlines["critical"]
    assert (critical.acknowledge, critical.guidance, critical.respond) == (30, 300, 1440)

    path = tmp_path / "y.toml"
    path.write_text(
        "[alerts.deadlines.critical]\nacknowledge = 15\nguidance = 120\nrespond = 720\n"
    )
    deadlines = load(path, env={}).alerts.deadlines
    assert deadlines["critical"].acknowledge == 15 and deadlines["warning"].acknowledge == 120

    path.write_text(
        '[smtp]\nssl = true\nstarttls = true\n[alerts]\nescalation = ["领导"]\n'
        'quiet_hours = "22:00-7:00"\n'
    )
    with pytest.raises(ConfigError) as info:
        load(path, env={})
    message = str(info.value)
    assert "smtp: Value error, set ssl (port 465) or starttls (port 587), not both" in message
    assert "alerts.escalation: Value error, '领导' is not an email address" in message
    assert "alerts.quiet_hours: String should match pattern" in message


def test_failed_messages_are_listed_in_the_operators_language(tmp_path: Path) -> None:
    """Why a message failed is recorded in English; ``yuqing outbox --failed`` says it in
    Chinese, or as recorded with YUQING_LANG=en."""
    db = tmp_path / "y.db"
    store = open_store(f"sqlite:///{db}")
    try:
        clock = Clock()
        add(store, alerting(store, clock), [story(1)])
        closed = free_port()  # no mail server there
        smtp = SmtpConfig(port=closed, timeout=2)
        assert Sender(store, smtp, clock, workers=1, max_attempts=1).run_once() == 0
    finally:
        store.close()
    runner = CliRunner(env={"YUQING_STORE": f"sqlite:///{db}", "YUQING_API_SECRET_KEY": SECRET})
    zh = runner.invoke(main, ["outbox", "--failed"]).output.splitlines()[1:]
    en = runner.invoke(main, ["outbox", "--failed"], env={"YUQING_LANG": "en"})
    assert len(zh) == 2 and all(
        f"已重试 1 次仍失败：邮件服务器 127.0.0.1:{closed}：" in x for x in zh
    )
    failed = en.output.splitlines()[1:]
    assert len(failed) == 2
    assert all(f"failed after 1 attempts: mail server 127.0.0.1:{closed}: " in x for x in failed)


def test_alert_commands(tmp_path: Path) -> None:
    db = tmp_path / "y.db"
    store = open_store(f"sqlite:///{db}")
    [ident] = add(store, alerting(store, Clock()), [story(1)])
    sink = MailSink().start()
    env = {
        "YUQING_STORE": f"sqlite:///{db}",
        "YUQING_API_SECRET_KEY": SECRET,
        "YUQING_SMTP_PORT": str(sink.port),
    }
    runner = CliRunner(env=env)
    try:
        listed = runner.invoke(main, ["alerts", "list"])
        assert listed.exit_code == 0 and ident in listed.output and "（1 条）" in listed.output
        listed = runner.invoke(main, ["alerts", "list"], env={"YUQING_LANG": "en"})
        assert ident in listed.output and "(1 items)" in listed.output
        assert runner.invoke(main, ["outbox"]).output.strip() == '{"pending": 2}'
        sent = runner.invoke(main, ["send-outbox", "--once"])
        assert sent.output.strip() == "已发送 2 条" and len(sink.received) == 2
        sent = runner.invoke(main, ["send-outbox", "--once"], env={"YUQING_LANG": "en"})
        assert sent.output.strip() == "sent 0"

        figures = json.loads(runner.invoke(main, ["alerts", "stats", "--days", "36500"]).output)
        assert figures["alerts"] == 1 and figures["per_rule"] == {RULE: 1}
        close = ["alerts", "act", ident, "close", "--actor", "张三", "--reason", "handled"]
        assert runner.invoke(main, close).exit_code == 0
        again = runner.invoke(main, close)
        assert again.exit_code == 2 and again.output == f"错误：预警 {ident} 当前已关闭，不能关闭\n"
        english = runner.invoke(main, close, env={"YUQING_LANG": "en"})  # the second locale
        assert english.output == f"Error: cannot close alert {ident}: it is closed\n"
        missing = runner.invoke(main, ["alerts", "act", "nope", "acknowledge", "--actor", "张三"])
        assert missing.exit_code == 2 and "没有预警 nope" in missing.output

        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"mode": "threshold", "window_minutes": -1}))
        refused = runner.invoke(main, ["alerts", "policy", RULE, str(bad), "--author", "张三"])
        assert refused.exit_code == 2 and "window_minutes" in refused.output
        assert store.alert_policies.get(RULE) is None

        policy = {"source_tags": ["government"], "emergency_interval": 30}
        save_policy(store, RULE, policy, "张三", datetime.now(SH))
        for ident, tags in (("gov", ["government"]), ("forum", ["forum"])):
            store.sources.put(Source(ident, ident, "list", ["http://x.cn/"], 600, tags))
        on = ["emergency", "on", "--rule", RULE, "--actor", "值班长", "--hours", "2"]
        assert runner.invoke(main, on).output.strip() == f"已为 {RULE} 开启应急模式"
        switch = store.emergencies.get(RULE)
        assert switch is not None and switch.on and switch.until is not None
        assert [a.action for a in store.audit.list(target=f"emergency:{RULE}")] == ["emergency.on"]
        # The tagged source is crawled every 30 s until the emergency ends, the other not.
        gov, forum = store.sources.get("gov"), store.sources.get("forum")
        assert gov is not None and gov.effective_interval(datetime.now(SH)) == 30
        assert gov.emergency_until and abs(gov.emergency_until - switch.until).total_seconds() < 1
        assert forum is not None and forum.effective_interval(datetime.now(SH)) == 600
        off = ["emergency", "off", "--rule", RULE, "--actor", "值班长"]
        said = runner.invoke(main, off, env={"YUQING_LANG": "en"})
        assert said.exit_code == 0 and said.output.strip() == f"emergency off for {RULE}"
        gov = store.sources.get("gov")
        assert gov is not None and gov.effective_interval(datetime.now(SH)) == 600
        nobody = runner.invoke(main, ["emergency", "off", "--actor", " "])
        assert nobody.exit_code == 2 and "actor" in nobody.output
    finally:
        sink.stop()
        store.close()

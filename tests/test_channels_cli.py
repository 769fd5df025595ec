"""``yuqing channels`` and ``yuqing routing``: secrets from the environment and never
printed, test sends against the fake platforms, dead letters resent, the routing table
set, shown and previewed, and one line with exit code 2 for a wrong input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alerting_support import SECRET, Clock, add, alerting, story
from channel_support import DING_SECRET, sender
from click.testing import CliRunner

from devtools.fakeplatforms import FakePlatforms
from store import open_store
from yuqing.cli import main


@pytest.fixture
def fakes() -> Iterator[FakePlatforms]:
    server = FakePlatforms().start()
    yield server
    server.stop()


def test_channel_and_routing_commands(tmp_path: Path, fakes: FakePlatforms) -> None:
    db = tmp_path / "y.db"
    (tmp_path / "none.toml").write_text("")
    env = {
        "YUQING_CONFIG": str(tmp_path / "none.toml"),
        "YUQING_STORE": f"sqlite:///{db}",
        "YUQING_API_SECRET_KEY": SECRET,
        "DUTY_WEBHOOK": fakes.add_dingtalk("dt-cli", DING_SECRET, ["舆情"]),
        "DUTY_SECRET": DING_SECRET,
    }
    runner = CliRunner(env=env)
    channel = tmp_path / "duty.yaml"
    channel.write_text(
        "id: district-duty\nkind: dingtalk\nname: 区值班群\n"
        "settings:\n  keywords: [舆情]\n"
        "secrets:\n  webhook: ${DUTY_WEBHOOK}\n  secret: ${DUTY_SECRET}\n",
        encoding="utf-8",
    )
    made = runner.invoke(main, ["channels", "put", str(channel)])
    assert made.exit_code == 0, made.output
    assert DING_SECRET not in made.output and "dt-cli" not in made.output
    listed = runner.invoke(main, ["channels", "list"])
    assert "district-duty" in listed.output and "●●●●" + DING_SECRET[-4:] in listed.output
    assert DING_SECRET not in listed.output and "电子邮件（[smtp]）" in listed.output
    listed = runner.invoke(main, ["channels", "list"], env={"YUQING_LANG": "en"})
    assert "email (the [smtp] settings)" in listed.output and "district-duty" in listed.output
    tried = runner.invoke(main, ["channels", "test", "district-duty"])
    assert tried.exit_code == 0 and tried.output.strip() == "已送达" and len(fakes.received) == 1
    tried = runner.invoke(main, ["channels", "test", "district-duty"], env={"YUQING_LANG": "en"})
    assert tried.exit_code == 0 and tried.output.strip() == "delivered"
    # The platform refuses: its reason in the operator's language, exit code 1.
    fakes.dingtalk["dt-cli"].secret = "SECrotated"
    tried = runner.invoke(main, ["channels", "test", "district-duty"])
    assert tried.exit_code == 1
    assert tried.output.startswith(
        "失败：钉钉 310000：签名不匹配：检查加签密钥，或服务器时间是否准确（"
    )
    tried = runner.invoke(main, ["channels", "test", "district-duty"], env={"YUQING_LANG": "en"})
    assert tried.exit_code == 1
    assert tried.output.startswith("failed: DingTalk 310000: signature mismatch: check the signing")
    fakes.dingtalk["dt-cli"].secret = DING_SECRET

    # Wrong inputs: one line naming the field, exit code 2, nothing changed.
    channel.write_text("id: district-duty\nkind: dingtalk\nname: x\nsecrets:\n  webhook: ${NOPE}\n")
    refused = runner.invoke(main, ["channels", "put", str(channel)])
    assert refused.exit_code == 2 and "secrets.webhook：环境变量 NOPE 未设置" in refused.output
    channel.write_text("id: district-duty\nkind: dingtalk\nname: [x\n")
    refused = runner.invoke(main, ["channels", "put", str(channel)])
    assert (
        refused.exit_code == 2 and "第 4 行" in refused.output and "Traceback" not in refused.output
    )
    table = tmp_path / "routing.yaml"
    table.write_text("routes:\n  - name: 全部\n    to:\n      - channel: duty\n")
    refused = runner.invoke(main, ["routing", "set", str(table)])
    assert refused.exit_code == 2
    assert "routes.0.to.0.channel：没有渠道 'duty'" in refused.output
    assert len(refused.output.strip().splitlines()) == 1

    table.write_text("routes:\n  - name: 全部\n    to:\n      - channel: district-duty\n")
    saved = runner.invoke(main, ["routing", "set", str(table)])
    assert saved.exit_code == 0 and saved.output == "已保存路由表：1 条路由\n", saved.output
    shown = runner.invoke(main, ["routing", "show"])
    assert "channel: district-duty" in shown.output
    preview = runner.invoke(
        main, ["routing", "preview", "--rule", "潼南火灾", "--severity", "critical"]
    )
    assert "路由：全部" in preview.output and "district-duty  区值班群" in preview.output
    preview = runner.invoke(
        main,
        ["routing", "preview", "--rule", "潼南火灾", "--severity", "critical"],
        env={"YUQING_LANG": "en"},
    )
    assert "routes: 全部" in preview.output and "district-duty  区值班群" in preview.output
    refused = runner.invoke(main, ["channels", "remove", "district-duty"])
    assert refused.exit_code == 2 and "仍在路由表中使用" in refused.output

    # A dead letter, listed and resent.
    store = open_store(f"sqlite:///{db}")
    try:
        clock = Clock()
        fakes.dingtalk["dt-cli"].keywords = ["舆情告警"]  # the robot's keyword changed
        add(store, alerting(store, clock, recipients=[]), [story(1)])
        sender(store, clock).run_once()
        [dead] = store.outbox.list(status="failed")
        listed = runner.invoke(main, ["channels", "dead"])
        assert dead.id in listed.output
        assert "钉钉 310000：消息不含机器人设置的自定义关键词（" in listed.output
        listed = runner.invoke(main, ["channels", "dead"], env={"YUQING_LANG": "en"})
        assert "DingTalk 310000: the message holds none of the robot's custom keywords (" in (
            listed.output
        )
        resent = runner.invoke(main, ["channels", "resend", dead.id])
        assert resent.exit_code == 0 and store.outbox.find(dead.id).status == "pending"  # type: ignore[union-attr]
        assert resent.output.startswith("已重新排队 "), resent.output
        again = runner.invoke(main, ["channels", "resend", dead.id])
        assert again.exit_code == 2 and "只有失败的投递可以重发" in again.output
        actions = [e.action for e in store.audit.list(limit=20)]
        assert actions.count("delivery.resend") == 1 and actions.count("routing.update") == 1
        assert actions.count("channel.create") == 1 and actions.count("channel.test") == 4
    finally:
        store.close()

"""Notification state (channels, the routing table, deliveries by alert, channel and
short link): the contract, on both backends; and an outbox written before channels is
still read and sent."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from test_store_alerts import T0, message

from store import ConflictError, Store, open_store
from store.model import ChannelConfig, RoutingTable, message_id


def channel(ident: str = "duty-group", **changes: object) -> ChannelConfig:
    values: dict[str, object] = {
        "id": ident,
        "kind": "dingtalk",
        "name": "区值班群",
        "settings": {"keywords": ["舆情"]},
        "secrets": {"webhook": "https://oapi.dingtalk.com/robot/send?access_token=t0k"},
        "updated": T0,
        "author": "张三",
    }
    return ChannelConfig(**(values | changes))  # type: ignore[arg-type]


def test_channels_are_created_once_and_changed_by_version(store: Store) -> None:
    first = store.channels.put(channel())
    assert first.version
    with pytest.raises(ConflictError):
        store.channels.put(channel(name="另一个"))  # the id is taken
    got = store.channels.get("duty-group")
    assert got is not None and got.secrets == first.secrets and got.settings["keywords"] == ["舆情"]
    got.enabled = False
    changed = store.channels.put(got)
    assert changed.version != first.version
    stale = channel(version=first.version)
    with pytest.raises(ConflictError):
        store.channels.put(stale)
    store.channels.put(channel("a-sms", kind="sms_gateway"))
    assert [c.id for c in store.channels.list()] == ["a-sms", "duty-group"]
    assert store.channels.get("duty-group").enabled is False  # type: ignore[union-attr]
    assert store.channels.delete("a-sms") and not store.channels.delete("a-sms")
    assert store.channels.get("nope") is None


def test_one_routing_table_versioned(store: Store) -> None:
    assert store.routing.get() is None
    table = store.routing.put(RoutingTable({"routes": []}, T0, "张三"))
    with pytest.raises(ConflictError):
        store.routing.put(RoutingTable({"routes": [1]}, T0, "李四"))  # exists already
    first = table.version
    table.settings = {"routes": [{"name": "严重"}]}
    store.routing.put(table)
    got = store.routing.get()
    assert got is not None and got.settings == {"routes": [{"name": "严重"}]}
    assert got.author == "张三" and got.version != first
    with pytest.raises(ConflictError):
        store.routing.put(RoutingTable({}, T0, version=first))  # someone saved since


def test_deliveries_by_alert_channel_id_and_link(store: Store) -> None:
    chat = message("a1/duty-group/new", channel="duty-group", alert_id="a1", link="Ab3dEf9hJk2m")
    chat.notice = {"kind": "new", "title": "起火"}
    assert store.outbox.add(chat)
    assert store.outbox.add(message("a1/duty@example.cn/new", alert_id="a1"))
    assert store.outbox.add(message("a2/duty@example.cn/new", alert_id="a2"))
    assert {m.key for m in store.outbox.list(alert_id="a1")} == {
        "a1/duty-group/new",
        "a1/duty@example.cn/new",
    }
    assert [m.key for m in store.outbox.list(channel="duty-group")] == ["a1/duty-group/new"]
    assert len(store.outbox.list(channel="email")) == 2
    assert store.outbox.list(alert_id="a1", channel="email", status="sent") == []
    found = store.outbox.by_link("Ab3dEf9hJk2m")
    assert found is not None and found.key == chat.key and found.notice == chat.notice
    assert store.outbox.by_link("Ab3dEf9hJk2n") is None and store.outbox.by_link("") is None
    by_id = store.outbox.find(message_id("a2/duty@example.cn/new"))
    assert by_id is not None and by_id.channel == "email"
    found.status, found.merged_into = "merged", "a1/duty-group/update-1"
    store.outbox.update(found)
    assert store.outbox.counts() == {"pending": 2, "merged": 1}


def test_an_outbox_from_before_channels_is_read_and_migrated(tmp_path: Path) -> None:
    """A SQLite file whose outbox has only the first columns and email documents."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema', '1');
        CREATE TABLE outbox (id TEXT PRIMARY KEY, status TEXT NOT NULL, due INTEGER NOT NULL,
            created INTEGER NOT NULL, doc TEXT NOT NULL, version INTEGER NOT NULL);
        """
    )
    doc = {
        "key": "a9/duty@example.cn/new",
        "recipient": "duty@example.cn",
        "subject": "【舆情严重】起火",
        "text": "正文",
        "html": "<p>正文</p>",
        "created": T0.isoformat(),
        "due": T0.isoformat(),
        "kind": "new",
        "alert_id": "a9",
        "status": "pending",
        "attempts": 0,
        "sent": None,
        "error": "",
    }
    ms = int(T0.timestamp() * 1000)
    db.execute(
        "INSERT INTO outbox VALUES (?, 'pending', ?, ?, ?, 1)",
        (message_id(doc["key"]), ms, ms, json.dumps(doc, ensure_ascii=False)),
    )
    db.commit()
    db.close()
    store = open_store(f"sqlite:///{path}")
    try:
        [old] = store.outbox.due(T0)
        assert old.channel == "email" and old.notice == {} and old.html == "<p>正文</p>"
        assert [m.key for m in store.outbox.list(alert_id="a9", channel="email")] == [old.key]
    finally:
        store.close()

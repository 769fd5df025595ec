"""``yuqing store``: migration to time-based indices and replicas, on the real node."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from elasticsearch import Elasticsearch
from test_store_generations import _legacy, make

from store import open_store
from yuqing.cli import main


def _env(es_url: str, prefix: str) -> dict[str, str]:
    return {"YUQING_STORE": es_url, "YUQING_STORE_PREFIX": prefix, "YUQING_CONFIG": ""}


def test_store_migrate_command(es_url: str, es_prefix: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    items = [make(n, now - timedelta(days=n)) for n in range(25)]
    legacy = _legacy(es_url, es_prefix, items)
    runner = CliRunner()
    env = _env(es_url, es_prefix)
    status = runner.invoke(main, ["status"], env=env)
    assert status.exit_code == 0, status.output
    assert "警告      信息存放在旧版 yuqing 的单一索引中" in status.output
    english = runner.invoke(main, ["status"], env=env | {"YUQING_LANG": "en"})
    assert "warning   items are in one index" in english.output
    assert "store     ok  elasticsearch" in english.output
    result = runner.invoke(main, ["store", "migrate", "--batch", "10"], env=env)
    assert result.exit_code == 0, result.output
    assert "已迁移 10 条，剩余 15 条" in result.output
    assert "迁移完成：25 条移入" in result.output
    client = Elasticsearch(es_url)
    assert not client.indices.exists(index=legacy)
    client.close()
    store = open_store(es_url, prefix=es_prefix)
    assert store.items.count() == 25
    store.close()
    again = runner.invoke(main, ["store", "migrate"], env=env)
    assert again.exit_code == 0 and "无需迁移" in again.output
    english = runner.invoke(main, ["store", "migrate"], env=env | {"YUQING_LANG": "en"})
    assert english.output == "nothing to migrate: the items are in time-based indices already\n"


def test_store_replicas_command(es_url: str, es_prefix: str, tmp_path: Path) -> None:
    open_store(es_url, prefix=es_prefix).close()
    runner = CliRunner()
    env = _env(es_url, es_prefix)
    client = Elasticsearch(es_url)

    def settings() -> set[tuple[str, str]]:
        found = client.indices.get_settings(index=f"{es_prefix}*", flat_settings=True)
        return {
            (
                s["settings"].get("index.auto_expand_replicas", "false"),
                s["settings"].get("index.number_of_replicas"),
            )
            for s in found.values()
        }

    assert {auto for auto, _ in settings()} == {"0-1"}  # the default: auto
    result = runner.invoke(main, ["store", "replicas", "1"], env=env)
    assert result.exit_code == 0, result.output
    assert "副本数已设为 1" in result.output and "只有 1 个数据节点" in result.output
    assert settings() == {("false", "1")}
    # A new generation of items keeps what was set.
    store = open_store(es_url, prefix=es_prefix)
    assert store.items.generations.rollover(force=True)  # type: ignore[attr-defined]
    store.close()
    assert settings() == {("false", "1")}
    auto = runner.invoke(main, ["store", "replicas", "auto"], env=env | {"YUQING_LANG": "en"})
    assert auto.exit_code == 0 and " index(es) set to auto" in auto.output, auto.output
    assert {auto for auto, _ in settings()} == {"0-1"}
    bad = runner.invoke(main, ["store", "replicas", "many"], env=env)
    assert bad.exit_code == 2 and "副本数应为 0-8 或 auto" in bad.output
    bad = runner.invoke(main, ["store", "replicas", "9"], env=env | {"YUQING_LANG": "en"})
    assert bad.exit_code == 2 and "replicas are 0-8 or auto, not '9'" in bad.output
    sqlite = {"YUQING_STORE": f"sqlite:///{tmp_path / 'y.db'}", "YUQING_CONFIG": ""}
    refused = runner.invoke(main, ["store", "replicas", "1"], env=sqlite)
    assert refused.exit_code == 2 and "只适用于 Elasticsearch" in refused.output
    client.close()

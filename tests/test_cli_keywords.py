"""``yuqing match`` and ``yuqing keywords`` through the real command (SQLite store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from yuqing.cli import main

LIBRARY = """\
groups:
- name: 潼南地名
  category: region
  words: [潼南, 双江镇, {text: 梓潼, aliases: [梓潼街道]}]
- name: 火灾词
  category: event
  words: [火灾, 起火]
- name: 排除词
  category: exclusion
  words: [演练]
rules:
- name: 火灾监测
  expression: "@潼南地名 NEAR/10 @火灾词 NOT @排除词"
  severity: critical
  must_match: [双江镇发生火灾]
  must_not_match: [潼南消防火灾演练]
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_STORE", f"sqlite:///{tmp_path / 'y.db'}")
    (tmp_path / "lib.yaml").write_text(LIBRARY, encoding="utf-8")
    return tmp_path


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input, env=env)
    return result.exit_code, result.output


def test_match_prints_rules_and_hits_with_original_offsets(env: Path) -> None:
    (env / "a.txt").write_text(
        "梓潼街道一商铺起@火\n今天上午，梓潼街道一商铺起火。", encoding="utf-8"
    )
    (env / "b.txt").write_text("天气预报\n明天小雨。", encoding="utf-8")
    code, out = run("match", "--library", "lib.yaml", "--json", "a.txt", "b.txt")
    assert code == 0, out
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["rules"] == ["火灾监测"]
    title_hits = {(h["word"], h["start"], h["end"]) for h in first["hits"] if h["field"] == "title"}
    assert ("起火", 7, 10) in title_hits  # 起@火 in the original title
    assert second == {"input": "b.txt", "rules": [], "hits": []}


def test_match_longest_and_variants(env: Path) -> None:
    library = """\
groups:
- name: 地名
  words: [潼南, 潼南区]
  options: {pinyin: true, repeats: true}
rules:
- name: r
  expression: "@地名"
"""
    (env / "v.yaml").write_text(library, encoding="utf-8")
    text = "x\n潼南区起火，tongnan，潼潼南"
    code, out = run("match", "--library", "v.yaml", "--json", input=text)
    assert code == 0, out
    spans = {(h["start"], h["end"], h["variant"]) for h in json.loads(out)["hits"]}
    assert {(0, 2, None), (0, 3, None), (6, 13, "pinyin"), (14, 17, "repeats")} <= spans
    code, out = run("match", "--library", "v.yaml", "--json", "--longest", input=text)
    spans = {(h["start"], h["end"]) for h in json.loads(out)["hits"]}
    assert (0, 3) in spans and (0, 2) not in spans
    code, out = run("match", "--library", "v.yaml", input=text)
    assert "[pinyin]" in out and "[repeats]" in out
    assert "（" in out, out  # the hits' lines in Chinese
    code, out = run("match", "--library", "v.yaml", input="x\n无关\n")
    assert out == "-: 未命中任何规则\n", out
    code, out = run("match", "--library", "v.yaml", input="x\n无关\n", env={"YUQING_LANG": "en"})
    assert out == "-: no rule matched\n", out


def test_match_reads_standard_input(env: Path) -> None:
    code, out = run("match", "--library", "lib.yaml", "--json", input="x\n潼南起火\n")
    assert code == 0 and json.loads(out)["rules"] == ["火灾监测"]


def test_validate_reports_problems_with_their_place(env: Path) -> None:
    (env / "bad.yaml").write_text(LIBRARY.replace("NOT @排除词", "NOT @没有"), encoding="utf-8")
    code, out = run("keywords", "validate", "bad.yaml")
    assert code == 2
    assert "规则 火灾监测 的表达式：没有关键词组 @没有" in out
    code, out = run("keywords", "validate", "bad.yaml", env={"YUQING_LANG": "en"})
    assert code == 2 and "rule 火灾监测, expression: unknown group @没有" in out


def test_import_history_diff_export_rollback(env: Path) -> None:
    assert run("keywords", "import", "lib.yaml", "--author", "张三")[0] == 0
    (env / "more.txt").write_text("# 新增地名\n宝龙镇\n\n梓潼\n", encoding="utf-8")
    code, out = run(
        "keywords",
        "import",
        "more.txt",
        "--group",
        "潼南地名",
        "--category",
        "region",
        "--author",
        "李四",
    )
    assert code == 0 and "已保存版本 2：" in out, out
    code, out = run("keywords", "history")
    assert [line.split()[0] for line in out.splitlines()] == ["2", "1"]
    assert run("keywords", "diff", "1", "2")[1].strip() == "~ 词组 潼南地名：+ 宝龙镇"
    english = run("keywords", "diff", "1", "2", env={"YUQING_LANG": "en"})[1]
    assert english.strip() == "~ group 潼南地名: + 宝龙镇"
    assert run("keywords", "diff", "1", "1")[1].strip() == "没有变化"
    assert run("keywords", "export", "out.yaml") == (0, "已写入 out.yaml\n")
    assert "宝龙镇" in (env / "out.yaml").read_text(encoding="utf-8")
    code, out = run("keywords", "rollback", "1", "--author", "王五", env={"YUQING_LANG": "en"})
    assert code == 0 and "saved version 3" in out
    assert run("keywords", "export", "v3.yaml")[0] == 0
    assert "宝龙镇" not in (env / "v3.yaml").read_text(encoding="utf-8")


def test_failed_import_changes_nothing(env: Path) -> None:
    run("keywords", "import", "lib.yaml", "--author", "a")
    (env / "bad.csv").write_text(
        "group,word,weight\n潼南地名,铜梁,x\n潼南地名,,1\n", encoding="utf-8"
    )
    code, out = run("keywords", "import", "bad.csv", "--author", "a")
    assert code == 2
    assert "第 2 行 weight 列：权重 'x' 须是 0 到 100 的数" in out
    assert "第 3 行 word 列：词为空" in out
    assert [line.split()[0] for line in run("keywords", "history")[1].splitlines()] == ["1"]


def test_import_places_names_bad_lines_and_files_the_rest(env: Path) -> None:
    (env / "bad.csv").write_text("名称,上级代码\n潼南中学,999999\n甲,500152\n", encoding="utf-8")
    code, out = run("keywords", "import-places", "bad.csv", "--author", "a")
    assert code == 2 and "未导入" in out and "第 2 行" in out and "第 3 行" in out, out
    (env / "places.csv").write_text(
        "名称,上级代码,类型\n潼南中学,500152,school\n", encoding="utf-8"
    )
    code, out = run("keywords", "import-places", "places.csv", "--author", "a")
    assert code == 0 and "1 个地名" in out, out
    exported = run("keywords", "export", "now.yaml")
    assert exported[0] == 0 and "500152-1" in (env / "now.yaml").read_text(encoding="utf-8")


def test_the_sample_library_is_valid() -> None:
    sample = Path(__file__).parents[1] / "keywords" / "samples" / "tongnan.yaml"
    code, out = run("keywords", "validate", str(sample))
    assert code == 0 and "检查通过" in out, out
    code, out = run("keywords", "test", str(sample), "梓潼街道一民房起火，消防正在扑救")
    assert json.loads(out)["rules"] == ["潼南火灾"]
    # 米心镇 is no word of the sample's 潼南地名: region:500152 finds it.
    code, out = run("keywords", "test", str(sample), "潼南区米心镇新增确诊病例")
    assert json.loads(out)["rules"] == ["潼南疫情"]


def test_backtest_compares_a_file_with_the_live_library(env: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from rules.tokens import index_text
    from store import Item, open_store

    run("keywords", "import", "lib.yaml", "--author", "a")
    store = open_store(f"sqlite:///{env / 'y.db'}")
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    for n, title in enumerate(["宝龙镇一民房起火", "双江镇发生火灾"]):
        store.items.upsert_many(
            [
                Item(
                    url=f"http://x/{n}",
                    title=title,
                    body="",
                    first_seen=now,
                    norm_title=index_text(title),
                )
            ]
        )
    store.close()
    (env / "new.yaml").write_text(LIBRARY.replace("双江镇,", "双江镇, 宝龙镇,"), encoding="utf-8")
    code, out = run("keywords", "backtest", "new.yaml", "--days", "1")
    assert code == 0, out
    assert out.startswith("对比版本 1，最近 1 天") and "火灾监测：1 -> 2，+1 -0" in out, out
    code, out = run("keywords", "backtest", "new.yaml", "--days", "1", env={"YUQING_LANG": "en"})
    assert "火灾监测: 1 -> 2, +1 -0" in out
    assert "+ 宝龙镇一民房起火  http://x/0" in out

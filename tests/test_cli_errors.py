"""What a newcomer types wrong gets one line naming the problem and exit code 2, never a
traceback; a store that cannot be reached says where the address came from (exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_service import free_port

from yuqing.cli import main


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    monkeypatch.delenv("YUQING_STORE", raising=False)

    def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        result = CliRunner(env=env).invoke(main, list(args))
        assert "Traceback" not in result.output
        # A user error is an exit, never an exception escaping the command.
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result.exit_code, result.output

    return invoke


def test_user_errors_are_one_line_and_exit_2(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out = run("match", "--library", "nope.yaml")
    assert code == 2 and "nope.yaml" in out
    (tmp_path / "bad.yaml").write_text("groups: [{name: a, words: []}]\n")
    code, out = run("keywords", "validate", "bad.yaml")
    assert code == 2 and "a" in out
    code, out = run("alerts", "show", "nope")
    assert code == 2 and "nope" in out
    (tmp_path / "yuqing.toml").write_text("[api]\nport = 'x'\n")
    code, out = run("status")
    assert code == 2 and "api.port" in out


def test_sources_list_reads_as_the_other_lists(run) -> None:  # type: ignore[no-untyped-def]
    """In Chinese by default (the first listing seeds the defaults and says so), English
    with YUQING_LANG=en; the rows' data the same."""
    code, out = run("sources", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("已添加 ") and lines[1].startswith("信息源 "), out
    code, english = run("sources", "list", env={"YUQING_LANG": "en"})
    assert code == 0 and english.splitlines()[0].startswith("source "), english
    # No run yet: each row's data the same, its health and a paused source's interval
    # said in the language.
    rows = [line.removesuffix("正常").replace(" 停用 ", "  off ") for line in lines[2:]]
    assert [line.removesuffix("ok") for line in english.splitlines()[1:]] == rows


@pytest.mark.slow  # the command waits a while for the store before it gives up
def test_an_unreachable_store_says_where_its_address_came_from(run) -> None:  # type: ignore[no-untyped-def]
    env = {"YUQING_STORE": f"http://127.0.0.1:{free_port()}"}
    code, out = run("alerts", "list", env=env)
    assert code == 1 and "$YUQING_STORE" in out and "not reachable" in out


def test_validate_lists_the_problems_of_every_stage_at_once(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "lib.yaml").write_text(
        "groups:\n- name: 地名\n  words: [潼南]\n- name: 火灾词\n  words: [起火]\n"
        "rules:\n- name: 坏方案\n  expression: '@地名 @没有'\n"
        "- name: 火灾\n  expression: '@地名 @火灾词'\n  must_match: [北京起火]\n",
        encoding="utf-8",
    )
    code, out = run("keywords", "validate", "lib.yaml")
    # The expression's problem and the other rule's failing test sentence, in one run.
    assert code == 2
    assert "规则 坏方案 的表达式：没有关键词组 @没有" in out
    assert "规则 火灾 的测试句 '北京起火'：应当匹配，实际未匹配" in out


def test_status_reads_in_the_operators_language(run) -> None:  # type: ignore[no-untyped-def]
    """``yuqing status`` in Chinese by default, English with YUQING_LANG=en; the names the
    options take (a backend, an alert status) and the data the same in both."""
    assert run("sources", "list")[0] == 0  # the embedded store, with the default sources
    code, out = run("status")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("存储      正常  sqlite ") and "条信息" in lines[0], out
    assert lines[1].startswith("API       无应答  http://"), out
    assert any(line.startswith("告警      new 0  acknowledged 0") for line in lines), out
    assert any(line == "应急模式  停用" for line in lines), out
    code, english = run("status", env={"YUQING_LANG": "en"})
    assert code == 0, english
    english_lines = english.splitlines()
    assert english_lines[0].startswith("store     ok  sqlite ") and "items" in english_lines[0]
    assert english_lines[1].startswith("API       not answering  http://"), english
    assert "emergency off" in english
    # Each source's row: the same data, its health and a paused source said in the language.
    rows = lines[lines.index("") + 2 :]
    english_rows = english_lines[english_lines.index("") + 2 :]
    assert len(rows) == len(english_rows) > 0
    assert [r.removesuffix("正常").replace(" 停用 ", "  off ") for r in rows] == [
        r.removesuffix("ok") for r in english_rows
    ]

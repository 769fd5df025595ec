"""What the ``yuqing`` command prints for a person is in the operator's language: every
template it says (yuqing/cli/words.py: ``say``, ``text``) has its Chinese, with the same
placeholders, and no command prints a line of words, English or Chinese, around the
catalog."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from yuqing.cli import words

CLI = Path(__file__).resolve().parent.parent / "yuqing" / "cli"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # with CJK punctuation
PLACEHOLDER = re.compile(r"\{(\w+)[^}]*\}")
WORD = re.compile(r"[A-Za-z]{2,}")


def _calls(name: str) -> Iterator[tuple[str, ast.Call]]:
    """Each call of ``name`` (a function, or a method as ``click.echo``) in yuqing/cli."""
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if called == name:
                    yield f"{path.name}:{node.lineno}", node


def _said() -> Iterator[tuple[str, ast.expr]]:
    for name in ("say", "text"):
        for at, call in _calls(name):
            if call.args and not at.startswith("words.py"):  # not the helpers themselves
                yield at, call.args[0]


def test_every_template_said_is_a_literal_with_chinese() -> None:
    missing, built = [], []
    for at, arg in _said():
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            if arg.value not in words.CHINESE:
                missing.append(f"{at}: {arg.value!r}")
        elif not (
            isinstance(arg, ast.IfExp)
            and all(
                isinstance(side, ast.Constant) and side.value in words.CHINESE
                for side in (arg.body, arg.orelse)
            )
        ):
            built.append(f"{at}: {ast.unparse(arg)}")
    assert not missing, "templates without their Chinese in yuqing/cli/words.py:\n" + "\n".join(
        missing
    )
    assert not built, "a template is a literal (values go in as keywords):\n" + "\n".join(built)


def test_catalog_is_chinese_with_the_same_placeholders_and_all_used() -> None:
    used = {
        side.value
        for _, arg in _said()
        for side in ((arg.body, arg.orelse) if isinstance(arg, ast.IfExp) else (arg,))
        if isinstance(side, ast.Constant)
    }
    for english, chinese in words.CHINESE.items():
        assert CJK.search(chinese), english
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(chinese)), english
        assert english in used, f"not said anywhere: {english!r}"


def _literal_words(node: ast.expr) -> str:
    """The text a printed literal writes itself (an f-string's values left out)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return ""


def test_no_command_prints_words_past_the_catalog() -> None:
    """``click.echo`` prints data (ids, names, dates, JSON) or what the catalog says."""
    worded = [
        f"{at}: {ast.unparse(call.args[0])}"
        for at, call in _calls("echo")
        if call.args and (WORD.search(text := _literal_words(call.args[0])) or CJK.search(text))
    ]
    assert not worded, "printed words not in the catalog:\n" + "\n".join(worded)


@pytest.mark.parametrize(
    "lang, expected", [("en", "enabled tom"), ("zh", "已启用 tom"), ("", "已启用 tom")]
)
def test_text_follows_yuqing_lang(
    monkeypatch: pytest.MonkeyPatch, lang: str, expected: str
) -> None:
    monkeypatch.setenv("YUQING_LANG", lang)
    assert words.text("enabled {name}", name="tom") == expected


def test_pad_counts_a_chinese_character_as_two_columns() -> None:
    assert words.pad("已启用", 9) == "已启用   " and words.pad("ok", 4, right=True) == "  ok"

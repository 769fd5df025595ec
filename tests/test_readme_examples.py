"""Every example the README shows works on a demo world's data.

The examples are read from README.md itself, so the two cannot drift: each line of a
``sh`` code block is a command, run with bash in a scratch folder against a copy of the
demo world's store (``demo_world`` in conftest) and the running demo's API; it must exit 0.
Each search query the README shows (the first column of the table under "Search and rule
expressions", and the 检索 step of the demo walkthrough) must find an item there.

What cannot run in a test is marked in the README, right before its block or table, by
an HTML comment the reader does not see:

* ``<!-- example: not-run (why) -->``: the whole block;
* ``<!-- example: not-run "PREFIX" (why) -->``: its lines (or queries) starting with PREFIX
  (``'PREFIX'`` when it holds a double quote);
* ``<!-- example: exit N "PREFIX" -->``: those lines exit with N (a documented code).

In commands, ``[...]`` (optional parts) and a trailing ``...`` (more of the same) are left
out; ``lib.yaml`` is the README's library file (its ``yaml`` block) and ``page1.txt`` a
page of the demo world.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from demo_world_support import DemoRun

from store import ItemQuery, open_store

README = Path(__file__).parents[1] / "README.md"
BIN = Path(sys.executable).parent
PASSWORD = "readme-示例-密码-2026"
# The README's own walkthrough query: it must find something on the demo world.
WALKTHROUGH_QUERY = "潼南 NEAR/20 起火 NOT 演练"
# The prefix is in double quotes, or single ones when it holds a double quote.
_MARK = re.compile(
    r"<!--\s*example:\s*(not-run|exit\s+(\d+))\s*(?:\"([^\"]*)\"|'([^']*)')?\s*(?:\(.*\))?\s*-->"
)
_SPAN = re.compile(r"`([^`]+)`")


@dataclass
class Marks:
    """The annotations before one block or table."""

    skip_all: bool = False
    skip: list[str] = field(default_factory=list)
    exits: dict[str, int] = field(default_factory=dict)

    def skipped(self, text: str) -> bool:
        return self.skip_all or any(text.startswith(p) for p in self.skip)

    def exit_code(self, text: str) -> int:
        return next((c for p, c in self.exits.items() if text.startswith(p)), 0)


@dataclass
class Example:
    text: str
    line: int
    marks: Marks


@dataclass
class Examples:
    commands: list[Example] = field(default_factory=list)
    queries: list[Example] = field(default_factory=list)
    yaml: list[str] = field(default_factory=list)  # the first yaml block


def parse(text: str) -> Examples:
    found = Examples()
    marks = Marks()
    fence: str | None = None
    section = ""
    yaml_blocks = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith("```"):
                fence, marks = None, Marks()
            elif fence == "sh" and stripped:
                found.commands.append(Example(stripped, number, marks))
            elif fence == "yaml" and yaml_blocks == 1:
                found.yaml.append(line)
            continue
        if stripped.startswith("```"):
            fence = stripped[3:].strip()
            yaml_blocks += fence == "yaml"
            continue
        if match := _MARK.search(stripped):
            prefix = match.group(3) if match.group(3) is not None else match.group(4)
            if match.group(1) == "not-run" and prefix is None:
                marks.skip_all = True
            elif match.group(1) == "not-run":
                marks.skip.append(prefix)
            else:
                marks.exits[prefix or ""] = int(match.group(2))
            continue
        if stripped.startswith("#"):
            section = stripped.lstrip("#").strip()
        if "Search and rule expressions" in section and stripped.startswith("| `"):
            first = stripped.split("|")[1]
            found.queries += [Example(q, number, marks) for q in _SPAN.findall(first)]
        elif "检索" in stripped and "search" in stripped:
            found.queries += [Example(q, number, marks) for q in _SPAN.findall(stripped)]
        elif stripped and not stripped.startswith("|"):
            marks = Marks() if not stripped.startswith("<!--") else marks
    return found


def runnable(command: str) -> str:
    """The command as bash runs it: comment, optional parts and "..." left out."""
    command = re.sub(r"\s+#\s.*$", "", command)
    command = re.sub(r"\s*\[[^\]]*\]", "", command)
    return re.sub(r"\s+\.\.\.$", "", command).strip()


@pytest.fixture(scope="module")
def examples() -> Examples:
    return parse(README.read_text("utf-8"))


@pytest.fixture(scope="module")
def scratch(demo_world: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the README's files and a copy of the demo world's store, taken while
    the demo runs (SQLite's online backup)."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "var").mkdir()
    source = sqlite3.connect(demo_world.data / "yuqing.db")
    copy = sqlite3.connect(folder / "var" / "yuqing.db")
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    return folder


def test_readme_examples_are_found() -> None:
    found = parse(README.read_text("utf-8"))
    assert len([c for c in found.commands if not c.marks.skipped(c.text)]) >= 5
    assert WALKTHROUGH_QUERY in [q.text for q in found.queries]
    assert found.yaml and "rules:" in "\n".join(found.yaml)


def test_every_readme_command_works(demo_world: DemoRun, examples: Examples, scratch: Path) -> None:
    (scratch / "lib.yaml").write_text("\n".join(examples.yaml) + "\n", "utf-8")
    article = next(a for a in demo_world.world() if a.kind == "relevant")
    (scratch / "page1.txt").write_text(f"{article.title}\n{article.body}\n", "utf-8")
    (scratch / "none.toml").write_text("# everything comes from YUQING_* variables\n")
    env = {k: v for k, v in demo_world.env.items() if not k.startswith("YUQING_")}
    env |= {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "YUQING_CONFIG": str(scratch / "none.toml"),
        "YUQING_DATA_DIR": str(scratch / "var"),
        "YUQING_STORE": f"sqlite:///{scratch / 'var' / 'yuqing.db'}",
        "YUQING_API_PORT": demo_world.env["YUQING_API_PORT"],
    }
    failures = []
    ran = 0
    for example in examples.commands:
        if example.marks.skipped(example.text):
            continue
        command = runnable(example.text).replace(".venv/bin/", f"{BIN}/")
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=scratch,
            env=env,
            input=f"{PASSWORD}\n{PASSWORD}\n",
            capture_output=True,
            text=True,
            timeout=180,
        )
        ran += 1
        expected = example.marks.exit_code(example.text)
        if done.returncode != expected:
            failures.append(
                f"README.md:{example.line}: {command}: exit {done.returncode}, expected"
                f" {expected}\n{done.stdout[-800:]}{done.stderr[-800:]}"
            )
    assert not failures, "\n\n".join(failures)
    assert ran >= 5


def test_every_readme_query_finds_something(examples: Examples, scratch: Path) -> None:
    store = open_store(f"sqlite:///{scratch / 'var' / 'yuqing.db'}")
    try:
        empty = [
            f"README.md:{q.line}: {q.text}"
            for q in examples.queries
            if not q.marks.skipped(q.text)
            and not store.items.search(ItemQuery(q=q.text, size=1, highlight=False)).total
        ]
    finally:
        store.close()
    assert not empty, empty

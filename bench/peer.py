"""houbb/sensitive-word side by side with yuqing (``bench/match.py --peer``).

The peer is the Java library as published on Maven Central, with its default options,
driven by ``bench/peer/src/main/java/yuqing/bench/Peer.java``; Maven builds it into a
temporary folder (nothing is written into the checkout). Both get the same words, the same
short texts and 2 KB items; both are timed best-of-rounds after a warm-up (the JIT).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from keywords.matcher import Matcher
from keywords.model import Group, Library, Rule

HERE = Path(__file__).parent
CASES = HERE.parent / "tests" / "evasion" / "variants.yaml"
EVERY_OPTION = {
    "enclosed": True,
    "noise": "brackets",
    "lookalikes": True,
    "repeats": True,
    "pinyin": True,
    "homophones": True,
    "split": True,
}


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def run_peer(
    words: Sequence[str],
    short: Sequence[str],
    items: Sequence[str],
    cases: list[tuple[str, str, str]],
) -> list[dict[str, Any]]:
    """Build the harness with mvn and run it; its JSON lines."""
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise SystemExit("--peer needs mvn and java (a JDK >= 17)")
    with tempfile.TemporaryDirectory(prefix="yuqing-peer-") as tmp:
        build = Path(tmp) / "build"
        subprocess.run(
            [
                "mvn", "-q", "-f", str(HERE / "peer" / "pom.xml"), f"-Dpeer.build={build}",
                "package", "dependency:build-classpath", f"-Dmdep.outputFile={build}/cp.txt",
            ],
            check=True,
        )  # fmt: skip
        files = {
            "words": "\n".join(words),
            "short": "\n".join(_escaped(t) for t in short),
            "items": "\n".join(_escaped(t) for t in items),
            "cases": "\n".join(f"{i}\t{w}\t{_escaped(t)}" for i, w, t in cases),
        }
        for name, content in files.items():
            (Path(tmp) / f"{name}.txt").write_text(content + "\n", encoding="utf-8")
        classpath = f"{build}/classes:{(build / 'cp.txt').read_text().strip()}"
        out = subprocess.run(
            [
                "java", "-cp", classpath, "yuqing.bench.Peer",
                *(str(Path(tmp) / f"{n}.txt") for n in ("words", "short", "items", "cases")),
            ],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def evasion_cases() -> list[tuple[str, str, str]]:
    data = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    return [
        (f"{kind}:{n}", word, text)
        for kind, pairs in data["cases"].items()
        for n, (word, text) in enumerate(pairs)
    ]


def yuqing_finds(word: str, text: str) -> bool:
    group = Group.model_validate({"name": "g", "words": [word], "options": EVERY_OPTION})
    library = Library(groups=[group], rules=[Rule(name="r", expression="@g")])
    return bool(Matcher(library).match(text, "").rules)


def compare_with_peer(
    words: Sequence[str], items: Sequence[str], short: Sequence[str], figures: dict[str, float]
) -> list[tuple[str, bool]]:
    cases = evasion_cases()
    lines = run_peer(words, short, items, cases)
    peer: dict[str, Any] = {}
    found: dict[str, bool] = {}
    for line in lines:
        if "case" in line:
            found[line["case"]] = line["found"]
        else:
            peer |= line
    print(f"houbb/sensitive-word 0.25.0 (defaults), 10k words; compile {peer['compile_s']:.2f} s")
    print(f"{'':<44} {'MB/s':>7} {'x peer':>6} {'texts/s':>9} {'x peer':>6}")
    print("(yuqing's full path: texts/s batched with Matcher.match_many, MB/s one call per item)")
    print(
        f"{'sensitive-word':<44} {peer['items_mb_per_s']:7.2f} {1:6.1f} "
        f"{peer['short_texts_per_s']:9,.0f} {1:6.1f}"
    )
    checks: list[tuple[str, bool]] = []
    for label in ("default options", "every option"):
        for shape in ("scanner only", "one group, @all", "300 rules, groups of 50"):
            mb, texts = figures[f"{label}/{shape}/mb"], figures[f"{label}/{shape}/texts"]
            x_mb, x_texts = mb / peer["items_mb_per_s"], texts / peer["short_texts_per_s"]
            name = f"yuqing {label}, {shape}"
            print(f"{name:<44} {mb:7.2f} {x_mb:6.1f} {texts:9,.0f} {x_texts:6.1f}")
            if shape != "scanner only":
                checks.append((f"{label}, {shape}: >= 2x sensitive-word MB/s", x_mb >= 2))
                if label == "default options":
                    checks.append((f"{shape}: >= 2x sensitive-word texts/s", x_texts >= 2))
    print()
    kinds: dict[str, list[tuple[bool, bool]]] = {}
    for case_id, word, text in cases:
        kinds.setdefault(case_id.split(":")[0], []).append(
            (yuqing_finds(word, text), found.get(case_id, False))
        )
    print(f"{'evasion cases (tests/evasion)':<20} {'cases':>5} {'yuqing':>7} {'peer':>5}")
    for kind, results in kinds.items():
        print(
            f"{kind:<20} {len(results):5} {sum(y for y, _ in results):7} "
            f"{sum(p for _, p in results):5}"
        )
    total = [r for rs in kinds.values() for r in rs]
    print(f"{'all':<20} {len(total):5} {sum(y for y, _ in total):7} {sum(p for _, p in total):5}\n")
    return checks

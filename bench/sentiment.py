"""Sentiment, negative first: accuracy and macro-F1 per class of analysis.sentiment
against the lexicon-only baseline (HowNet's words counted, nothing else), in one run.

    python bench/sentiment.py [--data bench/data/sentiment.tsv]

The labelled set (521 news and forum sentences, written for yuqing: bad news, official
boilerplate that sounds bad, reassurance with negation, good news) is split by line:
every third sentence is the held-out part, reported apart from the rest. Throughput is
the scorer alone on the whole set repeated, in MB/s of UTF-8 text.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from analysis.sentiment import Scorer, baseline, default

CLASSES = ("negative", "neutral", "positive")
HERE = Path(__file__).parent


def load(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        label, text = line.split("\t", 1)
        if label not in CLASSES:
            raise SystemExit(f"{path}: unknown label {label!r} in {line!r}")
        rows.append((label, text))
    return rows


def scores(scorer: Scorer, rows: list[tuple[str, str]]) -> dict[str, float]:
    predicted = [scorer.item(text, "").label for _label, text in rows]
    gold = [label for label, _text in rows]
    out: dict[str, float] = {
        "accuracy": sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)
    }
    f1s = []
    for cls in CLASSES:
        tp = sum(p == g == cls for p, g in zip(predicted, gold, strict=True))
        fp = sum(p == cls != g for p, g in zip(predicted, gold, strict=True))
        fn = sum(g == cls != p for p, g in zip(predicted, gold, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[f"{cls} P"], out[f"{cls} R"], out[f"{cls} F1"] = precision, recall, f1
        f1s.append(f1)
    out["macro-F1"] = sum(f1s) / len(f1s)
    return out


def throughput(scorer: Scorer, rows: list[tuple[str, str]], seconds: float = 2.0) -> float:
    text = [t for _l, t in rows]
    size = sum(len(t.encode()) for t in text)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in text:
            scorer.item(t, "")
        done += size
    return done / (time.perf_counter() - start) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=HERE / "data" / "sentiment.tsv")
    args = parser.parse_args()
    rows = load(args.data)
    held = [r for i, r in enumerate(rows) if i % 3 == 2]
    rest = [r for i, r in enumerate(rows) if i % 3 != 2]
    ours, base = default(), baseline()
    print(
        f"{len(rows)} sentences: "
        + ", ".join(f"{c} {sum(label == c for label, _t in rows)}" for c in CLASSES)
    )
    keys = ["accuracy", "macro-F1", *(f"{c} F1" for c in CLASSES),
            *(f"{c} {m}" for c in CLASSES for m in ("P", "R"))]  # fmt: skip
    for name, part in (("all", rows), ("held-out (every 3rd)", held), ("rest", rest)):
        a, b = scores(ours, part), scores(base, part)
        print(f"\n{name}: {len(part)} sentences")
        print(f"| {'measure':<14} | yuqing | lexicon-only | ratio |")
        print("| --- | ---: | ---: | ---: |")
        for key in keys:
            ratio = f"{a[key] / b[key]:.2f}" if b[key] else "-"
            print(f"| {key:<14} | {a[key]:.3f} | {b[key]:.3f} | {ratio} |")
    ours_mb, base_mb = throughput(ours, rows), throughput(base, rows)
    print(f"\nthroughput: yuqing {ours_mb:.2f} MB/s, lexicon-only {base_mb:.2f} MB/s "
          f"(ratio {ours_mb / base_mb:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()

"""Place recognition: precision and recall on a labelled evaluation set, and the
throughput analysis adds to the pipeline, against the keyword matcher in the same run.

    python bench/places.py [--data bench/data/places.tsv] [--show]

The set (bench/data/places.tsv, written for yuqing) holds local-news sentences from many
provinces with the shared names 梓潼, 鼓楼, 朝阳, 城关镇, 新华路, 长安, 新区, 和平 and
their traps. Gold marks a mention resolved (to a code), ``?`` (must stay ambiguous) or
``-`` (not a place here); a sentence may name a source home region.

Precision: resolved mentions whose (text, code) is gold / all resolved mentions.
Recall: gold resolved mentions found with their code / all gold resolved mentions.
Throughput: the recogniser, and the whole item analysis (places and sentiment), over
news-length items built from the set's sentences, in MB/s of UTF-8, beside the matcher
with the sample library (keywords/samples/tongnan.yaml) on the same items.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from analysis.gazetteer import Gazetteer
from analysis.gazetteer import default as gazetteer
from analysis.item import default as analyzer
from analysis.places import Recognizer
from keywords.io import read_library
from keywords.matcher import Matcher
from store import Item

HERE = Path(__file__).parent
NEWS = HERE / "data" / "sentiment.tsv"
SAMPLE = HERE.parent / "keywords" / "samples" / "tongnan.yaml"


def resolve(g: Gazetteer, path: str, where: str) -> str:
    """``重庆市>潼南区>梓潼街道`` -> its code (each name a child of the one before)."""
    parent = ""
    for name in path.split(">"):
        found = [p.code for p in g if p.name == name and (not parent or p.code.startswith(parent))]
        # A prefecture without counties (东莞市) repeats itself one level down: the wider.
        found = [c for c in found if not any(c != o and c.startswith(o) for o in found)]
        if len(found) != 1:
            raise SystemExit(f"{where}: {path!r}: {name!r} matches {found or 'nothing'}")
        parent = found[0]
    return parent


Case = tuple[str, str, dict[str, str]]  # home, sentence, surface -> code | ? | -


def load(path: Path, g: Gazetteer) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        home, sentence, gold_text = line.split("\t")
        gold = {}
        for part in gold_text.split(";"):
            surface, _, label = part.partition("=")
            where = f"{path.name} line {number}"
            gold[surface] = label if label in ("?", "-") else resolve(g, label, where)
        cases.append((home, sentence, gold))
    return cases


def evaluate(recognizer: Recognizer, cases: list[Case], show: bool) -> dict[str, float]:
    tp = fp = fn = 0
    ambiguous_kept = ambiguous_total = traps_avoided = traps = 0
    for home, sentence, gold in cases:
        found = recognizer.recognize(sentence, "", home)
        resolved = {(m.text, m.code) for m in found.mentions if m.code}
        left_ambiguous = {m.text for m in found.mentions if not m.code}
        wanted = {(s, c) for s, c in gold.items() if c not in ("?", "-")}
        tp += len(resolved & wanted)
        fp += len(resolved - wanted)
        fn += len(wanted - resolved)
        for surface, label in gold.items():
            if label == "?":
                ambiguous_total += 1
                ambiguous_kept += surface in left_ambiguous and all(
                    s != surface for s, _c in resolved
                )
            elif label == "-":
                traps += 1
                traps_avoided += all(s != surface for s, _c in resolved)
        if show and (resolved != wanted):
            print(f"  {home or '-'} {sentence}: extra {sorted(resolved - wanted)} "
                  f"missed {sorted(wanted - resolved)}")  # fmt: skip
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "resolved mentions": tp + fp,
        "ambiguous kept": ambiguous_kept / ambiguous_total if ambiguous_total else 1.0,
        "ambiguous cases": ambiguous_total,
        "traps avoided": traps_avoided / traps if traps else 1.0,
        "traps": traps,
    }


def items(sentences: list[str], n: int = 400) -> list[Item]:
    """News-length items: a sentence as the title, fifteen more as the body."""
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        body = "。".join(sentences[(i + k) % len(sentences)] for k in range(1, 16)) + "。"
        out.append(
            Item(url=f"x:{i}", title=sentences[i % len(sentences)], body=body, first_seen=now)
        )
    return out


def rate(work: list[Item], step: object, seconds: float = 2.0) -> float:
    size = sum(len(i.title.encode()) + len(i.body.encode()) for i in work)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for item in work:
            step(item)  # type: ignore[operator]
        done += size
    return done / (time.perf_counter() - start) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=HERE / "data" / "places.tsv")
    parser.add_argument("--show", action="store_true", help="print each sentence got wrong")
    args = parser.parse_args()
    g = gazetteer()
    cases = load(args.data, g)
    recognizer = Recognizer(g)
    print(f"{len(cases)} sentences, gazetteer of {len(g)} places")
    result = evaluate(recognizer, cases, args.show)
    print("| measure | value |\n| --- | ---: |")
    for key, value in result.items():
        print(f"| {key} | {value:.3f} |" if isinstance(value, float) else f"| {key} | {value} |")
    matcher = Matcher(read_library(SAMPLE.read_bytes(), "yaml"))
    full = analyzer()
    news = [line.split("\t", 1)[1] for line in NEWS.read_text(encoding="utf-8").splitlines()[1:]]
    for label, work in (
        ("dense: every sentence names places (this set)", items([s for _h, s, _g in cases])),
        ("news-like: the sentiment set's sentences, few places", items(news)),
    ):
        match_mb = rate(work, lambda i: matcher.match(i.title, i.body))
        places_mb = rate(work, lambda i: recognizer.recognize(i.title, i.body))
        analysis_mb = rate(work, lambda i: full.analyze(i))
        print(f"\n{label}")
        print("| step (same items, same process) | MB/s | vs matcher |\n| --- | ---: | ---: |")
        for name, mb in (
            ("keyword matcher (sample library)", match_mb),
            ("place recognition", places_mb),
            ("analysis: places + sentiment", analysis_mb),
        ):
            print(f"| {name} | {mb:.2f} | {mb / match_mb:.2f} |")


if __name__ == "__main__":
    main()

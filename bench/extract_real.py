"""Score yuqing's extractor against peer extractors on folders of real pages, side by side.

    python bench/extract_real.py /work/shared/realpages/GeneralNewsExtractor \
        /work/shared/realpages/readability-zh /work/shared/realpages/newspaper4k-zh

Each folder is one set, in one of the dev-set layouts (see ``load_set``): a JSON mapping of
page paths to expected values (``EXPECTED*.json``), Readability.js test pages
(``<name>/source.html`` + ``expected.html`` + ``expected-metadata.json``), or newspaper's
``html/`` + ``txt/`` + ``metadata/``. Nothing is fetched: pages are read from disk and every
method gets the same decoded text.

Scores (as the dev set's README says): body, character-bigram F1 after removing whitespace
and punctuation; title, the expected title (punctuation-insensitive) contained in the
extracted one, or, where the expectation keeps the site suffix, the extracted title being
its start; date, the calendar day in Asia/Shanghai, on pages with an expected date.

Peers, installed for the bench only: readability-lxml and trafilatura (dependencies of the
project), GNE (``pip install gne``, in the ``dev`` extra) and Mozilla's Readability.js
(``bench/node``: ``npm ci`` there is run on first use; needs ``node``). A peer that is not
installed is left out with a note. ``--only yuqing`` skips the peers.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lxml import html as lxml_html

from crawler.dates import SHANGHAI, parse_date
from crawler.encoding import decode_body
from crawler.extract import extract

NODE_DIR = Path(__file__).resolve().parent / "node"
FIELDS = ("body", "title", "date")
WORST = 10
# Punctuation and symbols (any script) and whitespace are ignored by every score.
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass
class RealPage:
    """One page and its expected values (None where the set has no expectation)."""

    set_name: str
    name: str
    raw: bytes
    url: str
    title: str | None = None
    title_has_suffix: bool = False
    body: str | None = None
    day: date | None = None
    html: str = ""


@dataclass
class Output:
    title: str | None
    body: str
    day: date | None
    ms: float


@dataclass
class Scored:
    page: RealPage
    out: Output
    scores: dict[str, float] = field(default_factory=dict)


# --- loading ---------------------------------------------------------------------------------


def _day(value: Any) -> date | None:
    if not value:
        return None
    parsed = parse_date(str(value))
    return parsed.astimezone(SHANGHAI).date() if parsed else None


def _html_text(fragment: str) -> str:
    root = lxml_html.fromstring(f"<div>{fragment}</div>")
    return "\n".join(t.strip() for t in root.itertext() if t.strip())


def _from_mapping(folder: Path, mapping_file: Path) -> list[RealPage]:
    data = json.loads(mapping_file.read_text(encoding="utf-8"))
    pages = []
    for rel, expected in sorted(data.items()):
        path = folder / rel
        if rel.startswith("_") or not isinstance(expected, dict) or not path.is_file():
            continue
        pages.append(
            RealPage(
                set_name=folder.name,
                name=rel,
                raw=path.read_bytes(),
                url=expected.get("url") or f"http://127.0.0.1/{folder.name}/{rel}",
                title=expected.get("title"),
                body=expected.get("body") or expected.get("text"),
                day=_day(expected.get("publish_date") or expected.get("date")),
            )
        )
    return pages


def _from_readability_tests(folder: Path) -> list[RealPage]:
    pages = []
    for source in sorted(folder.rglob("source.html")):
        here = source.parent
        meta_file = here / "expected-metadata.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        body_file = here / "expected.html"
        body = _html_text(body_file.read_text(encoding="utf-8")) if body_file.exists() else None
        pages.append(
            RealPage(
                set_name=folder.name,
                name=str(here.relative_to(folder)),
                raw=source.read_bytes(),
                url=f"http://127.0.0.1/{folder.name}/{here.name}/",
                title=meta.get("title"),
                title_has_suffix=True,  # Readability.js keeps "_频道_网站" in its titles
                body=body,
                day=_day(meta.get("publishedTime")),
            )
        )
    return pages


def _from_newspaper(folder: Path) -> list[RealPage]:
    pages = []
    for html_file in sorted(folder.rglob("html/*.html")):
        data_dir = html_file.parent.parent
        meta_file = data_dir / "metadata" / f"{html_file.stem}.json"
        txt_file = data_dir / "txt" / f"{html_file.stem}.txt"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        body = txt_file.read_text(encoding="utf-8") if txt_file.exists() else meta.get("text")
        pages.append(
            RealPage(
                set_name=folder.name,
                name=str(html_file.relative_to(folder)),
                raw=html_file.read_bytes(),
                url=meta.get("url") or f"http://127.0.0.1/{folder.name}/{html_file.name}",
                title=meta.get("title"),
                body=body,
                day=_day(meta.get("publish_date")),
            )
        )
    return pages


def load_set(folder: Path) -> list[RealPage]:
    """The pages of one folder, whichever dev-set layout it has; a clear error otherwise."""
    if not folder.is_dir():
        raise SystemExit(f"{folder}: not a folder")
    mappings = sorted(folder.glob("EXPECTED*.json")) or sorted(folder.glob("expected*.json"))
    if mappings:
        return _from_mapping(folder, mappings[0])
    if any(folder.rglob("source.html")):
        return _from_readability_tests(folder)
    if any(folder.rglob("html/*.html")):
        return _from_newspaper(folder)
    raise SystemExit(
        f"{folder}: no EXPECTED*.json, */source.html or html/*.html: not a dev-set folder"
    )


# --- methods ---------------------------------------------------------------------------------


def _timed(run: Callable[[], tuple[str | None, str, Any]]) -> Output:
    start = time.perf_counter()
    try:
        title, body, when = run()
    except Exception:  # a peer crashing on a page scores zero there, the bench goes on
        title, body, when = None, "", None
    ms = (time.perf_counter() - start) * 1000
    return Output(title, body or "", _day(when) if when else None, ms)


def run_yuqing(page: RealPage, now: datetime) -> Output:
    def go() -> tuple[str | None, str, Any]:
        article = extract(page.html, page.url, now=now)
        return article.title, article.body, article.publish_time

    return _timed(go)


def run_readability_lxml(page: RealPage, now: datetime) -> Output:
    from readability import Document

    def go() -> tuple[str | None, str, Any]:
        doc = Document(page.html, url=page.url)
        return doc.short_title(), _html_text(doc.summary(html_partial=True)), None

    return _timed(go)


def run_trafilatura(page: RealPage, now: datetime) -> Output:
    import trafilatura

    def go() -> tuple[str | None, str, Any]:
        doc = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
        if doc is None:
            return None, "", None
        data = doc if isinstance(doc, dict) else doc.as_dict()
        return data.get("title"), data.get("text") or "", data.get("date")

    return _timed(go)


def run_gne(page: RealPage, now: datetime) -> Output:
    from gne import GeneralNewsExtractor

    def go() -> tuple[str | None, str, Any]:
        found = GeneralNewsExtractor().extract(page.html)
        return found.get("title"), found.get("content") or "", found.get("publish_time")

    return _timed(go)


def run_readability_js(pages: list[RealPage]) -> list[Output] | str:
    """All pages in one node process; a string says why the peer could not run."""
    if not (NODE_DIR / "node_modules" / "@mozilla" / "readability").exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"npm ci failed in {NODE_DIR}: {done.stderr.strip()[-300:]}"
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as f:
        json.dump([{"id": i, "url": p.url, "html": p.html} for i, p in enumerate(pages)], f)
        f.flush()
        done = subprocess.run(
            ["node", str(NODE_DIR / "readability.js"), f.name],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        return f"node failed: {done.stderr.strip()[-300:]}"
    outs = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return [Output(o["title"], o["text"], _day(o["published"]), o["ms"]) for o in outs]


PEERS: dict[str, Callable[[RealPage, datetime], Output]] = {
    "readability-lxml": run_readability_lxml,
    "trafilatura": run_trafilatura,
    "gne": run_gne,
}


# --- scoring ---------------------------------------------------------------------------------


def _bigrams(text: str) -> Counter[str]:
    clean = _NOISE.sub("", text)
    return Counter(clean[i : i + 2] for i in range(len(clean) - 1))


def bigram_prf(predicted: str, gold: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of character bigrams, ignoring whitespace and punctuation."""
    pred, ref = _bigrams(predicted), _bigrams(gold)
    common = sum((pred & ref).values())
    if not pred or not ref or not common:
        return 0.0, 0.0, float(not pred and not ref)
    p, r = common / sum(pred.values()), common / sum(ref.values())
    return p, r, 2 * p * r / (p + r)


def title_ok(page: RealPage, title: str | None) -> bool:
    got, want = _NOISE.sub("", title or ""), _NOISE.sub("", page.title or "")
    if not got:
        return False
    if want in got:
        return True
    # The expectation keeps the site suffix: a headline without it is right.
    return page.title_has_suffix and want.startswith(got) and len(got) >= 4


def score(page: RealPage, out: Output) -> dict[str, float]:
    scores: dict[str, float] = {}
    if page.body:
        scores["body"] = bigram_prf(out.body, page.body)[2]
    if page.title:
        scores["title"] = float(title_ok(page, out.title))
    if page.day:
        scores["date"] = float(out.day == page.day)
    return scores


def failure_kind(field_name: str, page: RealPage, out: Output) -> str:
    """A word on why a page scored low, for the worst-pages lists."""
    if field_name == "body":
        if not out.body.strip():
            return "empty body"
        p, r, _ = bigram_prf(out.body, page.body or "")
        if p >= 0.9 > r:
            return f"cut short (recall {r:.2f})"
        if r >= 0.9 > p:
            return f"extra text, boilerplate? (precision {p:.2f})"
        return f"wrong block (precision {p:.2f}, recall {r:.2f})"
    if field_name == "title":
        if not out.title:
            return "no title"
        got, want = _NOISE.sub("", out.title), _NOISE.sub("", page.title or "")
        if got and got in want:
            return "cut / site name only"
        return "other heading"
    if out.day is None:
        return "no date"
    return f"wrong day {out.day} (expected {page.day})"


# --- report ----------------------------------------------------------------------------------


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return statistics.fmean(items) if items else None


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def print_set(name: str, results: dict[str, list[Scored]]) -> None:
    methods = list(results)
    print(f"\n## {name} ({len(results['yuqing'])} pages)\n")
    print(f"| field | {' | '.join(methods)} | yuqing / best peer |")
    print(f"| --- | {' | '.join('---' for _ in methods)} | --- |")
    for field_name in FIELDS:
        means = {
            m: _mean(s.scores[field_name] for s in results[m] if field_name in s.scores)
            for m in methods
        }
        n = sum(field_name in s.scores for s in results["yuqing"])
        peers = [v for m, v in means.items() if m != "yuqing" and v is not None]
        best = max(peers, default=None)
        ratio = f"{means['yuqing'] / best:.3f}" if best and means["yuqing"] is not None else "-"
        cells = " | ".join(_fmt(means[m]) for m in methods)
        print(f"| {field_name} (n={n}) | {cells} | {ratio} |")
    ms = {m: statistics.fmean(s.out.ms for s in results[m]) for m in methods}
    rl = ms.get("readability-lxml")
    cells = " | ".join(f"{ms[m]:6.1f}" for m in methods)
    speed = f"{rl / ms['yuqing']:.2f}x faster than readability-lxml" if rl else "-"
    print(f"| ms/page | {cells} | {speed} |")
    for field_name in FIELDS:
        scored = [s for s in results["yuqing"] if field_name in s.scores]
        worst = sorted(scored, key=lambda s: s.scores[field_name])[:WORST]
        worst = [s for s in worst if s.scores[field_name] < 1.0]
        if not worst:
            continue
        print(f"\nworst {field_name}:")
        for s in worst:
            index = results["yuqing"].index(s)
            others = ", ".join(
                f"{m} {results[m][index].scores[field_name]:.2f}" for m in methods if m != "yuqing"
            )
            kind = failure_kind(field_name, s.page, s.out)
            print(f"  {s.scores[field_name]:.3f}  {s.page.name}: {kind}  [{others}]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--only", choices=["yuqing", "all"], default="all")
    args = parser.parse_args(argv)
    now = datetime.now(SHANGHAI)
    all_results: dict[str, dict[str, list[Scored]]] = {}
    for folder in args.folders:
        pages = load_set(folder)
        if not pages:
            raise SystemExit(f"{folder}: no pages")
        for page in pages:
            page.html = decode_body(page.raw).text
        results: dict[str, list[Scored]] = {}
        runners: dict[str, Callable[[RealPage, datetime], Output]] = {"yuqing": run_yuqing}
        if args.only == "all":
            runners |= PEERS
        for method, run in runners.items():
            try:
                outs = [run(page, now) for page in pages]
            except ImportError as e:
                print(f"note: {method} left out ({e})", file=sys.stderr)
                continue
            results[method] = [Scored(p, o, score(p, o)) for p, o in zip(pages, outs, strict=True)]
        if args.only == "all":
            js = run_readability_js(pages)
            if isinstance(js, str):
                print(f"note: readability.js left out ({js})", file=sys.stderr)
            else:
                results["readability.js"] = [
                    Scored(p, o, score(p, o)) for p, o in zip(pages, js, strict=True)
                ]
        all_results[folder.name] = results
        print_set(folder.name, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

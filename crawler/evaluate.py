"""Scoring for the page-extraction evaluation set (shared by the tests and the benchmark)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from crawler.dates import SHANGHAI, parse_date
from crawler.encoding import decode_body
from crawler.extract import extract

CASES_DIR = Path(__file__).resolve().parent.parent / "tests" / "extraction" / "cases"

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Case:
    """One evaluation page and what a careful reader would extract from it."""

    name: str
    raw: bytes
    url: str
    content_type: str | None
    now: datetime
    expected: dict[str, Any]

    @property
    def min_body_f1(self) -> float:
        return float(self.expected.get("min_body_f1", 0.0))


@dataclass(frozen=True)
class Prediction:
    """What one extraction method produced for a page."""

    title: str | None
    body: str
    publish_time: datetime | None


@dataclass(frozen=True)
class CaseScore:
    name: str
    title_ok: bool
    body_f1: float
    date_ok: bool
    day_ok: bool


@dataclass(frozen=True)
class Summary:
    """Aggregate over a method's case scores."""

    title_accuracy: float
    body_f1: float
    date_accuracy: float
    day_accuracy: float
    scores: tuple[CaseScore, ...]


Method = Callable[[str, str, datetime], Prediction]


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Load every ``NAME.json`` with its page file (``.html`` or raw ``.bin``)."""
    cases = []
    for meta_path in sorted(directory.glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        cases.append(
            Case(
                name=meta_path.stem,
                raw=(directory / meta["file"]).read_bytes(),
                url=meta["url"],
                content_type=meta.get("content_type"),
                now=datetime.fromisoformat(meta["now"]),
                expected=meta,
            )
        )
    return cases


def _chars(text: str) -> Counter[str]:
    return Counter(_SPACE.sub("", text))


def char_f1(predicted: str, gold: str) -> float:
    """Bag-of-characters F1, the usual body metric for Chinese (no word boundaries to count)."""
    pred, ref = _chars(predicted), _chars(gold)
    if not pred or not ref:
        return 1.0 if not pred and not ref else 0.0
    common = sum((pred & ref).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(pred.values()), common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def same_title(predicted: str | None, gold: str | None) -> bool:
    """Titles match when equal up to whitespace."""
    norm = [_SPACE.sub(" ", t).strip() if t else "" for t in (predicted, gold)]
    return norm[0] == norm[1]


def _expected_time(case: Case, key: str) -> datetime | None:
    value = case.expected.get(key)
    return datetime.fromisoformat(value) if value else None


def score(case: Case, prediction: Prediction) -> CaseScore:
    """Score one prediction against a case's expectations."""
    gold_time = _expected_time(case, "publish_time")
    got = prediction.publish_time
    date_ok = got == gold_time
    day_ok = date_ok or (
        got is not None
        and gold_time is not None
        and got.astimezone(SHANGHAI).date() == gold_time.astimezone(SHANGHAI).date()
    )
    return CaseScore(
        name=case.name,
        title_ok=same_title(prediction.title, case.expected.get("title")),
        body_f1=char_f1(prediction.body, case.expected.get("body") or ""),
        date_ok=date_ok,
        day_ok=day_ok,
    )


def summarize(scores: Iterable[CaseScore]) -> Summary:
    """Title accuracy, mean body char-F1 and date accuracy over case scores."""
    items = tuple(scores)
    n = max(len(items), 1)
    return Summary(
        title_accuracy=sum(s.title_ok for s in items) / n,
        body_f1=sum(s.body_f1 for s in items) / n,
        date_accuracy=sum(s.date_ok for s in items) / n,
        day_accuracy=sum(s.day_ok for s in items) / n,
        scores=items,
    )


def page_text(case: Case) -> str:
    """The case's page decoded the way the crawler would decode it."""
    return decode_body(case.raw, case.content_type).text


def run_yuqing(html: str, url: str, now: datetime) -> Prediction:
    article = extract(html, url, now=now)
    return Prediction(article.title, article.body, article.publish_time)


def _run_trafilatura(html: str, url: str, now: datetime, *, fast: bool) -> Prediction:
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        fast=fast,
        with_metadata=True,
        include_comments=False,
        date_extraction_params={"max_date": now.strftime("%Y-%m-%d")},
    )
    if doc is None:
        return Prediction(None, "", None)
    data = doc if isinstance(doc, dict) else doc.as_dict()
    return Prediction(
        data.get("title"), data.get("text") or "", parse_date(data.get("date"), now=now)
    )


def run_trafilatura_fast(html: str, url: str, now: datetime) -> Prediction:
    return _run_trafilatura(html, url, now, fast=True)


def run_trafilatura(html: str, url: str, now: datetime) -> Prediction:
    return _run_trafilatura(html, url, now, fast=False)


def run_readability(html: str, url: str, now: datetime) -> Prediction:
    from readability import Document

    try:
        doc = Document(html, url=url)
        summary = doc.summary(html_partial=True)
        title = doc.short_title()
    except Exception:  # readability raises bare Unparseable/ValueError on junk input
        return Prediction(None, "", None)
    text = "\n".join(t.strip() for t in lxml_html.fromstring(summary).itertext() if t.strip())
    return Prediction(title, text, None)


METHODS: dict[str, Method] = {
    "trafilatura-fast": run_trafilatura_fast,
    "trafilatura": run_trafilatura,
    "readability": run_readability,
    "yuqing": run_yuqing,
}


def evaluate(method: Method, cases: Iterable[Case]) -> Summary:
    """Run ``method`` on every case and summarize the scores."""
    return summarize(score(case, method(page_text(case), case.url, case.now)) for case in cases)

"""Emerging terms: candidate terms whose document frequency in the window rose beyond
chance against the baseline.

The burst statistic is Dunning's log-likelihood ratio G² on the 2x2 table (documents with
and without the term, window and baseline), kept only where the window's rate is the
higher one and at least ``min_support`` window documents hold the term. Candidates come
from the window alone (its documents are few) and what the window alone can rule out is
ruled out first; the baseline, which may be 100k items, is only asked for the survivors'
frequencies (:meth:`store.base.ItemRepo.phrase_frequencies`: one Aho-Corasick pass on
SQLite, aggregations on Elasticsearch).

New-word discovery rides along: a candidate must hang together (its cohesion, the least
pointwise mutual information over the ways to cut it in two, is positive) and be free at
both ends (boundary entropy: if one character nearly always precedes or follows it, it is
a fragment of a longer term, which is kept instead).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ahocorasick_rs

from monitor.discovery.segment import MIN_N, Segmenter, acceptable
from store.frequencies import Frequencies

G2_MIN = 10.83  # chi-square with one degree of freedom at p = 0.001


@dataclass(frozen=True)
class Settings:
    window: timedelta = timedelta(hours=24)
    baseline: timedelta = timedelta(days=14)
    min_support: int = 4  # window documents holding the term
    min_g2: float = G2_MIN
    # The window's rate over the baseline's (smoothed): a known word that merely had a
    # busier day than usual is not what the library is missing.
    min_lift: float = 3.0
    # A term in this share of baseline documents is boilerplate (a site's footer, a
    # column name), however it moves.
    boilerplate: float = 0.2
    # Dropped when at least this share of its window documents already matched a rule.
    covered: float = 0.9
    max_dominance: float = 0.75  # most frequent neighbour's share, each side
    min_cohesion: float = 0.0
    top: int = 30
    examples: int = 5


@dataclass
class Doc:
    id: str
    text: str
    title: str
    matched: bool  # a rule already matched it
    day: str


@dataclass
class EmergingTerm:
    term: str
    window_df: int
    baseline_df: int
    g2: float
    lift: float  # window rate / baseline rate (baseline smoothed by half a document)
    cohesion: float
    left_entropy: float
    right_entropy: float
    matched_share: float
    examples: list[str] = field(default_factory=list)  # item ids
    daily: dict[str, int] = field(default_factory=dict)  # "YYYY-MM-DD" -> documents


def g2(a: int, b: int, n1: int, n2: int) -> float:
    """Log-likelihood ratio of a term in ``a`` of ``n1`` window and ``b`` of ``n2`` baseline
    documents."""
    cells = ((a, n1 - a), (b, n2 - b))
    total = n1 + n2
    with_term = a + b
    expected_rows = (n1, n2)
    score = 0.0
    for (k_in, k_out), n in zip(cells, expected_rows, strict=True):
        for k, col in ((k_in, with_term), (k_out, total - with_term)):
            expected = n * col / total
            if k > 0 and expected > 0:
                score += k * math.log(k / expected)
    return 2 * score


def _entropy(counts: Counter[str], occurrences: int) -> tuple[float, float]:
    """Entropy of the neighbours and the share of the most frequent one; a text edge
    counts as a distinct neighbour each time (nothing binds the term there)."""
    edges = occurrences - sum(counts.values())
    parts = [*counts.values(), *([1] * edges)]
    entropy = -sum(c / occurrences * math.log(c / occurrences) for c in parts if c)
    top = max(counts.values(), default=0) / occurrences if occurrences else 0.0
    return entropy, top


def boundaries(term: str, texts: Iterable[str]) -> tuple[float, float, float, float]:
    """Left and right boundary entropy and the dominant neighbour's share on each side,
    over every occurrence of ``term`` in ``texts``."""
    left: Counter[str] = Counter()
    right: Counter[str] = Counter()
    occurrences = 0
    for text in texts:
        start = text.find(term)
        while start >= 0:
            occurrences += 1
            if start > 0 and not text[start - 1].isspace():
                left[text[start - 1]] += 1
            end = start + len(term)
            if end < len(text) and not text[end].isspace():
                right[text[end]] += 1
            start = text.find(term, start + 1)
    le, ltop = _entropy(left, occurrences)
    re_, rtop = _entropy(right, occurrences)
    return le, re_, ltop, rtop


def cohesion(term: str, df: Counter[str], chars: Counter[str], n: int) -> float:
    """The least PMI (natural log, on document frequencies) over the two-part cuts of
    ``term``: low when the term is just two common parts that happen to meet."""

    def freq(part: str) -> int:
        return chars[part] if len(part) == 1 else df[part]

    whole = df[term]
    worst = math.inf
    for cut in range(1, len(term)):
        a, b = freq(term[:cut]), freq(term[cut:])
        if a and b:
            worst = min(worst, math.log(whole * n / (a * b)))
    return 0.0 if worst is math.inf else worst


def _fragments(kept: dict[str, int]) -> set[str]:
    """Terms every document of which holds one same longer candidate: the longer one
    says more. (Where the longer one is in fewer documents both stay; ranking keeps the
    stronger, see :func:`_distinct`.)"""
    out = set()
    for longer, df_long in kept.items():
        for n in range(2, len(longer)):
            for i in range(len(longer) - n + 1):
                part = longer[i : i + n]
                if part in kept and df_long >= kept[part]:
                    out.add(part)
    return out


def _distinct(ranked: list[EmergingTerm], top: int) -> list[EmergingTerm]:
    """The first ``top`` of ``ranked`` none of which holds or is held by one ranked before
    it: "蓝湖镇多名" adds nothing below "蓝湖镇"."""
    out: list[EmergingTerm] = []
    for term in ranked:
        if any(term.term in t.term or t.term in term.term for t in out):
            continue
        out.append(term)
        if len(out) == top:
            break
    return out


@dataclass
class Window:
    """The window's documents, counted."""

    docs: list[Doc]
    df: Counter[str]
    chars: Counter[str]
    holders: dict[str, list[int]]  # term -> indexes of the documents holding it

    @classmethod
    def count(cls, docs: list[Doc], segmenter: Segmenter) -> Window:
        df: Counter[str] = Counter()
        chars: Counter[str] = Counter()
        holders: dict[str, list[int]] = defaultdict(list)
        for i, doc in enumerate(docs):
            terms = segmenter.terms(doc.text)
            df.update(terms)
            chars.update(set(doc.text))
            for t in terms:
                holders[t].append(i)
        return cls(docs, df, chars, holders)


PRUNE_DOMINANCE = 0.9  # a longer string in this share of the documents: a fragment


def candidates(window: Window, settings: Settings, library_words: Iterable[str]) -> list[str]:
    """Window terms with enough support that are acceptable, not already library words
    (nor containing or inside one), not already matched in most of their documents, and
    not plainly part of a longer string. Everything here is known from the window alone,
    so the baseline (the costly pass) is searched for the survivors only."""
    words = [w for w in library_words if w]
    automaton = ahocorasick_rs.AhoCorasick(words) if words else None
    # The most documents any one-character extension of a string is in, on each side:
    # a string nearly always extended the same way is a fragment (exact boundary
    # entropy is measured later, on the few that reach it).
    floor = PRUNE_DOMINANCE * settings.min_support
    left: dict[str, int] = {}
    right: dict[str, int] = {}
    for gram, n in window.df.items():
        if n >= floor and len(gram) > MIN_N:
            suffix, prefix = gram[1:], gram[:-1]
            if n > left.get(suffix, 0):
                left[suffix] = n
            if n > right.get(prefix, 0):
                right[prefix] = n
    out = []
    for term, df in window.df.items():
        if df < settings.min_support or not acceptable(term):
            continue
        if max(left.get(term, 0), right.get(term, 0)) > PRUNE_DOMINANCE * df:
            continue
        if automaton is not None and automaton.find_matches_as_indexes(term):
            continue  # holds a library word: the library already watches it
        if any(term in w for w in words):
            continue
        holders = window.holders[term]
        if sum(window.docs[i].matched for i in holders) >= settings.covered * len(holders):
            continue  # the rules already see (nearly) all of it
        out.append(term)
    return out


def emerging(
    window: Window,
    candidates: list[str],
    baseline: Frequencies,
    settings: Settings,
) -> list[EmergingTerm]:
    """The ``candidates`` that burst in ``window`` against ``baseline`` (their frequencies
    there), strongest first."""
    n1, n2 = len(window.docs), baseline.docs
    if not n1:
        return []
    scored: dict[str, float] = {}
    for term in candidates:
        a, b = window.df[term], baseline.df.get(term, 0)
        if n2 and b / n2 >= settings.boilerplate:
            continue
        if n2 and a / n1 <= b / n2:
            continue  # not rising
        score = g2(a, b, n1, max(n2, 1)) if n2 else float(a)
        if score >= settings.min_g2:
            scored[term] = score
    # Free at both ends first: a string one character nearly always extends is part of a
    # longer one. Only then are the survivors inside a longer survivor dropped, so a
    # term is not lost to a longer string that merely tends to surround it.
    bounded: dict[str, tuple[float, float]] = {}
    for term in scored:
        texts = [window.docs[i].text for i in window.holders[term]]
        le, re_, ltop, rtop = boundaries(term, texts)
        if max(ltop, rtop) <= settings.max_dominance:
            bounded[term] = (le, re_)
    fragments = _fragments({t: window.df[t] for t in bounded})
    terms = []
    for term, (le, re_) in bounded.items():
        score = scored[term]
        if term in fragments:
            continue
        holders = [window.docs[i] for i in window.holders[term]]
        matched = sum(d.matched for d in holders) / len(holders)
        if matched >= settings.covered:
            continue
        coh = cohesion(term, window.df, window.chars, n1)
        if coh < settings.min_cohesion:
            continue
        b = baseline.df.get(term, 0)
        lift = (window.df[term] / n1) / ((b + 0.5) / max(n2, 1))
        if n2 and lift < settings.min_lift:
            continue
        daily = dict(baseline.daily.get(term, {}))
        for d in holders:
            daily[d.day] = daily.get(d.day, 0) + 1
        terms.append(
            EmergingTerm(
                term=term,
                window_df=window.df[term],
                baseline_df=b,
                g2=round(score, 2),
                lift=round(lift, 2),
                cohesion=round(coh, 3),
                left_entropy=round(le, 3),
                right_entropy=round(re_, 3),
                matched_share=round(matched, 3),
                examples=[d.id for d in holders[: settings.examples]],
                daily=daily,
            )
        )
    # Ties (the same documents) go to the shorter term: the longer adds a neighbour.
    terms.sort(key=lambda t: (-t.g2, -t.window_df, len(t.term), t.term))
    return _distinct(terms, settings.top)


def day_of(time: datetime) -> str:
    return time.date().isoformat()

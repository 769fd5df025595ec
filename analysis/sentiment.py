"""How bad: a negative score (0-1) per sentence and per item, with the evidence for it.

Starts from the HowNet sentiment word lists (as shipped by cntext, converted by
``make analysis-data``) and adds what public-opinion work needs:

- **negation** (不/没有/并未/未 ...) before a term turns it around: 没有人员伤亡 is
  reassurance, not a casualty report;
- **degree words** (严重/极其/有些 ...) scale the next term;
- the **domain's own vocabulary** (:mod:`analysis.domain`): 伤亡, 被困, 冲突, 欠薪, 围堵
  weigh more than an adjective, and ordinary words HowNet calls negative (问题, 打击,
  安全检查's 检查) weigh less or nothing;
- **official boilerplate** (严厉打击违法犯罪, 开展应急演练, 排查安全隐患) is neutral
  however many negative words it holds.

Classes: ``negative`` from :data:`NEGATIVE_AT`, ``positive`` when positive evidence
outweighs negative, else ``neutral``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import ahocorasick_rs

from analysis import domain

DATA = Path(__file__).parent / "data" / "lexicon.tsv"
NEGATIVE_AT = 0.5  # a sentence or item at or above this is "negative"
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
_MODIFIER_REACH = 4  # characters between a negator/degree word and the term it modifies
_DEGREE = {"most": 2.0, "very": 1.6, "more": 1.3, "ish": 0.6}
# HowNet's lists are general-purpose: in news 管理, 学习, 推进 are not praise and 活动,
# 要求 are not complaints. Its words count for less than the domain's.
_HOWNET_NEG, _HOWNET_POS = 0.6, -0.4
_CLAUSE = re.compile(r"[，,、：:]")


@dataclass(frozen=True)
class Evidence:
    term: str
    start: int
    weight: float  # signed: > 0 pushes towards negative
    negated: bool = False
    degree: str = ""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"term": self.term, "start": self.start, "weight": self.weight}
        if self.negated:
            out["negated"] = True
        if self.degree:
            out["degree"] = self.degree
        return out


@dataclass
class Judgement:
    negative: float  # 0-1, two decimals
    label: str  # negative | neutral | positive
    evidence: list[Evidence] = field(default_factory=list)
    boilerplate: list[str] = field(default_factory=list)


@dataclass
class ItemJudgement:
    negative: float
    label: str
    sentences: list[tuple[str, int, Judgement]]  # field, start, judgement

    def evidence(self, limit: int = 12) -> list[dict[str, object]]:
        """The sentences that drove the score, most negative first, with their terms."""
        ranked = sorted(self.sentences, key=lambda s: -s[2].negative)
        out: list[dict[str, object]] = []
        for field_name, start, j in ranked[:3]:
            if not j.evidence and not j.boilerplate:
                continue
            out.append(
                {
                    "field": field_name,
                    "start": start,
                    "negative": j.negative,
                    "terms": [e.as_dict() for e in j.evidence[:limit]],
                    "boilerplate": j.boilerplate,
                }
            )
        return out


class Lexicon:
    """Term weights (> 0 negative, < 0 positive), negators and degree words."""

    def __init__(self, rows: Iterable[tuple[str, str]], *, with_domain: bool = True) -> None:
        self.weights: dict[str, float] = {}
        self.negators: set[str] = set()
        self.degrees: dict[str, str] = {}
        for word, cls in rows:
            if cls == "neg" and len(word) >= 2:
                self.weights[word] = 1.0 if not with_domain else _HOWNET_NEG
            elif cls == "pos" and len(word) >= 2:
                self.weights[word] = -1.0 if not with_domain else _HOWNET_POS
            elif cls == "deny":
                self.negators.add(word)
            elif cls in _DEGREE:
                self.degrees[word] = cls
        self.boilerplate: list[str] = []
        if with_domain:
            self.weights.update(domain.WEIGHTS)
            self.negators.update(domain.NEGATORS)
            self.degrees.update(domain.DEGREES)
            self.boilerplate = list(domain.BOILERPLATE)
        patterns = sorted({*self.weights, *self.negators, *self.degrees})
        self._patterns = patterns
        self._automaton = ahocorasick_rs.AhoCorasick(
            patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
        )
        self._boiler = (
            ahocorasick_rs.AhoCorasick(
                self.boilerplate, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
            )
            if self.boilerplate
            else None
        )

    def scan(self, text: str) -> list[tuple[str, int]]:
        return [
            (self._patterns[i], s) for i, s, _e in self._automaton.find_matches_as_indexes(text)
        ]

    def boiler_spans(self, text: str) -> list[tuple[int, int]]:
        if self._boiler is None:
            return []
        return [(s, e) for _i, s, e in self._boiler.find_matches_as_indexes(text)]


class Scorer:
    """The negative-first scorer. ``plain=True`` is the lexicon-only baseline: HowNet's
    terms counted, no negation, degree, domain words or boilerplate."""

    def __init__(self, lexicon: Lexicon, *, plain: bool = False) -> None:
        self.lexicon = lexicon
        self.plain = plain

    def sentence(self, text: str) -> Judgement:
        masked, boiler = self._mask(text)
        return self._judge(text, masked, self.lexicon.scan(masked), 0, [b for _s, b in boiler])

    def _mask(self, text: str) -> tuple[str, list[tuple[int, str]]]:
        """``text`` with official boilerplate blanked out (same length, so offsets hold),
        and the boilerplate found with where it starts."""
        if self.plain:
            return text, []
        spans = self.lexicon.boiler_spans(text)
        if not spans:
            return text, []
        parts, last = [], 0
        for s, e in spans:
            parts += [text[last:s], "\u3000" * (e - s)]
            last = e
        parts.append(text[last:])
        return "".join(parts), [(s, text[s:e]) for s, e in spans]

    def _judge(
        self,
        text: str,
        masked: str,
        matches: list[tuple[str, int]],
        offset: int,
        boiler: list[str],
    ) -> Judgement:
        """The judgement of the sentence ``text`` that starts at ``offset`` of ``masked``
        (its field, boilerplate blanked), from the lexicon's ``matches`` in it."""
        lex = self.lexicon
        evidence: list[Evidence] = []
        negate_until = -1
        negations = 0
        degree, degree_until = "", -1
        for term, start in matches:
            if not self.plain and term in lex.negators:
                negations += 1
                negate_until = start + len(term) + _MODIFIER_REACH
                continue
            if not self.plain and term in lex.degrees:
                degree, degree_until = lex.degrees[term], start + len(term) + _MODIFIER_REACH
                continue
            weight = lex.weights.get(term)
            if weight is None or weight == 0:
                continue
            negated = False
            if (
                not self.plain
                and start <= negate_until
                and negations % 2 == 1
                and not _CLAUSE.search(masked, negate_until - _MODIFIER_REACH, start)
            ):
                negated = True
                # "没有伤亡" is reassurance; "不满意" is a complaint (weaker than 愤怒).
                weight = -0.6 * weight if weight > 0 else -0.8 * weight
            used = ""
            if not self.plain and start <= degree_until and degree:
                weight *= _DEGREE[degree]
                used = degree
            evidence.append(Evidence(term, start - offset, round(weight, 2), negated, used))
            negations, negate_until, degree, degree_until = 0, -1, "", -1
        neg = sum(e.weight for e in evidence if e.weight > 0)
        pos = -sum(e.weight for e in evidence if e.weight < 0)
        if not self.plain and neg and _official(text):
            neg *= domain.OFFICIAL_DAMPING
            boiler = [*boiler, "(official notice)"]
        score = _score(neg, pos)
        return Judgement(score, _label(neg, pos, score), evidence, boiler)

    def item(self, title: str, body: str) -> ItemJudgement:
        # Each field is scanned once; its sentences take their share of the matches.
        sentences: list[tuple[str, int, Judgement]] = []
        for field_name, text in (("title", title), ("body", body)):
            if not text:
                continue
            masked, boiler = self._mask(text)
            matches = self.lexicon.scan(masked)
            at = 0
            for m in _SENTENCE.finditer(text):
                start, end = m.span()
                mine = []
                while at < len(matches) and matches[at][1] < end:
                    if matches[at][1] >= start:
                        mine.append(matches[at])
                    at += 1
                if not m.group().strip():
                    continue
                boilers = [b for s, b in boiler if start <= s < end]
                if not mine and not boilers:  # most sentences: nothing to weigh
                    sentences.append((field_name, start, Judgement(0.0, "neutral")))
                    continue
                judged = self._judge(m.group(), masked, mine, start, boilers)
                sentences.append((field_name, start, judged))
        if not sentences:
            return ItemJudgement(0.0, "neutral", [])
        title_neg = max((j.negative for f, _s, j in sentences if f == "title"), default=0.0)
        worst = sorted((j.negative for f, _s, j in sentences if f == "body"), reverse=True)
        # The title says what the story is; in the body the worst two sentences do.
        body_neg = sum(worst[:2]) / min(len(worst), 2) if worst else 0.0
        negative = max(title_neg, 0.6 * title_neg + 0.4 * body_neg, body_neg * 0.9)
        negative = round(min(1.0, negative), 2)
        pos = sum(1 for _f, _s, j in sentences if j.label == "positive")
        negs = sum(1 for _f, _s, j in sentences if j.label == "negative")
        label = "negative" if negative >= NEGATIVE_AT else "positive" if pos > negs else "neutral"
        return ItemJudgement(negative, label, sentences)


_OFFICIAL = re.compile("|".join(map(re.escape, domain.OFFICIAL)))
_HAPPENED = re.compile("|".join(map(re.escape, domain.HAPPENED)))


def _official(text: str) -> bool:
    return _OFFICIAL.search(text) is not None and _HAPPENED.search(text) is None


def _score(neg: float, pos: float) -> float:
    """0-1: rises with the negative evidence, held down by positive evidence."""
    net = neg - 0.7 * pos
    return round(1.0 / (1.0 + math.exp(-2.2 * (net - 0.8))), 2) if neg > 0 else 0.0


def _label(neg: float, pos: float, score: float) -> str:
    if neg > 0 and score >= NEGATIVE_AT:
        return "negative"
    if pos > neg and pos >= 0.9:
        return "positive"
    return "neutral"


def read_lexicon(path: Path = DATA) -> list[tuple[str, str]]:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: run `make analysis-data` (part of `make install`)"
        )
    rows = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or "\t" not in line:
                continue
            word, cls = line.rstrip("\n").split("\t")[:2]
            rows.append((word, cls))
    return rows


@cache
def default() -> Scorer:
    return Scorer(Lexicon(read_lexicon()))


@cache
def baseline() -> Scorer:
    return Scorer(Lexicon(read_lexicon(), with_domain=False), plain=True)

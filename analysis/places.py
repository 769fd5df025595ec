"""Place recognition (属地): every mention of a place in an item's title and body, with
its offsets, the code it resolves to, a confidence and the evidence for it.

A name is often shared: 梓潼 is a street of 潼南区 (Chongqing) and a county of Sichuan;
城关镇 and 新华路街道 exist in hundreds of counties. A candidate wins on context:

- ``parent``: a place above it is mentioned (重庆 潼南 ... 梓潼 -> the street);
- ``child``: a place below it is mentioned (朝阳 ... 望京街道 -> Beijing's 朝阳区);
- ``sibling``: a place in the same county (or prefecture, for a county) is mentioned;
- ``home``: the source's home region contains it;
- ``level``: with no context, a province or prefecture beats townships of the same
  short form (北京 is the capital, not Guangzhou's 北京街道).

A former name (曾用名: 潼南县, 襄樊, a town renamed by an imported code list) resolves to
the place's current code with the evidence ``former``; its short form counts only where
no current place has that name.

A mention of one unique name is resolved on its own (``unique``); several candidates with
no context between them stay ``ambiguous`` (shown as such, never guessed). Short forms
that are everyday words (长安, 和平, 新区, 朝阳 ...) and the short forms of townships
(thousands of two-character stems) need context, or they are not taken as places.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import ahocorasick_rs

from analysis.gazetteer import Gazetteer, Place, short_forms

# Short forms that are ordinary words or names of things other than the place; my own
# list (grown from the evaluation set's traps), not taken from elsewhere.
COMMON_WORDS = frozenset(
    """长安 和平 新区 朝阳 鼓楼 新华 城关 中山 人民 解放 东风 红旗 胜利 前进 光明 幸福 团结
    建设 新城 城区 新村 江南 江北 河东 河西 南山 北山 中心 高新 永安 太平 平安 长江 黄河
    金山 青山 白云 龙山 花园 东方 向阳 红星 民主 和谐 文明 先锋 友谊 工农 繁荣 振兴 复兴
    新兴 兴隆 长青 青年 开发 经济 科技 滨海 港口 机场 新街 老街 大街 市场 公园 车站 火车站
    东城 西城 南城 北城 城东 城西 城南 城北 东区 西区 南区 北区 中区 新市 大同 普陀 宝山
    黄山 泰山 华山 峨眉 庐山 天山 昆仑 长城 吉利 比亚迪 宁德 大众 东莞 永和 如意 吉祥 安宁
    太和 大安 新安 长寿 万寿 福山 德化 通化 文化 新华路 建国 西湖 东湖 南湖 北湖 大学 学府
    石门 龙门 大佛 双桥 三江 两河 五一 八一 红光 新民 安居 乐业 大方 正安 安全 和顺 顺德
    开放 共和 新乐 同心 未来 希望 利民 惠民 富民 兴业 永宁 太安 城中 中原 临江 沿江 沿河
    高坪 平原 高原 山区 海城 江城 山城 龙城 凤凰 仁和 长乐 永乐 永兴 新建 上和 群力 新胜
    田家 别口 古溪 花岩 柏梓 米心 卧佛 五桂 塘坝 小渡 寿桥 宝龙 龙形 崇龛""".split()
)

# Evidence weights: a unique mention above/below counts fully, one of k candidates 1/k.
_ANCHOR = 3.0
_HOME = 2.0
_SIBLING = 0.5  # of a full weight
_WEAK_NEEDS = 2.0  # a common-word short form: a unique parent/child or the home region
_TOWNSHIP_SHORT_NEEDS = 1.0
LEAD = 150  # characters of the body that count as its lead


@dataclass(frozen=True)
class Mention:
    field: str  # "title" or "body"
    start: int
    end: int
    text: str
    code: str  # "" when ambiguous
    candidates: tuple[str, ...]
    confidence: float
    evidence: tuple[tuple[str, str], ...]  # (kind, code): parent/child/sibling/home/unique

    @property
    def ambiguous(self) -> bool:
        return not self.code

    def as_dict(self) -> dict[str, object]:
        return {
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "code": self.code,
            "candidates": list(self.candidates[:10]),
            "confidence": round(self.confidence, 2),
            "evidence": [list(e) for e in self.evidence],
        }


@dataclass
class Regions:
    """What an item is about: its mentions, the primary region and every region
    (resolved codes and the codes above them, so ``region:500152`` is one term test)."""

    mentions: list[Mention] = field(default_factory=list)
    primary: str = ""
    primary_codes: list[str] = field(default_factory=list)  # primary and above it
    codes: list[str] = field(default_factory=list)

    @property
    def ambiguous(self) -> list[Mention]:
        return [m for m in self.mentions if m.ambiguous]


@dataclass
class _Raw:
    field: str
    start: int
    end: int
    text: str
    entries: list[tuple[Place, bool]]  # candidate, matched by its short form

    @property
    def weak(self) -> bool:
        return self.text in COMMON_WORDS


class Recognizer:
    def __init__(self, gazetteer: Gazetteer, aliases: Iterable[tuple[str, str]] = ()) -> None:
        """``aliases``: more (name, code) pairs, e.g. operators' other names for a place."""
        self.gazetteer = gazetteer
        by_name: dict[str, dict[str, tuple[Place, bool]]] = defaultdict(dict)
        extra = [(n, gazetteer.places[c], False) for n, c in aliases if c in gazetteer.places]
        for name, place, short in [*gazetteer.names(), *extra]:
            known = by_name[name].get(place.code)
            # A place matched by its own full name beats the same place by a short form.
            if known is None or (known[1] and not short):
                by_name[name][place.code] = (place, short)
        # Former names, and their short forms where no current place has that name (思茅
        # stays 思茅区's, not the former 思茅市's).
        self._former: set[tuple[str, str]] = set()
        for place in gazetteer:
            for former in place.former:
                self._former.add((former, place.code))
                for form in short_forms(former):
                    if form not in by_name:
                        by_name[form][place.code] = (place, True)
                        self._former.add((form, place.code))
        for places in by_name.values():
            # A prefecture without counties (东莞市) repeats itself one level down.
            for code, (place, _short) in list(places.items()):
                if place.parent in places:
                    del places[code]
        self._names = list(by_name)
        self._entries = [list(by_name[n].values()) for n in self._names]
        self._automaton = ahocorasick_rs.AhoCorasick(
            self._names, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
        )

    def _scan(self, field_name: str, text: str) -> list[_Raw]:
        out = []
        for index, start, end in self._automaton.find_matches_as_indexes(text):
            out.append(_Raw(field_name, start, end, text[start:end], self._entries[index]))
        return out

    def recognize(self, title: str, body: str, home: str = "") -> Regions:
        raws = self._scan("title", title) + self._scan("body", body)
        decided: dict[int, str] = {}  # raw index -> code, grows over the two passes
        mentions: dict[int, Mention] = {}
        before = -1
        for _round in range(2):
            if len(decided) == before or len(decided) == len(raws):
                break  # nothing new decided: a second pass would decide the same
            before = len(decided)
            support = _Support(raws, decided)
            for i, raw in enumerate(raws):
                if i in decided:
                    continue
                mention = self._decide(i, raw, support, home)
                if mention is None:
                    mentions.pop(i, None)
                    continue
                mentions[i] = mention
                if mention.code:
                    decided[i] = mention.code
        ordered = [mentions[i] for i in sorted(mentions)]
        return self._regions(ordered)

    def _decide(self, i: int, raw: _Raw, support: _Support, home: str) -> Mention | None:
        scores: dict[str, float] = {}
        evidence: dict[str, list[tuple[str, str]]] = {}
        for place, _short in raw.entries:
            if place.code[:2] in support.provinces:
                score, why = support.score(raw.text, place)
            else:
                score, why = 0.0, []
            if home and (place.under(home) or home.startswith(place.code)):
                score += _HOME
                why.append(("home", home))
            scores[place.code] = score
            evidence[place.code] = why
        best = max(scores.values())
        top = [c for c, s in scores.items() if s == best]
        short = {p.code: s for p, s in raw.entries}
        township_short = all(short[c] and len(c) >= 9 for c in top)
        need = _WEAK_NEEDS if raw.weak else _TOWNSHIP_SHORT_NEEDS if township_short else 0.0
        if (raw.weak or township_short) and best < need:
            return None  # an everyday word (or a bare township stem) without context
        candidates = tuple(sorted(scores, key=lambda c: (-scores[c], c)))
        if len(top) == 1 and (best > 0 or len(scores) == 1):
            code = top[0]
            confidence = min(0.99, 0.6 + 0.1 * best) if best > 0 else 0.0
            if len(scores) == 1:  # the only place of the name: context only adds to it
                confidence = max(confidence, 0.75 if short[code] else 0.9)
                evidence[code] = [("unique", code), *evidence[code]]
            if (raw.text, code) in self._former:
                evidence[code] = [("former", code), *evidence[code]]
            if self.gazetteer.places[code].removed:
                evidence[code] = [*evidence[code], ("removed", code)]
            return Mention(
                raw.field,
                raw.start,
                raw.end,
                raw.text,
                code,
                candidates,
                confidence,
                tuple(evidence[code]),
            )
        if best == 0:
            # 北京 is the capital, not the 北京街道 of Guangzhou: with no context, a province
            # or prefecture beats townships that share its short form.
            wide = [c for c in top if len(c) <= 4]
            if len(wide) == 1 and all(short[c] and len(c) >= 9 for c in top if c != wide[0]):
                code = wide[0]
                return Mention(
                    raw.field,
                    raw.start,
                    raw.end,
                    raw.text,
                    code,
                    candidates,
                    0.7,
                    (("level", code),),
                )
        confidence = 1.0 / max(len(top), 1)
        return Mention(raw.field, raw.start, raw.end, raw.text, "", candidates, confidence, tuple())

    def _regions(self, mentions: list[Mention]) -> Regions:
        weight: dict[str, float] = defaultdict(float)
        first: dict[str, int] = {}
        codes: set[str] = set()
        for order, m in enumerate(mentions):
            if not m.code:
                continue
            codes.update(self.gazetteer.ancestors(m.code))
            w = 3.0 if m.field == "title" else 2.0 if m.start < LEAD else 1.0
            weight[m.code] += w * m.confidence
            first.setdefault(m.code, order)
        if not weight:
            return Regions(mentions)
        # The most weighed place; a place below another that ties with it is more precise.
        primary = max(weight, key=lambda c: (round(weight[c], 6), len(c), -first[c]))
        return Regions(
            mentions,
            primary,
            self.gazetteer.ancestors(primary),
            sorted(codes),
        )


class _Support:
    """How much each candidate code is supported by the other mentions of the item:
    places above it, below it and beside it, each mention weighing 1/k of a full
    weight when it has k candidates (or fully, once decided). Kept per mention text, so
    a name never supports itself (梓潼 twice proves nothing)."""

    def __init__(self, raws: list[_Raw], decided: dict[int, str]) -> None:
        self.decided = decided
        self.exact: dict[str, dict[str, float]] = defaultdict(dict)
        self.below: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)
        self.area: dict[str, dict[str, list[tuple[float, str]]]] = defaultdict(dict)
        self.provinces: set[str] = set()  # a candidate elsewhere can get no support
        for i, raw in enumerate(raws):
            text = raw.text
            for place, w in self._weighted(i, raw):
                self.provinces.add(place.code[:2])
                code = place.code
                exact = self.exact[code]
                if w > exact.get(text, 0.0):
                    exact[text] = w
                for n in (2, 4, 6):
                    if len(code) > n:
                        below = self.below[code[:n]]
                        if w > below.get(text, (0.0, ""))[0]:
                            below[text] = (w, code)
                area = _area(code)
                if area:
                    self.area[area].setdefault(text, []).append((w, code))

    def _weighted(self, i: int, raw: _Raw) -> list[tuple[Place, float]]:
        if i in self.decided:
            code = self.decided[i]
            return [(p, _ANCHOR) for p, _ in raw.entries if p.code == code]
        # An undecided common word or bare township stem is barely evidence, and none at
        # all when it names dozens of places (古城: 55 townships; counting them costs much).
        damp = 1.0
        if raw.weak or all(short and len(p.code) >= 9 for p, short in raw.entries):
            if len(raw.entries) > 30:
                return []
            damp = 0.3
        w = _ANCHOR * damp / len(raw.entries)
        return [(p, w) for p, _ in raw.entries]

    def score(self, text: str, place: Place) -> tuple[float, list[tuple[str, str]]]:
        score = 0.0
        why: list[tuple[str, str]] = []
        code = place.code
        for n in (2, 4, 6):  # parents: any mention of a code above this one
            if len(code) > n:
                above = self.exact.get(code[:n])
                if above:
                    best = max((w for t, w in above.items() if t != text), default=0.0)
                    if best:
                        score += best
                        why.append(("parent", code[:n]))
        below = self.below.get(code)
        if below:
            found = [v for t, v in below.items() if t != text]
            if found:
                w, child = max(found)
                score += w
                why.append(("child", child))
        area = _area(code)
        beside = self.area.get(area) if area else None
        if beside:
            near = [v for t, vs in beside.items() if t != text for v in vs if v[1] != code]
            if near:
                w, other = max(near)
                score += w * _SIBLING
                why.append(("sibling", other))
        return score, why


def _area(code: str) -> str:
    """The county a township is in, or the prefecture a county is in (an operator's place:
    the division it is filed under)."""
    if "-" in code:
        return code.partition("-")[0]
    if len(code) == 9:
        return code[:6]
    if len(code) == 6:
        return code[:4]
    return ""

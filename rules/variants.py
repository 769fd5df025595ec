"""Variant options of a keyword group: what else, besides the word itself, counts as the word.

Options fall into two kinds. *Text-side* options (``enclosed``, ``noise``, ``lookalikes``,
``repeats``) choose the :class:`rules.normalize.View` both the group's words and the text
are normalised with. *Word-side* options add spellings of each word, each found in a form
of the text made for it, and every hit says which one matched (:data:`KINDS`):

``pinyin``
    A Chinese word of two or more characters also matches its full pinyin (``yiqing``,
    ``yi qing``), its initials as a whole Latin word (``YQ``) and mixtures (``疫qing``),
    in the *pinyin form* of the text: the stretches around Latin letters with Chinese
    characters spelt out and the spaces between syllables dropped. Heteronyms: the word is
    spelt with its phrase reading (重庆 ``chongqing``), its characters' first readings and
    their other readings (up to :data:`MAX_SPELLINGS` spellings); ``ü`` as ``v`` or ``u``.
    A Chinese character in a mixed hit must be the word's own character (unless
    ``homophones``). Two guards keep English out: the Latin words beside a pinyin hit must
    be pinyin too (``sq ft``, ``Li Wei said`` are not), and a hit must start and end at
    syllable boundaries.
``homophones``
    Characters with the same (toneless) reading match each other (``疫情`` / ``易情``), in
    the *homophone form* of the text: each Chinese character replaced by a stand-in for its
    first reading, from a table built once per process from pypinyin's data.
``split``
    Characters written as their parts (``弓长`` for ``张``), from :data:`SPLIT_FORMS`.

This module is pure: tables come from pypinyin's bundled data, nothing is read at import.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from rules.normalize import View, is_cjk

__all__ = [
    "KINDS",
    "MAX_SPELLINGS",
    "SPLIT_FORMS",
    "Kind",
    "PinyinForm",
    "Spelling",
    "Variants",
    "homophone_form",
    "homophone_patterns",
    "is_pinyin",
    "pinyin_form",
    "pinyin_spellings",
    "split_spellings",
]

Kind = Literal["pinyin", "initials", "homophone", "split"]
KINDS: tuple[Kind, ...] = ("pinyin", "initials", "homophone", "split")

MAX_SPELLINGS = 8
"""Pinyin spellings (reading combinations) per word; more heteronyms are left out."""
MAX_SPLIT_SPELLINGS = 8


@dataclass(frozen=True)
class Variants:
    """A group's options; the defaults are what ``bench/match.py`` measured to be worth it."""

    enclosed: bool = True
    noise: Literal["off", "cjk", "latin", "brackets"] = "cjk"
    lookalikes: bool = False
    repeats: bool = False
    pinyin: bool = False
    homophones: bool = False
    split: bool = False

    @property
    def view(self) -> View:
        return View(self.enclosed, self.noise, self.lookalikes, self.repeats)

    def with_(self, **changes: object) -> Variants:
        return replace(self, **changes)  # type: ignore[arg-type]


ALL_ON = Variants(True, "brackets", True, True, True, True, True)
"""Every option on (what the benchmark's "all options" row uses)."""


# --- readings ---------------------------------------------------------------------------------


class _Phrases:
    """pypinyin's phrase readings, made toneless when first asked for."""

    def __init__(self, phrases: dict[str, list[list[str]]], plain: dict[str, str]) -> None:
        self._phrases = phrases
        self._plain = plain

    def get(self, word: str) -> tuple[str, ...] | None:
        readings = self._phrases.get(word)
        if readings is None or len(readings) != len(word):
            return None
        return tuple(self._plain.get(r[0]) or _toneless(r[0]) for r in readings)


@dataclass(frozen=True)
class _Readings:
    by_char: dict[str, tuple[str, ...]]  # toneless readings, most common first
    phrases: _Phrases  # word -> toneless reading of each character
    syllables: frozenset[str]
    stand_in: npt.NDArray[np.uint32]  # code point -> itself, or the stand-in of its reading
    stand_ins: dict[str, str]  # reading -> stand-in character


# Stand-ins for readings live in the Private Use Area; text characters there are mapped to
# U+FFFD in the homophone form so they can never pose as a reading.
_STAND_IN_BASE = 0xE000
_TONE_MARKS = re.compile(r"[\u0300-\u036f]")


def _toneless(reading: str) -> str:
    decomposed = unicodedata.normalize("NFD", reading)
    # ü (u + diaeresis) is written v, as pinyin input methods and pypinyin do.
    return _TONE_MARKS.sub("", decomposed.replace("u\u0308", "v")).lower()


def _load() -> _Readings:
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    plain: dict[str, str] = {}  # a few thousand distinct toned readings
    by_char: dict[str, tuple[str, ...]] = {}
    for code, readings in pinyin_dict.items():
        toneless = []
        for r in readings.split(","):
            if r not in plain:
                plain[r] = _toneless(r)
            if plain[r].isascii() and plain[r].isalpha() and plain[r] not in toneless:
                toneless.append(plain[r])
        if toneless:
            by_char[chr(code)] = tuple(toneless)
    phrases = _Phrases(phrases_dict, plain)
    syllables = frozenset(r for rs in by_char.values() for r in rs)
    # ü is typed u as often as v (lv / lu 绿): both spell a syllable.
    syllables |= {s.replace("v", "u") for s in syllables}
    stand_ins = {s: chr(_STAND_IN_BASE + i) for i, s in enumerate(sorted(syllables))}
    table = np.arange(0x110000, dtype=np.uint32)
    table[_STAND_IN_BASE : _STAND_IN_BASE + len(stand_ins)] = 0xFFFD
    for char, choices in by_char.items():
        table[ord(char)] = ord(stand_ins[choices[0]])
    return _Readings(by_char, phrases, syllables, table, stand_ins)


_readings: _Readings | None = None
_lock = threading.Lock()


def _get() -> _Readings:
    global _readings
    if _readings is None:
        with _lock:
            if _readings is None:
                _readings = _load()
    return _readings


def readings(char: str) -> tuple[str, ...]:
    """Toneless readings of one character, most common first (empty if it has none)."""
    return _get().by_char.get(char, ())


@lru_cache(maxsize=65536)
def is_pinyin(letters: str) -> bool:
    """Whether ``letters`` (lower case) is a sequence of pinyin syllables (or empty)."""
    syllables = _get().syllables
    n = len(letters)
    reachable = [True] + [False] * n
    for i in range(n):
        if reachable[i]:
            for j in range(i + 1, min(n, i + 6) + 1):
                if letters[i:j] in syllables:
                    reachable[j] = True
    return reachable[n]


# --- spellings of a word -------------------------------------------------------------------------


@dataclass(frozen=True)
class Spelling:
    """One way of writing a word: ``text`` is the pattern, ``kind`` what it is, and for
    pinyin the syllables (to check which character a syllable stands for)."""

    text: str
    kind: Kind
    syllables: tuple[str, ...] = field(default=())


def _reading_combinations(word: str) -> list[tuple[str, ...]]:
    r = _get()
    choices = [r.by_char.get(c, ()) for c in word]
    if not all(choices):
        return []
    found: dict[tuple[str, ...], None] = {}
    phrase = r.phrases.get(word)
    if phrase:
        found[phrase] = None
    found[tuple(c[0] for c in choices)] = None
    for combination in itertools.product(*choices):
        if len(found) >= MAX_SPELLINGS:
            break
        found[combination] = None
    out: list[tuple[str, ...]] = []
    for combination in found:
        out.append(combination)
        if any("v" in s for s in combination):
            out.append(tuple(s.replace("v", "u") for s in combination))
    return out


def pinyin_spellings(word: str) -> list[Spelling]:
    """Full pinyin and initials of ``word`` (normalised); none unless it is two or more
    Chinese characters that all have readings."""
    if len(word) < 2 or not all(is_cjk(c) for c in word):
        return []
    spellings: dict[str, Spelling] = {}
    combinations = _reading_combinations(word)
    for syllables in combinations:
        text = "".join(syllables)
        spellings.setdefault(text, Spelling(text, "pinyin", syllables))
    for syllables in combinations[:2]:  # initials of the phrase and first readings only
        initials = "".join(s[0] for s in syllables)
        if initials not in spellings:
            spellings[initials] = Spelling(initials, "initials", tuple(s[0] for s in syllables))
    return list(spellings.values())


def homophone_patterns(word: str) -> list[str]:
    """``word`` (normalised) in the homophone form, once per combination of its characters'
    readings (heteronyms), at most :data:`MAX_SPELLINGS`."""
    r = _get()
    choices = [[r.stand_ins[x] for x in r.by_char[c]] if c in r.by_char else [c] for c in word]
    patterns: dict[str, None] = {"".join(c[0] for c in choices): None}
    for combination in itertools.product(*choices):
        if len(patterns) >= MAX_SPELLINGS:
            break
        patterns["".join(combination)] = None
    return list(patterns)


def homophone_form(text: str) -> str:
    """``text`` (normalised) with each Chinese character replaced by the stand-in of its
    first reading; same length, so offsets carry over unchanged."""
    if not text:
        return text
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return _get().stand_in[codes].tobytes().decode("utf-32-le", "surrogatepass")


# A curated set of characters commonly written as their components to dodge filters:
# surnames and the characters of words that tend to be filtered. Components are in normal
# form (simplified), as the text is compared after normalisation.
SPLIT_FORMS: dict[str, tuple[str, ...]] = {
    "张": ("弓长",),
    "吴": ("口天",),
    "李": ("木子",),
    "陈": ("耳东",),
    "章": ("立早",),
    "胡": ("古月",),
    "杨": ("木易",),
    "林": ("木木",),
    "何": ("人可",),
    "许": ("言午",),
    "赵": ("走肖",),
    "孙": ("子小",),
    "谢": ("言身寸",),
    "徐": ("双人余",),
    "明": ("日月",),
    "好": ("女子",),
    "妈": ("女马",),
    "炸": ("火乍",),
    "枪": ("木仓",),
    "烧": ("火尧",),
    "爆": ("火暴",),
    "炮": ("火包",),
    "砍": ("石欠",),
    "访": ("言方",),
    "信": ("人言",),
    "伪": ("人为",),
    "腐": ("府肉",),
    "政": ("正文", "正攵"),
    "江": ("三点水工", "氵工"),
    "法": ("三点水去", "氵去"),
    "沽": ("氵古",),
    "河": ("氵可",),
    "湖": ("氵胡",),
    "峰": ("山夆",),
    "岭": ("山令",),
    "鸣": ("口鸟",),
    "吸": ("口及",),
    "毒": ("丰毋",),
    "骗": ("马扁",),
    "赌": ("贝者",),
    "贿": ("贝有",),
    "贪": ("今贝",),
    "警": ("敬言",),
    "拆": ("扌斥",),
    "打": ("扌丁",),
    "抓": ("扌爪",),
    "抢": ("扌仓",),
    "伤": ("人伤",),
    "死": ("歹匕",),
    "村": ("木寸",),
    "镇": ("钅真",),
}


def split_spellings(word: str) -> list[Spelling]:
    """``word`` with one or more of its characters written as their components."""
    choices = [(c, *SPLIT_FORMS.get(c, ())) for c in word]
    if all(len(c) == 1 for c in choices):
        return []
    out: list[Spelling] = []
    for combination in itertools.product(*choices):
        text = "".join(combination)
        if text != word:
            out.append(Spelling(text, "split"))
        if len(out) >= MAX_SPLIT_SPELLINGS:
            break
    return out


# --- the pinyin form of a text ---------------------------------------------------------------

_LETTERS = re.compile(r"[a-z]+")
_SPACE = frozenset(" \t\u3000")


@dataclass(frozen=True)
class _Piece:
    start: int  # in the pinyin form
    end: int
    source_start: int  # in the normalised text
    source_end: int
    char: str | None  # the Chinese character spelt out, None for copied text
    latin: bool  # letters of the text (a Latin word, or part of one)


class PinyinForm:
    """The stretches of a normalised text around its Latin letters, Chinese characters
    spelt in pinyin, spaces next to letters dropped; and how to check and place a hit."""

    __slots__ = ("pieces", "starts", "text")

    def __init__(self, text: str, pieces: list[_Piece]) -> None:
        self.text = text
        self.pieces = pieces
        self.starts = [p.start for p in pieces]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The normalised-text span of pinyin-form ``[start, end)``."""
        from bisect import bisect_right

        first = self.pieces[bisect_right(self.starts, start) - 1]
        last = self.pieces[bisect_right(self.starts, end - 1) - 1]
        s = first.source_start + (start - first.start if first.char is None else 0)
        e = last.source_end - (last.end - end if last.char is None else 0)
        return s, e

    def accepts(
        self, start: int, end: int, spelling: Spelling, word: str, homophones: bool
    ) -> bool:
        """Whether the hit ``[start, end)`` of ``spelling`` (of ``word``) is a real one."""
        from bisect import bisect_right

        first = bisect_right(self.starts, start) - 1
        last = bisect_right(self.starts, end - 1) - 1
        pieces = self.pieces[first : last + 1]
        if not any(p.latin for p in pieces):
            return False  # all Chinese characters: the word itself, found without pinyin
        # Initials are a whole Latin word of their own.
        if spelling.kind == "initials" and (
            len(pieces) != 1 or (pieces[0].start, pieces[0].end) != (start, end)
        ):
            return False
        # Syllable offsets of the spelling, to place each spelt-out character.
        offsets: dict[int, int] = {}
        at = 0
        for i, syllable in enumerate(spelling.syllables):
            offsets[at] = i
            at += len(syllable)
        for p in pieces:
            if p.char is None:
                if not p.latin and p.end > p.start:
                    return False  # digits or symbols inside the hit
                continue
            at_syllable = offsets.get(p.start - start)
            if at_syllable is None or p.end - p.start != len(spelling.syllables[at_syllable]):
                return False  # a hit that starts or ends inside a character's syllable
            if not homophones and word[at_syllable] != p.char:
                return False
        # The Latin words around the hit must be pinyin too, from the hit to the ends of
        # the run of Latin words (``sq ft``, ``Li Wei said`` are English).
        # Each Latin word beside the hit, and what the hit leaves of its own first and last
        # word, must be pinyin too: ``sq ft``, ``Li Wei said``, ``yiqingx`` are not.
        beside: list[str] = []
        if pieces[0].latin:
            beside += [self._cut(pieces[0], start, before=True), *self._latin_run(first, -1)]
        if pieces[-1].latin:
            beside += [self._cut(pieces[-1], end, before=False), *self._latin_run(last, 1)]
        return all(is_pinyin(letters) for letters in beside)

    def _cut(self, piece: _Piece, at: int, *, before: bool) -> str:
        if not piece.latin:
            return ""
        offset = at - piece.start
        letters = self.text[piece.start : piece.end]
        return letters[:offset] if before else letters[offset:]

    def _latin_run(self, index: int, step: int) -> list[str]:
        """The Latin words (pieces) next to piece ``index`` in direction ``step``."""
        found: list[str] = []
        i = index + step
        while 0 <= i < len(self.pieces) and self.pieces[i].latin:
            found.append(self.text[self.pieces[i].start : self.pieces[i].end])
            i += step
        return found


def pinyin_form(text: str, reach: int) -> PinyinForm | None:
    """The pinyin form of normalised ``text`` within ``reach`` characters of its Latin
    letters; None if it has none (then no pinyin spelling can occur)."""
    runs = [m.span() for m in _LETTERS.finditer(text)]
    if not runs:
        return None
    by_char = _get().by_char
    windows: list[list[int]] = []
    for start, end in runs:
        lo, hi = max(0, start - reach), min(len(text), end + reach)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = hi
        else:
            windows.append([lo, hi])
    out: list[str] = []
    pieces: list[_Piece] = []
    at = 0
    letters = dict(runs)
    for lo, hi in windows:
        i = lo
        while i < hi:
            c = text[i]
            if i in letters:
                j = min(letters[i], hi)
                pieces.append(_Piece(at, at + j - i, i, j, None, True))
                out.append(text[i:j])
                at += j - i
                i = j
                continue
            if c in _SPACE and _next_to_letters(text, i):
                i += 1
                continue
            reading = by_char.get(c) if is_cjk(c) else None
            if reading:
                pieces.append(_Piece(at, at + len(reading[0]), i, i + 1, c, False))
                out.append(reading[0])
                at += len(reading[0])
            else:
                pieces.append(_Piece(at, at + 1, i, i + 1, None, False))
                out.append(c)
                at += 1
            i += 1
        pieces.append(_Piece(at, at + 1, hi, hi, None, False))  # windows never join
        out.append("\n")
        at += 1
    return PinyinForm("".join(out), pieces)


def _next_to_letters(text: str, i: int) -> bool:
    """Whether the run of spaces at ``i`` touches a Latin letter on either side (so it
    separates syllables rather than Chinese words)."""
    j = i
    while j < len(text) and text[j] in _SPACE:
        j += 1
    k = i
    while k > 0 and text[k - 1] in _SPACE:
        k -= 1
    after = text[j] if j < len(text) else ""
    before = text[k - 1] if k > 0 else ""
    return ("a" <= after <= "z") or ("a" <= before <= "z")

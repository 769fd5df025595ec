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
    first reading, from a table built once per process from pypinyin's data. At least one
    character of the word must be written as it is: two unrelated characters that merely
    sound like a two-character word are everywhere in ordinary text.
``split``
    Characters written as their parts (``弓长`` for ``张``), from :data:`SPLIT_FORMS`.

This module is pure: tables come from pypinyin's bundled data, nothing is read at import.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from rules.normalize import View, _EditMap, is_cjk

__all__ = [
    "ALL_ON",
    "KINDS",
    "MAX_SPELLINGS",
    "SPLIT_FORMS",
    "Kind",
    "SoundForm",
    "Spelling",
    "Variants",
    "heard",
    "homophone_form",
    "initials",
    "is_pinyin",
    "segment",
    "sound_form",
    "sound_patterns",
    "split_spellings",
]

Kind = Literal["pinyin", "initials", "homophone", "split"]
KINDS: tuple[Kind, ...] = ("pinyin", "initials", "homophone", "split")

MAX_SPELLINGS = 2
"""Reading combinations per word (heteronyms); more are left out."""
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
    first: dict[int, str]  # str.translate table: character -> stand-in of its first reading
    initial: dict[int, str]  # str.translate table: character -> first letter of that reading
    choices: dict[str, tuple[str, ...]]  # character -> stand-ins of all its readings (2 or more)


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
    first: dict[int, str] = {}
    initial: dict[int, str] = {}
    choices: dict[str, tuple[str, ...]] = {}
    for char, spelt in by_char.items():
        table[ord(char)] = ord(stand_ins[spelt[0]])
        first[ord(char)] = stand_ins[spelt[0]]
        initial[ord(char)] = spelt[0][0]
        # ü also as u (nu for 女): a word may be written either way.
        every = [*spelt, *(x.replace("v", "u") for x in spelt if "v" in x)]
        if len(every) > 1:
            choices[char] = tuple(dict.fromkeys(stand_ins[x] for x in every))
    return _Readings(by_char, phrases, syllables, table, stand_ins, first, initial, choices)


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


# --- spellings of a word -------------------------------------------------------------------------


@dataclass(frozen=True)
class Spelling:
    """Another way of writing a word (``split``): the pattern and what it is."""

    text: str
    kind: Kind


_STAND_IN = re.compile("[\ue000-\ue1ff]")
_CJK_WORD = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af]+")


def sound_patterns(word: str) -> list[str]:
    """``word`` (normalised) in the sound form: its phrase reading where pypinyin has one,
    its characters' first readings, and other readings (heteronyms: 重庆 as chong-qing and
    zhong-qing), at most :data:`MAX_SPELLINGS`; none unless it has two or more Chinese
    characters, all with readings (single characters would match half the language)."""
    r = _get()
    first = word.translate(r.first)
    if len(_STAND_IN.findall(first)) < 2 or _CJK_WORD.search(first):
        return []
    found: dict[str, None] = {}
    phrase = r.phrases.get(word)
    if phrase and all(x in r.stand_ins for x in phrase):
        found["".join(r.stand_ins[x] for x in phrase)] = None
    found[first] = None
    if not r.choices.keys().isdisjoint(word):
        choices = [r.choices.get(c) or (r.first.get(ord(c), c),) for c in word]
        for combination in itertools.product(*choices):
            if len(found) >= MAX_SPELLINGS:
                break
            found["".join(combination)] = None
    return list(found)


def initials(word: str) -> list[str]:
    """Pinyin initials of an all-Chinese ``word`` (normalised), of its first readings and
    phrase reading: 疫情 ``yq``, 重庆 ``zq`` and ``cq``."""
    if len(word) < 2 or not _CJK_WORD.fullmatch(word):
        return []
    r = _get()
    letters = word.translate(r.initial)
    if not letters.isascii():
        return []  # a character without a reading
    found = {letters: None}
    phrase = r.phrases.get(word)
    if phrase:
        found["".join(x[0] for x in phrase)] = None
    return list(found)


@lru_cache(maxsize=65536)
def segment(letters: str) -> tuple[str, ...] | None:
    """``letters`` (lower case) as pinyin syllables, the fewest that cover it (``xian`` is
    one syllable, ``xi'an`` two words); None if it is not pinyin."""
    syllables = _get().syllables
    n = len(letters)
    fewest: list[int | None] = [None] * n + [0]
    for i in range(n - 1, -1, -1):
        best = None
        for j in range(min(n, i + 6), i, -1):
            rest = fewest[j]
            if rest is not None and letters[i:j] in syllables and (best is None or rest + 1 < best):
                best = rest + 1
        fewest[i] = best
    if fewest[0] is None:
        return None
    out: list[str] = []
    i = 0
    while i < n:
        for j in range(min(n, i + 6), i, -1):
            rest = fewest[j]
            if rest is not None and rest == (fewest[i] or 0) - 1 and letters[i:j] in syllables:
                out.append(letters[i:j])
                i = j
                break
    return tuple(out)


def is_pinyin(letters: str) -> bool:
    """Whether ``letters`` (lower case) is a sequence of pinyin syllables."""
    return segment(letters) is not None


def stand_in(syllable: str) -> str:
    return _get().stand_ins[syllable]


def homophone_form(text: str) -> str:
    """``text`` (normalised) with each Chinese character replaced by the stand-in of its
    first reading; same length, so offsets carry over unchanged."""
    if not text:
        return text
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return _get().stand_in.take(codes).tobytes().decode("utf-32-le", "surrogatepass")


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


_SPLIT_CHARS = frozenset(SPLIT_FORMS)


def split_spellings(word: str) -> list[Spelling]:
    """``word`` with one or more of its characters written as their components."""
    if _SPLIT_CHARS.isdisjoint(word):
        return []
    choices = [(c, *SPLIT_FORMS.get(c, ())) for c in word]
    out: list[Spelling] = []
    for combination in itertools.product(*choices):
        text = "".join(combination)
        if text != word:
            out.append(Spelling(text, "split"))
        if len(out) >= MAX_SPLIT_SPELLINGS:
            break
    return out


# --- the sound form of a text -----------------------------------------------------------------

_LETTERS = re.compile(r"[a-z]+")
_SPACES = re.compile(r"[ \t\u3000]+")
# Marks of positions in the sound form: a syllable spelt in Latin letters, in a run of
# Latin words that are all pinyin (or not: an English phrase).
_PINYIN = 1
_ENGLISH = 2


class SoundForm:
    """A normalised text as sounds: each Chinese character replaced by the stand-in of its
    first reading (the homophone form), each Latin word that is pinyin by its syllables'
    stand-ins, and the spaces beside those words dropped, so ``疫情``, ``易情``, ``yiqing``,
    ``yi qing`` and ``疫qing`` all read the same.

    A Latin word is only read as pinyin when every Latin word in its run of words (words
    with only spaces between them) is pinyin too: ``sq ft``, ``Li Wei said`` stay English."""

    __slots__ = ("_edits", "_marks", "_words", "codes", "source", "source_codes", "text")

    def __init__(
        self,
        source: str,
        text: str,
        edits: _EditMap | None,
        marks: bytearray | None,
        words: list[tuple[int, int, bool]],
        codes: npt.NDArray[np.uint32] | None = None,
        source_codes: npt.NDArray[np.uint32] | None = None,
    ) -> None:
        self.source = source
        self.text = text
        # The code points of ``text`` and of ``source``, where they were at hand.
        self.codes = codes
        self.source_codes = source_codes
        self._edits = edits
        self._marks = marks
        self._words = words  # (start, end, pinyin run) of Latin words not read as pinyin

    @property
    def spelt(self) -> bool:
        """Whether some Latin word was read as pinyin (positions moved)."""
        return self._edits is not None

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the normalised text that sound-form ``[start, end)`` came from."""
        return (start, end) if self._edits is None else self._edits.span(start, end)

    def judge(
        self, start: int, end: int, word: str, *, pinyin: bool, homophones: bool
    ) -> Kind | Literal["same"] | None:
        """What the hit ``[start, end)`` of ``word`` (normalised) is: ``"same"`` (the word
        as written), ``"homophone"``, ``"pinyin"``, or None if the group's options do not
        allow it."""
        marks = self._marks
        spelt = marks is not None and any(marks[start:end])
        if not spelt:
            s, e = self.source_span(start, end)
            return heard(self.source[s:e], word, homophones)
        assert marks is not None
        if not pinyin or _ENGLISH in marks[start:end]:
            return None
        if not homophones:
            # Chinese characters in a mixed hit must be the word's own.
            for i in range(end - start):
                if not marks[start + i]:
                    s, e = self.source_span(start + i, start + i + 1)
                    if e - s == 1 and is_cjk(self.source[s]) and self.source[s] != word[i]:
                        return None
        return "pinyin"

    def unspelt(
        self, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """The spans of the normalised text that sound-form spans came from, and whether
        each is clear of pinyin and as long as it was (so it is heard as written there)."""
        if self._edits is None or self._marks is None:
            return starts, ends, np.ones(starts.size, dtype=np.bool_)
        marked = np.zeros(len(self._marks) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self._marks, dtype=np.uint8) != 0, out=marked[1:])
        source_starts, source_ends = self._edits.spans(starts, ends)
        plain = (marked[ends] == marked[starts]) & (source_ends - source_starts == ends - starts)
        return source_starts, source_ends, plain

    def latin_words(self) -> list[tuple[int, int, bool]]:
        """The Latin words not read as pinyin, as ``(start, end, alone)`` in the normalised
        text; ``alone``: the other words of its run are all pinyin (so it may be initials)."""
        return self._words


def heard(written: str, word: str, homophones: bool) -> Literal["same", "homophone"] | None:
    """What ``written`` (sounding like ``word``) is: the word itself, a homophone (with
    ``homophones``: at least one character kept as written, so 易情 is 疫情 but two
    unrelated characters that happen to sound alike are not), or neither."""
    if written == word:
        return "same"
    if homophones and any(a == b for a, b in zip(written, word, strict=False)):
        return "homophone"
    return None


def sound_form(
    text: str, codes: npt.NDArray[np.uint32] | None = None, latin: bool = True
) -> SoundForm:
    """The :class:`SoundForm` of normalised ``text`` (whose code points are ``codes``, if
    at hand; ``latin=False``: the text is known to hold no Latin letter)."""
    if not text:
        return SoundForm(text, text, None, None, [])
    if codes is None:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    heard = _get().stand_in.take(codes)
    sounds = heard.tobytes().decode("utf-32-le", "surrogatepass")
    if not latin:
        return SoundForm(text, sounds, None, None, [], heard, codes)
    # Most texts have no Latin letter at all: told from the codes, not by the regex, which
    # then reads only from the first letter to the last (a few words in Chinese text).
    letters = ((codes - np.uint32(ord("a"))) < 26).nonzero()[0]
    if not letters.size:
        return SoundForm(text, sounds, None, None, [], heard, codes)
    tokens = [m.span() for m in _LETTERS.finditer(text, int(letters[0]), int(letters[-1]) + 1)]
    if not tokens:
        return SoundForm(text, sounds, None, None, [], heard, codes)
    # Runs of Latin words with only spaces between them.
    runs: list[list[int]] = []
    for k, (start, _) in enumerate(tokens):
        if k and _SPACES.fullmatch(text, tokens[k - 1][1], start):
            runs[-1].append(k)
        else:
            runs.append([k])
    spelt = [segment(text[a:b]) for a, b in tokens]
    replace: list[tuple[int, int, list[tuple[str, int]]]] = []  # in span -> (piece, mark)
    words: list[tuple[int, int, bool]] = []
    for run in runs:
        all_pinyin = all(spelt[k] is not None for k in run)
        mark = _PINYIN if all_pinyin else _ENGLISH
        for k in run:
            a, b = tokens[k]
            reading = spelt[k]
            if reading is None:
                words.append((a, b, sum(1 for j in run if spelt[j] is None) == 1))
                continue
            replace.append((a, b, [(s, mark) for s in reading]))
    if not replace:
        return SoundForm(text, sounds, None, None, words, heard, codes)
    # Spaces next to a word read as pinyin separate syllables: drop them.
    ending = {b for a, b, _ in replace}
    starting = {a for a, b, _ in replace}
    for m in _SPACES.finditer(text):
        a, b = m.span()
        before, after = a in ending, b in starting
        beside_cjk = (a > 0 and is_cjk(text[a - 1])) or (b < len(text) and is_cjk(text[b]))
        if (before and (after or beside_cjk)) or (after and (before or beside_cjk)):
            replace.append((a, b, []))
    replace.sort()
    edits = _EditMap()
    pieces: list[str] = []
    marks = bytearray()
    done = out = 0
    for a, b, spelt_out in replace:
        pieces.append(sounds[done:a])
        marks += bytes(a - done)
        out += a - done
        if not spelt_out:
            edits.add(out, out, a, b)
        at = a
        for syllable, mark in spelt_out:
            pieces.append(stand_in(syllable))
            marks.append(mark)
            edits.add(out, out + 1, at, at + len(syllable))
            at += len(syllable)
            out += 1
        done = b
    pieces.append(sounds[done:])
    marks += bytes(len(text) - done)
    return SoundForm(text, "".join(pieces), edits, marks, words, None, codes)

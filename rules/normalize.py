"""Text normaliser applied identically to keyword words and to crawled text.

The normal form of a string is, in order:

1. Ignorable characters removed: every format character (category ``Cf``: ZWSP, ZWJ, BOM,
   soft hyphen, bidi controls, tags ...) plus the invisible non-``Cf`` code points used to
   dodge filters: variation selectors, combining grapheme joiner, Hangul fillers, Khmer
   inherent vowels and Mongolian free variation selectors. This comes first so that the
   rest sees the text as displayed (``e``, ZWSP, U+0301 composes like ``e``, U+0301).
2. Unicode NFKC (full/half width, ligatures, circled forms ...), then ``str.casefold``, then
   NFKC again (casefolding can produce sequences NFKC would change, e.g. ``İ``); lone
   surrogates, which only undecodable input produces, become U+FFFD.
3. Traditional -> simplified Chinese, character by character: OpenCC ``t2s`` of each single
   character, repeated until it stops changing (薴 -> 苧 -> 苎). OpenCC's phrase-level
   conversion is deliberately not used: it depends on context, so a keyword and the same
   characters inside a sentence could convert differently; it does not map character for
   character; and it runs at about 34 MB/s, less than this whole module. Measured on the
   People's Daily corpus turned traditional (OpenCC ``s2t``), the two differ at 3 characters
   in 10,000, mostly 瞭/了, 覆/复, 藉/借, which are valid simplified characters as well.
4. Noise between CJK characters skipped: a run of 1 to ``MAX_NOISE_RUN`` *noise* characters
   with a CJK ideograph on both sides is deleted, so ``疫@情``, ``疫 情``, ``疫/情``, ``疫.情``,
   ``疫*情``, ``疫-情`` all become ``疫情``. A noise character is any character that is not
   alphanumeric (``str.isalnum``), not a CJK ideograph, not a line break and not one of the
   clause/sentence punctuation marks in ``BOUNDARY_PUNCTUATION`` (compared after NFKC, so
   ``，`` counts as ``,``): those separate clauses in ordinary text, and skipping them would
   glue the end of one clause to the start of the next (``看，法`` would contain ``看法``:
   at 10k keywords it adds 0.9% hits on the People's Daily corpus, all spurious in a sample).
   Longer runs are left alone as layout or decoration rather than one word split in two.
   Latin words are never joined, as the rule needs CJK on both sides: ``mac book`` stays.

Group options (:class:`View`) add passes, applied identically to words and text, each
keeping offsets: ``enclosed`` maps circled, parenthesised and full-stop forms of letters
and digits to the character itself before step 2 (NFKC would turn ``⒢`` into ``(g)``);
``noise`` chooses step 4's level (``off``; ``cjk``, the default described above; ``latin``
adds up to three symbols inside a Latin word, ``sp[]am``, and single letters spaced out,
``c o v i d``; ``brackets`` also skips bracket pairs and halves between ideographs,
``疫]情``); ``lookalikes`` maps digits, Cyrillic and Greek letters that look like Latin
letters inside Latin words (``c0vid``, Cyrillic ``а``); ``repeats`` collapses a run of one
repeated letter or ideograph to one (``spaaam``, ``疫疫情``) and keeps the run lengths, so a
word with a real double (``good``, ``谢谢``) only matches a run at least as long.
Where ``latin`` noise joins two letters the join still counts as a word boundary, so a
Latin word matches everything it matched before (``bar`` in ``foo/bar``).

Steps 2 and 3 are a per-character mapping except where combining marks or conjoining Hangul
jamo compose with the character before them; those short clusters go through
``unicodedata`` and everything else through numpy lookup tables built once per process:
on Chinese news text the whole normaliser runs about six times faster than
``unicodedata.normalize("NFKC", ...)`` alone. Offsets are kept
as sparse edit points (deleted characters, characters that change length, composed clusters,
skipped noise), so any span of the normal form maps back to the original text: the hit
``疫情`` in ``疫@情`` maps back to all three characters.
"""

from __future__ import annotations

import codecs
import re
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import opencc

__all__ = [
    "BOUNDARY_PUNCTUATION",
    "DEFAULT_VIEW",
    "MAX_NOISE_RUN",
    "NOISE_LEVELS",
    "NormalizedText",
    "View",
    "export_tables",
    "install_tables",
    "is_cjk",
    "is_word_char",
    "normalize",
    "normalize_many",
    "normalize_sounds_and_view",
    "normalize_sounds_view_default",
    "normalize_with_offsets",
]

MAX_NOISE_RUN = 3
"""Longest run of noise characters between two CJK ideographs that is skipped."""

BOUNDARY_PUNCTUATION = frozenset("。、,;:?!“”‘’()[]{}〔〕【】《》〈〉「」『』〖〗—")
"""Clause punctuation (in normal form) that is never skipped as noise."""

BRACKETS = frozenset("()[]{}〔〕【】《》〈〉「」『』〖〗")
"""Bracket pairs and halves the ``brackets`` noise level skips between ideographs."""

NoiseLevel = Literal["off", "cjk", "latin", "brackets"]
NOISE_LEVELS: tuple[NoiseLevel, ...] = ("off", "cjk", "latin", "brackets")


class View(NamedTuple):
    """Which text-side passes a group's words and the text go through (module docstring).

    The defaults are the default group options: ``enclosed`` costs next to nothing and finds
    no extra words in ordinary text (``bench/match.py``), so it is part of the normal form."""

    enclosed: bool = True
    noise: NoiseLevel = "cjk"
    lookalikes: bool = False
    repeats: bool = False


DEFAULT_VIEW = View()
"""The normal form without group options: what the stores index and rule words use."""

# Line breaks separate paragraphs in extracted text (the str.splitlines set).
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_OTHER_LINE_BREAK = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")

# Han ideographs: 〇, Extension A, URO, compatibility block, then Extensions B-H and the
# compatibility supplement (planes 2 and 3).
_CJK_RANGES = (
    (0x3007, 0x3007),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x323AF),
)

_EXTRA_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180D),  # Mongolian free variation selectors (U+180E is Cf)
    (0x180F, 0x180F),
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0100, 0xE01EF),  # variation selectors supplement
)

# Conjoining jamo that compose with a preceding jamo/syllable under NFC (L+V, LV+T).
_HANGUL_VOWELS = range(0x1161, 0x1176)
_HANGUL_TRAILS = range(0x11A8, 0x11C3)


# Below this many spans numpy's per-call overhead costs more than bisecting one by one.
_ARRAY_MIN_SPANS = 32

_Positions = npt.NDArray[np.int64]

# Flags kept above the 21 bits of a code point in the mapping table.
_CODE_POINT = np.uint32(0xFFFFFF)
_IGNORABLE = np.uint32(1 << 24)
_RESIZED = np.uint32(1 << 25)  # maps to other than exactly one character
_UNSAFE = np.uint32(1 << 26)  # may compose with, or reorder against, the character before it


def _range_text(lo: int, hi: int) -> str:
    return f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}"


def _class_body(code_points: Iterable[int]) -> str:
    """Regex character-class body (without brackets) for exactly the given code points."""
    parts: list[str] = []
    start = prev = -2
    for cp in sorted(code_points):
        if cp != prev + 1:
            if start >= 0:
                parts.append(_range_text(start, prev))
            start = cp
        prev = cp
    if start >= 0:
        parts.append(_range_text(start, prev))
    return "".join(parts)


_CJK_BODY = "".join(_range_text(lo, hi) for lo, hi in _CJK_RANGES)
_CJK_RE = re.compile(f"[{_CJK_BODY}]")


def is_cjk(char: str) -> bool:
    """True for a single CJK ideograph (the characters the noise rule joins)."""
    return _CJK_RE.match(char) is not None


def is_word_char(char: str) -> bool:
    """True if ``char`` belongs to a space-delimited word (a letter or digit, not CJK)."""
    return char.isalnum() and _CJK_RE.match(char) is None


@dataclass(frozen=True, slots=True)
class _Tables:
    # Code point -> code point of its one-character mapping | _IGNORABLE | _RESIZED |
    # _UNSAFE: one lookup gives both.
    mapping: npt.NDArray[np.uint32]
    resized: dict[str, str]
    t2s: dict[str, str]
    classes: npt.NDArray[np.uint8]  # code point -> _C_* bits (noise, CJK, letters ...)
    enclosed: dict[str, str]  # enclosed form -> what it encloses (before step 2)
    enclosed_re: re.Pattern[str]


def _build_tables() -> _Tables:
    # Unassigned and private-use code points are fixed by NFKC, casefold and t2s and are not
    # format characters, so only assigned ones need looking at.
    chars = [
        c for c in map(chr, range(0x110000)) if unicodedata.category(c) not in ("Cn", "Co", "Cs")
    ]
    ignorable = {c for c in chars if unicodedata.category(c) == "Cf"}
    for lo, hi in _EXTRA_IGNORABLE_RANGES:
        ignorable.update(map(chr, range(lo, hi + 1)))

    # Second characters of canonical pairs: these compose with the character before them.
    second: set[int] = {*_HANGUL_VOWELS, *_HANGUL_TRAILS}
    for c in chars:
        decomposition = unicodedata.decomposition(c).split()
        if len(decomposition) == 2 and not decomposition[0].startswith("<"):
            second.add(int(decomposition[1], 16))

    def leads_unsafe(text: str) -> bool:
        head = unicodedata.normalize("NFKD", text)[:1]
        return bool(head) and (unicodedata.combining(head) != 0 or ord(head) in second)

    t2s = _single_char_t2s(chars)
    mapping = np.arange(0x110000, dtype=np.uint32)
    # Lone surrogates (undecodable input) cannot be encoded as UTF-8 or UTF-16.
    mapping[0xD800:0xE000] = 0xFFFD
    kinds = np.zeros(0x110000, dtype=np.uint32)
    resized: dict[str, str] = {}
    for c in chars:
        if c in ignorable:
            kinds[ord(c)] = _IGNORABLE
            continue
        fold = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", c).casefold())
        if leads_unsafe(c) or leads_unsafe(fold):
            kinds[ord(c)] |= _UNSAFE
        mapped = "".join(t2s.get(x, x) for x in fold)
        if not ignorable.isdisjoint(mapped):
            raise RuntimeError(f"U+{ord(c):04X} maps to an ignorable character")
        if len(mapped) == 1:
            mapping[ord(c)] = ord(mapped)
        else:
            kinds[ord(c)] |= _RESIZED
            resized[c] = mapped

    # Alphanumerics outside the BMP are left out: the re module tests astral ranges one by
    # one for every character, so they are rejected in _skip_noise instead.
    enclosed = _enclosed_forms(chars)
    return _Tables(
        mapping | kinds,
        resized,
        t2s,
        _classes(chars, enclosed),
        enclosed,
        re.compile(f"[{_class_body(map(ord, enclosed))}]"),
    )


# Bits of the character class table: one numpy lookup classifies a whole text for the
# noise, repeat and Latin passes, which a regex would do character by character.
_C_NOISE = 1  # skipped between ideographs (step 4)
_C_BRACKET = 2  # skipped between ideographs at the ``brackets`` level
_C_CJK = 4
_C_LETTER = 8  # a letter or ideograph (a repeat of one collapses)
_C_LATIN = 16  # a letter of a space-delimited script (Latin, Greek, Cyrillic)
_C_ENCLOSED = 32


def _classes(chars: list[str], enclosed: dict[str, str]) -> npt.NDArray[np.uint8]:
    classes = np.full(0x110000, _C_NOISE, dtype=np.uint8)  # unassigned ones are noise too
    for c in chars:
        if c.isalnum():
            classes[ord(c)] = _C_LETTER if c.isalpha() else 0
    for c in BOUNDARY_PUNCTUATION | _LINE_BREAKS:
        classes[ord(c)] = 0
    for c in BRACKETS:
        classes[ord(c)] = _C_BRACKET
    for lo, hi in _CJK_RANGES:
        classes[lo : hi + 1] = _C_CJK | _C_LETTER
    for lo, hi in ((0x61, 0x7A), (0xDF, 0xF6), (0xF8, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF)):
        classes[lo : hi + 1] |= _C_LATIN
    for c in enclosed:
        classes[ord(c)] |= _C_ENCLOSED
    return classes


# Blocks of enclosed letters and digits: Enclosed Alphanumerics, Dingbats (circled digits),
# Enclosed CJK Letters and Months, Enclosed Alphanumeric Supplement.
_ENCLOSED_BLOCKS = ((0x2460, 0x24FF), (0x2776, 0x2793), (0x3200, 0x32FF), (0x1F100, 0x1F1FF))
_ENCLOSING = re.compile(r"\b(CIRCLED|PARENTHESIZED|FULL STOP|SQUARED|NEGATIVE)\b")
_NAMED_DIGITS = {
    name: str(n)
    for n, name in enumerate(
        "ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN ELEVEN TWELVE THIRTEEN FOURTEEN "
        "FIFTEEN SIXTEEN SEVENTEEN EIGHTEEN NINETEEN TWENTY".split()
    )
}
_NAMED_LETTER = re.compile(r"LATIN (?:CAPITAL|SMALL) LETTER ([A-Z])$")
_NAMED_NUMBER = re.compile(r"(?:DIGIT|NUMBER) ([A-Z]+)$")


def _enclosed_forms(chars: list[str]) -> dict[str, str]:
    """Enclosed letters, digits and ideographs -> the character(s) they enclose.

    NFKC already opens circled forms (``Ⓓ`` -> ``D``) but writes parenthesised and
    full-stop forms with their brackets and dot (``⒢`` -> ``(g)``, ``⒈`` -> ``1.``), and
    leaves negative and squared forms (``🅰``, ``❶``) alone: those come from the name."""
    found: dict[str, str] = {}
    for c in chars:
        if not any(lo <= ord(c) <= hi for lo, hi in _ENCLOSED_BLOCKS):
            continue
        name = unicodedata.name(c, "")
        if not _ENCLOSING.search(name):
            continue
        inner = unicodedata.normalize("NFKC", c).strip("().,")
        if inner == c or not inner:
            letter, number = _NAMED_LETTER.search(name), _NAMED_NUMBER.search(name)
            if letter:
                inner = letter.group(1)
            elif number and number.group(1) in _NAMED_DIGITS:
                inner = _NAMED_DIGITS[number.group(1)]
            else:
                continue
        if inner.isalnum() and len(inner) <= 2:
            found[c] = inner
    return found


def _single_char_t2s(chars: list[str]) -> dict[str, str]:
    """OpenCC t2s of each character on its own, repeated until nothing changes.

    Repeating matters for chains such as 薴 -> 苧 -> 苎, which would otherwise make the
    normaliser non-idempotent.
    """
    sources = [c for c in chars if c != "\n"]
    # One call over all characters, newline separated: no OpenCC entry spans a newline, so
    # each character converts exactly as it would in a call of its own.
    converted = opencc.OpenCC("t2s").convert("\n".join(sources)).split("\n")
    if len(converted) != len(sources):
        raise RuntimeError("OpenCC t2s did not convert character by character")
    step = {src: dst for src, dst in zip(sources, converted, strict=True) if src != dst}
    result: dict[str, str] = {}
    for src, dst in step.items():
        while (following := "".join(step.get(c, c) for c in dst)) != dst:
            dst = following
        result[src] = dst
    return result


_tables: _Tables | None = None
_tables_lock = threading.Lock()


def _get_tables() -> _Tables:
    # Building scans every code point (about 0.4 s), so it happens once, on first use, unless
    # a process installed tables kept from an earlier one (install_tables).
    global _tables
    if _tables is None:
        with _tables_lock:
            if _tables is None:
                _tables = _build_tables()
    return _tables


def export_tables() -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """The normaliser's tables as arrays and JSON data, for a process to keep (this module
    does no I/O: :mod:`yuqing.tablecache` keeps them on disk, keyed by this module's
    source, so tables of other code are never installed)."""
    t = _get_tables()
    arrays: dict[str, npt.NDArray[Any]] = {"mapping": t.mapping, "classes": t.classes}
    data: dict[str, Any] = {"resized": t.resized, "t2s": t.t2s, "enclosed": t.enclosed,
            "enclosed_re": t.enclosed_re.pattern}  # fmt: skip
    return arrays, data


def install_tables(arrays: dict[str, npt.NDArray[Any]], data: dict[str, Any]) -> None:
    """Use tables that :func:`export_tables` gave (in an earlier process, by the same code)
    instead of building them."""
    global _tables
    tables = _Tables(
        arrays["mapping"].astype(np.uint32, copy=False),
        data["resized"],
        data["t2s"],
        arrays["classes"].astype(np.uint8, copy=False),
        data["enclosed"],
        re.compile(data["enclosed_re"]),
    )
    with _tables_lock:
        _tables = tables


class _EditMap:
    """Sparse map from output positions of one rewriting pass back to its input positions.

    Each edit says output ``[out_start, out_end)`` came from input ``[in_start, in_end)``;
    between edits the text is copied, shifted by the length change of the edits before.
    """

    __slots__ = ("_arrays", "in_end", "in_start", "out_end", "out_start")

    def __init__(self) -> None:
        self.out_start: list[int] = []
        self.out_end: list[int] = []
        self.in_start: list[int] = []
        self.in_end: list[int] = []
        self._arrays: tuple[_Positions, ...] | None = None

    def add(self, out_start: int, out_end: int, in_start: int, in_end: int) -> None:
        self.out_start.append(out_start)
        self.out_end.append(out_end)
        self.in_start.append(in_start)
        self.in_end.append(in_end)
        self._arrays = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        # A span starts where its first character's input starts and ends where its last
        # character's input ends; a character produced by an edit maps to the whole edit.
        k = bisect_right(self.out_start, start) - 1
        if k >= 0:
            if start < self.out_end[k]:
                start = self.in_start[k]
            else:
                start += self.in_end[k] - self.out_end[k]
        k = bisect_right(self.out_start, end - 1) - 1
        if k >= 0:
            if end - 1 < self.out_end[k]:
                end = self.in_end[k]
            else:
                end += self.in_end[k] - self.out_end[k]
        return start, end

    def forward(self, start: int, end: int) -> tuple[int, int]:
        """The output span an input span became (the inverse of ``span``); a span that was
        deleted becomes an empty span where it was."""
        k = bisect_right(self.in_start, start) - 1
        if k >= 0:
            start = (
                self.out_start[k]
                if start < self.in_end[k]
                else start + self.out_end[k] - self.in_end[k]
            )
        k = bisect_right(self.in_start, end - 1) - 1
        if k >= 0:
            end = (
                self.out_end[k]
                if end - 1 < self.in_end[k]
                else end + self.out_end[k] - self.in_end[k]
            )
        return start, max(start, end)

    def spans(self, starts: _Positions, ends: _Positions) -> tuple[_Positions, _Positions]:
        """``span`` of many spans at once, the same arithmetic on arrays."""
        arrays = self._arrays
        if arrays is None:
            # Made once per map (a map may serve several views of a text). A first edit
            # before every position stands for "no edit before": it shifts by nothing.
            before = -(1 << 62)
            out_start, out_end, in_start, in_end = (
                np.array([before, *v], dtype=np.int64)
                for v in (self.out_start, self.out_end, self.in_start, self.in_end)
            )
            arrays = self._arrays = (out_start, out_end, in_start, in_end - out_end)
        out_start, out_end, in_start, shift = arrays
        k = np.searchsorted(out_start, starts, side="right") - 1
        mapped_starts = np.where(starts < out_end[k], in_start[k], starts + shift[k])
        k = np.searchsorted(out_start, ends - 1, side="right") - 1
        # in_end[k] is out_end[k] + shift[k].
        mapped_ends = np.where(ends - 1 < out_end[k], out_end[k], ends) + shift[k]
        return mapped_starts, mapped_ends


_NO_JOINS: frozenset[int] = frozenset()
_NO_RUNS: dict[int, int] = {}


class NormalizedText:
    """A normalised text and the means to map its spans back to the original (read-only).

    ``joins`` are the positions where ``latin`` noise joined two letters (a Latin word may
    start or end there); ``runs`` maps the position of each collapsed repeat (``repeats``)
    to how many characters it stood for."""

    # A plain class: a frozen dataclass's __init__ costs a noticeable share of a short scan.
    __slots__ = ("_maps", "codes", "joins", "latin", "runs", "text")

    def __init__(
        self,
        text: str,
        maps: tuple[_EditMap, ...],
        joins: frozenset[int] = _NO_JOINS,
        runs: dict[int, int] = _NO_RUNS,
        codes: npt.NDArray[np.uint32] | None = None,
        latin: bool = True,
    ) -> None:
        self.text = text
        self._maps = maps  # last pass first
        self.joins = joins
        self.runs = runs
        # The code points of ``text`` where the passes had them (read only), else None: the
        # sound form reads them rather than encoding the text again.
        self.codes = codes
        # False where the passes found no letter of a space-delimited script (most Chinese
        # text): the sound form need not look for Latin words. True: there may be some.
        self.latin = latin

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering normal-form ``[start, end)`` (``start < end``)."""
        for edit_map in self._maps:
            start, end = edit_map.span(start, end)
        return start, end

    def locate(self, start: int, end: int) -> tuple[int, int]:
        """The normal-form span of original ``[start, end)`` (the inverse of ``span``)."""
        for edit_map in reversed(self._maps):
            start, end = edit_map.forward(start, end)
        return start, end

    def spans(self, starts: list[int], ends: list[int]) -> tuple[list[int], list[int]]:
        """``span`` of many spans at once (faster than a loop for more than a few)."""
        if not self._maps:
            return starts, ends
        if len(starts) < _ARRAY_MIN_SPANS:
            pairs = [self.span(s, e) for s, e in zip(starts, ends, strict=True)]
            return [s for s, _ in pairs], [e for _, e in pairs]
        start_array = np.array(starts, dtype=np.int64)
        end_array = np.array(ends, dtype=np.int64)
        for edit_map in self._maps:
            start_array, end_array = edit_map.spans(start_array, end_array)
        return start_array.tolist(), end_array.tolist()

    def spans_of(self, starts: _Positions, ends: _Positions) -> tuple[list[int], list[int]]:
        """:meth:`spans` of spans given as arrays (as found in bulk): not made lists only
        to be made arrays again."""
        if not self._maps:
            return starts.tolist(), ends.tolist()
        if starts.size < _ARRAY_MIN_SPANS:
            return self.spans(starts.tolist(), ends.tolist())
        for edit_map in self._maps:
            starts, ends = edit_map.spans(starts, ends)
        return starts.tolist(), ends.tolist()


def _codes(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(codecs.utf_32_le_encode(text, "surrogatepass")[0], dtype=np.uint32)


def _text(codes: npt.NDArray[np.uint32]) -> str:
    return codecs.utf_32_le_decode(codes.tobytes(), "surrogatepass")[0]


def _map_cluster(cluster: str, t: _Tables) -> str:
    composed = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", cluster).casefold())
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else t.t2s.get(c, c) for c in composed)


def _map_chars(
    text: str, codes: npt.NDArray[np.uint32], t: _Tables, maps: list[_EditMap]
) -> tuple[str, npt.NDArray[np.uint32] | None]:
    """Steps 1-3 of the module docstring, of ``text`` and its ``codes``: the result and,
    in the common case where each character maps to one, its codes."""
    looked_up = t.mapping.take(codes)
    try:
        # The common case: nothing to delete, resize or compose. A flagged value lies past
        # the last code point, so the strict decoder rejects it; this costs no extra pass.
        return codecs.utf_32_le_decode(looked_up.tobytes(), "strict")[0], looked_up
    except UnicodeDecodeError:
        kinds = looked_up & ~_CODE_POINT

    ignorable = (kinds & _IGNORABLE).nonzero()[0]
    if ignorable.size:
        deleted = _EditMap()
        for count, pos in enumerate(ignorable.tolist()):
            deleted.add(pos - count, pos - count, pos, pos + 1)
        maps.append(deleted)
        codes = np.delete(codes, ignorable)
        looked_up = np.delete(looked_up, ignorable)
        kinds = np.delete(kinds, ignorable)
        text = _text(codes)
    mapped = _text(looked_up & _CODE_POINT)
    special = kinds.nonzero()[0]
    if not special.size:
        return mapped, None

    # Replacements (start, end, new text) for resized characters and composing clusters.
    replacements: list[tuple[int, int, str]] = []
    positions = special.tolist()
    unsafe = (kinds[special] & _UNSAFE).tolist()
    i = 0
    while i < len(positions):
        pos = positions[i]
        i += 1
        if not unsafe[i - 1]:
            replacements.append((pos, pos + 1, t.resized[text[pos]]))
            continue
        # The character before an unsafe run is never unsafe (it would be in the run).
        start = max(pos - 1, 0)
        if replacements and replacements[-1][0] == start:
            replacements.pop()  # a resized character heads this cluster
        end = pos + 1
        while i < len(positions) and positions[i] == end and unsafe[i]:
            end += 1
            i += 1
        replacements.append((start, end, _map_cluster(text[start:end], t)))

    # Positions inside a replacement are not meaningful: it maps back as one unit.
    edits = _EditMap()
    pieces: list[str] = []
    done = growth = 0
    for start, end, new in replacements:
        pieces += (mapped[done:start], new)
        edits.add(start + growth, start + growth + len(new), start, end)
        growth += len(new) - (end - start)
        done = end
    pieces.append(mapped[done:])
    maps.append(edits)
    return "".join(pieces), None


def _skip_noise(
    text: str,
    codes: npt.NDArray[np.uint32],
    noise: int,
    t: _Tables,
    maps: list[_EditMap],
    classes: npt.NDArray[np.uint8] | None = None,
) -> str:
    """Step 4 of the module docstring; ``noise`` is the class bits counted as noise;
    ``classes``, if given, are those of ``codes``."""
    if classes is None:
        classes = t.classes.take(codes)
    where = (classes & noise).nonzero()[0].tolist()
    if not where:
        return text
    # Runs of noise of at most MAX_NOISE_RUN with an ideograph on both sides (a handful per
    # text: plain Python beats numpy's per-call cost here).
    runs: list[tuple[int, int]] = []
    size = len(text)
    kinds = classes.tobytes()  # indexed as ints: numpy's scalars cost more
    start = end = where[0]
    for pos in [*where[1:], -1]:
        end += 1
        if pos == end:
            continue
        if (
            start
            and end < size
            and end - start <= MAX_NOISE_RUN
            and kinds[start - 1] & _C_CJK
            and kinds[end] & _C_CJK
        ):
            runs.append((start, end))
        start = end = pos
    if not runs:
        return text
    edits = _EditMap()
    pieces: list[str] = []
    done = removed = 0
    for start, end in runs:
        pieces.append(text[done:start])
        edits.add(start - removed, start - removed, start, end)
        removed += end - start
        done = end
    pieces.append(text[done:])
    maps.append(edits)
    return "".join(pieces)


def _open_enclosed(
    text: str, codes: npt.NDArray[np.uint32], t: _Tables, maps: list[_EditMap]
) -> str:
    """``enclosed``: each enclosed form becomes what it encloses (``⑽`` -> ``10``)."""
    if not (t.classes.take(codes) & _C_ENCLOSED).any():
        return text
    edits = _EditMap()
    pieces: list[str] = []
    done = growth = 0
    for m in t.enclosed_re.finditer(text):
        start = m.start()
        new = t.enclosed[m.group()]
        pieces += (text[done:start], new)
        if len(new) != 1:
            edits.add(start + growth, start + growth + len(new), start, start + 1)
            growth += len(new) - 1
        done = start + 1
    pieces.append(text[done:])
    if edits.out_start:
        maps.append(edits)
    return "".join(pieces)


# Letters of space-delimited scripts after casefolding: Latin, Greek, Cyrillic.
_LATIN = "a-z\u00df-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff"
# Lookalike digits and symbols that stand for letters (``lookalikes``): a Latin word may
# be written with them, so they neither split it as noise nor end it.
_LOOKALIKE_DIGITS = "013456789"
_LOOKALIKE_SYMBOLS = "@$"
# ``latin`` noise: up to three symbols between two letters (clause punctuation, spaces and
# line breaks excepted), and single letters spaced out (``c o v i d``, three or more).
_NOISE_RUN = f"(?:[^\\w\\s,;:?!。、{re.escape(_LOOKALIKE_SYMBOLS)}]|_){{1,{MAX_NOISE_RUN}}}"
# Each pattern begins with the letter (or digit) before the noise, not a lookbehind, so
# the search skips to the few letters of Chinese text by their first character; the noise
# is group 1. The same matches as with a lookbehind: that character is never noise.
_LATIN_NOISE = {
    False: re.compile(
        f"[{_LATIN}]({_NOISE_RUN.replace(re.escape(_LOOKALIKE_SYMBOLS), '')})(?=[{_LATIN}])"
    ),
    # With lookalikes a digit may stand for a letter, but one side must be a letter: 3.14
    # stays a number.
    True: re.compile(
        f"[{_LATIN}{_LOOKALIKE_DIGITS}]"
        f"(?:(?<=[{_LATIN}])(?={_NOISE_RUN}[{_LATIN}{_LOOKALIKE_DIGITS}])"
        f"|(?<=[{_LOOKALIKE_DIGITS}])(?={_NOISE_RUN}[{_LATIN}]))"
        f"({_NOISE_RUN})"
    ),
}
# The first letter, then (looking behind it) what comes before it: not a letter or digit.
_SPACED_LETTERS = re.compile(f"[{_LATIN}](?<![{_LATIN}\\d].)(?: [{_LATIN}]){{2,}}(?![{_LATIN}\\d])")


_LATIN_LETTER = re.compile(f"[{_LATIN}]")


def _latin_range(text: str, t: _Tables) -> tuple[int, int] | None:
    """From the first to past the last Latin letter of ``text`` (None if it has none): the
    Latin passes need not read the Chinese around."""
    first = _LATIN_LETTER.search(text)
    if first is None:
        return None
    last = _LATIN_LETTER.search(text[::-1])
    assert last is not None
    return first.start(), len(text) - last.start()


def _latin_noise(text: str, lookalikes: bool, lo: int, hi: int) -> list[tuple[int, int]]:
    """The spans of ``latin`` noise in ``text[lo:hi]`` (the letter before may precede
    ``lo``, as a lookbehind would see it)."""
    return [m.span(1) for m in _LATIN_NOISE[lookalikes].finditer(text, max(lo - 1, 0), hi)]


def _join_latin(
    text: str,
    lookalikes: bool,
    t: _Tables,
    maps: list[_EditMap],
    where: tuple[int, int] | None = None,
) -> tuple[str, frozenset[int]]:
    """``latin`` noise: the symbols inside Latin words and the spaces between spaced-out
    letters removed; returns the text and the positions where letters were joined.
    ``where``: :func:`_latin_range` of ``text``, if known."""
    if where is None:
        where = _latin_range(text, t)
    if where is None:
        return text, _NO_JOINS
    lo, hi = where
    deleted = _latin_noise(text, lookalikes, lo, hi)
    for m in _SPACED_LETTERS.finditer(text, lo, hi):
        deleted += [(p, p + 1) for p in range(m.start() + 1, m.end(), 2)]
    if not deleted:
        return text, _NO_JOINS
    deleted.sort()
    edits = _EditMap()
    pieces: list[str] = []
    joins: list[int] = []
    done = removed = 0
    for start, end in deleted:
        pieces.append(text[done:start])
        out = start - removed
        edits.add(out, out, start, end)
        removed += end - start
        joins.append(out)
        done = end
    pieces.append(text[done:])
    maps.append(edits)
    return "".join(pieces), frozenset(joins)


_LOOKALIKE = str.maketrans(
    {
        **dict(zip("01345789@$", "oleastbgas", strict=True)),
        "6": "b",
        "i": "l",
        "ı": "l",
        "ɡ": "g",
        # Cyrillic
        **dict(zip("авеёкмнорстухѕіїјԁһԛԝ", "abeekmhopctyxslljdhqw", strict=True)),
        # Greek
        **dict(zip("αβγεηικνορτυχω", "abyenlkvoptuxw", strict=True)),
    }
)
_LOOKALIKE_WORD = re.compile(f"[0-9{_LATIN}]+(?:[{re.escape(_LOOKALIKE_SYMBOLS)}][0-9{_LATIN}]+)*")
_HAS_LETTER = re.compile(f"[{_LATIN}]")


def _lookalike(m: re.Match[str]) -> str:
    word = m.group()
    return word.translate(_LOOKALIKE) if _HAS_LETTER.search(word) else word


def _map_lookalikes(text: str, t: _Tables, where: tuple[int, int] | None = None) -> str:
    """``lookalikes``: inside every Latin word (a run of letters and digits with at least
    one letter), each look-alike becomes the letter it imitates; character for character,
    so offsets do not move. ``0``/``o``, ``1``/``l``/``i`` and friends become one letter, so
    words and text compare equal whichever was written. ``where``: :func:`_latin_range`
    of ``text``, if known."""
    if where is None:
        where = _latin_range(text, t)
    if where is None:
        return text
    lo, hi = where
    # A Latin word may begin with a look-alike digit just before the first letter.
    while lo and text[lo - 1] in _LOOKALIKE_DIGITS:
        lo -= 1
    while hi < len(text) and text[hi] in _LOOKALIKE_DIGITS:
        hi += 1
    return text[:lo] + _LOOKALIKE_WORD.sub(_lookalike, text[lo:hi]) + text[hi:]


def _collapse(
    text: str,
    joins: frozenset[int],
    t: _Tables,
    maps: list[_EditMap],
    codes: npt.NDArray[np.uint32] | None = None,
) -> tuple[str, frozenset[int], dict[int, int]]:
    """``repeats``: each run of one repeated letter or ideograph becomes one character;
    returns the text, the joins moved along, and run lengths by position (``codes``: those
    of ``text``, if at hand)."""
    if codes is None:
        codes = _codes(text)
    # Positions followed by the same character (a handful: classified one by one).
    same = (codes[1:] == codes[:-1]).nonzero()[0]
    if not same.size:
        return text, joins, _NO_RUNS
    same = same[(t.classes.take(codes[same]) & _C_LETTER) != 0]
    if not same.size:
        return text, joins, _NO_RUNS
    # A run is a character followed by repeats of it.
    run_starts: list[int] = []
    run_ends: list[int] = []
    for pos in same.tolist():
        if run_ends and run_ends[-1] == pos + 1:
            run_ends[-1] = pos + 2
        else:
            run_starts.append(pos)
            run_ends.append(pos + 2)
    edits = _EditMap()
    pieces: list[str] = []
    runs: dict[int, int] = {}
    done = removed = 0
    moved = sorted(joins)
    shifted: list[int] = []
    k = 0
    for start, end in zip(run_starts, run_ends, strict=True):
        while k < len(moved) and moved[k] <= start:
            shifted.append(moved[k] - removed)
            k += 1
        while k < len(moved) and moved[k] < end:
            k += 1  # a join inside a run is gone with the run
        pieces += (text[done:start], text[start])
        out = start - removed
        edits.add(out, out + 1, start, end)
        runs[out] = end - start
        removed += end - start - 1
        done = end
    shifted += [j - removed for j in moved[k:]]
    pieces.append(text[done:])
    maps.append(edits)
    return "".join(pieces), frozenset(shifted) if shifted else _NO_JOINS, runs


def normalize_with_offsets(text: str, view: View = DEFAULT_VIEW) -> NormalizedText:
    """Normalise ``text`` (as the words of a group with ``view``'s options are), keeping
    what is needed to map spans back to ``text``."""
    maps: list[_EditMap] = []
    result = _common_passes(text, view, maps)
    return _latin_passes(result, view, maps)


def normalize_sounds_and_view(text: str, view: View) -> tuple[NormalizedText, NormalizedText]:
    """``text`` normalised with ``view`` without its ``lookalikes`` and ``repeats`` (the
    view sounds are read in) and with ``view`` itself, each exactly as
    :func:`normalize_with_offsets` gives it, the passes they share run once."""
    sounds, viewed, _ = normalize_sounds_view_default(text, view)
    return sounds, viewed


def normalize_sounds_view_default(
    text: str, view: View
) -> tuple[NormalizedText, NormalizedText, Callable[[], NormalizedText]]:
    """:func:`normalize_sounds_and_view`, and a function that gives ``text`` in the
    default normal form (as :func:`normalize_with_offsets` does) when first asked, reusing
    the passes the views share with it (NEAR counts in that form, but only some texts are
    looked at by a NEAR rule)."""
    t = _get_tables()
    char_maps: list[_EditMap] = []
    chars, mapped = _char_passes(text, view, char_maps)
    maps = list(char_maps)
    # The classes of the characters, for both noise passes (this view's and the default's).
    classes: npt.NDArray[np.uint8] | None = None
    if chars and _noise_bits(view.noise):
        classes = t.classes.take(_codes(chars) if mapped is None else mapped)
    result = _noise_pass(chars, mapped, view.noise, t, maps, classes)
    sound_view = view._replace(lookalikes=False, repeats=False)
    # Noise skipping only deletes: no letter in its classes, none in its result.
    # The Latin letters' range, found once for the views' Latin passes.
    where = _latin_range(result, t) if classes is None or bool((classes & _C_LATIN).any()) else None
    latin = where is not None
    # The code points of the text both views start from, for the repeats pass and the
    # sound form: the mapped ones if noise skipping deleted nothing, else encoded once.
    codes = mapped if result is chars and mapped is not None else _codes(result)
    sounds = _latin_passes(result, sound_view, maps, latin, where, codes)
    viewed = (
        sounds if sound_view == view else _latin_passes(result, view, maps, latin, where, codes)
    )
    default = DEFAULT_VIEW
    if view.enclosed != default.enclosed:
        return sounds, viewed, partial(normalize_with_offsets, text)
    if _noise_bits(view.noise) == _noise_bits(default.noise):
        # The same passes up to the Latin ones, which the default view has none of.
        return sounds, viewed, partial(_latin_passes, result, default, maps, latin, where)

    def make_default() -> NormalizedText:
        default_maps = list(char_maps)
        common = _noise_pass(chars, mapped, default.noise, t, default_maps, classes)
        return _latin_passes(common, default, default_maps)

    return sounds, viewed, make_default


def _common_passes(text: str, view: View, maps: list[_EditMap]) -> str:
    """Enclosed forms, steps 1-3 and noise between ideographs: the passes that do not
    depend on ``lookalikes`` or ``repeats``."""
    result, mapped = _char_passes(text, view, maps)
    return _noise_pass(result, mapped, view.noise, _get_tables(), maps)


def _char_passes(
    text: str, view: View, maps: list[_EditMap]
) -> tuple[str, npt.NDArray[np.uint32] | None]:
    """Enclosed forms and steps 1-3: the result and, if :func:`_map_chars` gave them, its
    codes."""
    t = _get_tables()
    codes = _codes(text)  # encoded once, reused while the text does not change
    if view.enclosed:
        opened = _open_enclosed(text, codes, t, maps)
        if opened is not text:
            text, codes = opened, _codes(opened)
    return _map_chars(text, codes, t, maps)


def _noise_bits(noise: NoiseLevel) -> int:
    if noise == "off":
        return 0
    return _C_NOISE | _C_BRACKET if noise == "brackets" else _C_NOISE


def _noise_pass(
    result: str,
    mapped: npt.NDArray[np.uint32] | None,
    noise: NoiseLevel,
    t: _Tables,
    maps: list[_EditMap],
    classes: npt.NDArray[np.uint8] | None = None,
) -> str:
    """Noise between ideographs (step 4) after :func:`_char_passes` (whose character
    ``classes`` may be given)."""
    bits = _noise_bits(noise)
    if bits and result:
        codes = _codes(result) if mapped is None else mapped
        result = _skip_noise(result, codes, bits, t, maps, classes)
    return result


def _latin_passes(
    result: str,
    view: View,
    common: list[_EditMap],
    latin: bool = True,
    where: tuple[int, int] | None = None,
    codes: npt.NDArray[np.uint32] | None = None,
) -> NormalizedText:
    """Noise inside Latin words, ``lookalikes`` and ``repeats`` after
    :func:`_common_passes` (whose ``common`` maps are left as they are); ``latin=False``
    says the text has no letter of a space-delimited script (the first two passes would
    change nothing); ``where``, if given, is :func:`_latin_range` of ``result``, ``codes``
    its code points."""
    t = _get_tables()
    maps = list(common)
    joins = _NO_JOINS
    before = result
    if latin and (view.noise == "latin" or view.noise == "brackets"):
        result, joins = _join_latin(result, view.lookalikes, t, maps, where)
    if latin and view.lookalikes:
        if result is not before and where is not None:
            # Joining deletes between letters, never a letter: the range moves along.
            where = maps[-1].forward(*where)
        result = _map_lookalikes(result, t, where)
    runs = _NO_RUNS
    if result is not before:
        codes = None  # the Latin passes changed the text
    if view.repeats and result:
        collapsed, joins, runs = _collapse(result, joins, t, maps, codes)
        if collapsed is not result:
            result, codes = collapsed, None
    maps.reverse()
    return NormalizedText(result, tuple(maps), joins, runs, codes, latin)


def normalize_many(texts: list[str], view: View = DEFAULT_VIEW) -> list[tuple[str, dict[int, int]]]:
    """The normal form and repeat runs of each of many short texts (keywords), in one pass:
    one call per text costs more than the work on a keyword. Texts are joined by line
    breaks, which no pass looks across."""
    if not texts:
        return []
    joined = "\n".join(texts)
    if _OTHER_LINE_BREAK.search(joined) or joined.count("\n") != len(texts) - 1:
        return [(n.text, n.runs) for n in (normalize_with_offsets(t, view) for t in texts)]
    whole = normalize_with_offsets(joined, view)
    parts = whole.text.split("\n")
    if len(parts) != len(texts):  # cannot happen: nothing removes or adds line breaks
        raise RuntimeError("normalising a batch changed its line breaks")
    if not whole.runs:
        return [(p, _NO_RUNS) for p in parts]
    out: list[tuple[str, dict[int, int]]] = []
    at = 0
    positions = sorted(whole.runs)
    k = 0
    for part in parts:
        runs: dict[int, int] = {}
        while k < len(positions) and positions[k] < at + len(part):
            runs[positions[k] - at] = whole.runs[positions[k]]
            k += 1
        out.append((part, runs or _NO_RUNS))
        at += len(part) + 1
    return out


def normalize(text: str, view: View = DEFAULT_VIEW) -> str:
    """Normal form of ``text`` (see the module docstring for the exact rules)."""
    return normalize_with_offsets(text, view).text

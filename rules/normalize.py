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
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import opencc

__all__ = [
    "BOUNDARY_PUNCTUATION",
    "MAX_NOISE_RUN",
    "NormalizedText",
    "is_cjk",
    "is_word_char",
    "normalize",
    "normalize_with_offsets",
]

MAX_NOISE_RUN = 3
"""Longest run of noise characters between two CJK ideographs that is skipped."""

BOUNDARY_PUNCTUATION = frozenset("。、,;:?!“”‘’()[]{}〔〕【】《》〈〉「」『』〖〗—")
"""Clause punctuation (in normal form) that is never skipped as noise."""

# Line breaks separate paragraphs in extracted text (the str.splitlines set).
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")

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
    noise_re: re.Pattern[str]


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
    not_noise = _class_body(
        {ord(c) for c in chars if c < "\U00010000" and c.isalnum()}
        | {ord(c) for c in BOUNDARY_PUNCTUATION | _LINE_BREAKS}
    )
    noise = f"[^{not_noise}{_CJK_BODY}]{{1,{MAX_NOISE_RUN}}}(?=[{_CJK_BODY}])"
    return _Tables(mapping | kinds, resized, t2s, re.compile(noise))


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
    # Building scans every code point (about a second), so it happens once, on first use.
    global _tables
    if _tables is None:
        with _tables_lock:
            if _tables is None:
                _tables = _build_tables()
    return _tables


class _EditMap:
    """Sparse map from output positions of one rewriting pass back to its input positions.

    Each edit says output ``[out_start, out_end)`` came from input ``[in_start, in_end)``;
    between edits the text is copied, shifted by the length change of the edits before.
    """

    __slots__ = ("in_end", "in_start", "out_end", "out_start")

    def __init__(self) -> None:
        self.out_start: list[int] = []
        self.out_end: list[int] = []
        self.in_start: list[int] = []
        self.in_end: list[int] = []

    def add(self, out_start: int, out_end: int, in_start: int, in_end: int) -> None:
        self.out_start.append(out_start)
        self.out_end.append(out_end)
        self.in_start.append(in_start)
        self.in_end.append(in_end)

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

    def spans(self, starts: _Positions, ends: _Positions) -> tuple[_Positions, _Positions]:
        """``span`` of many spans at once, the same arithmetic on arrays."""
        out_start, out_end, in_start, in_end = (
            np.array(v, dtype=np.int64)
            for v in (self.out_start, self.out_end, self.in_start, self.in_end)
        )
        mapped = []
        for chars, bounds, inside in ((starts, starts, in_start), (ends - 1, ends, in_end)):
            k = np.searchsorted(out_start, chars, side="right") - 1
            edited = k >= 0
            k = np.maximum(k, 0)
            shifted = np.where(edited, bounds + in_end[k] - out_end[k], bounds)
            mapped.append(np.where(edited & (chars < out_end[k]), inside[k], shifted))
        return mapped[0], mapped[1]


class NormalizedText:
    """A normalised text and the means to map its spans back to the original (read-only)."""

    # A plain class: a frozen dataclass's __init__ costs a noticeable share of a short scan.
    __slots__ = ("_maps", "text")

    def __init__(self, text: str, maps: tuple[_EditMap, ...]) -> None:
        self.text = text
        self._maps = maps  # last pass first

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering normal-form ``[start, end)`` (``start < end``)."""
        for edit_map in self._maps:
            start, end = edit_map.span(start, end)
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


def _codes(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(codecs.utf_32_le_encode(text, "surrogatepass")[0], dtype=np.uint32)


def _text(codes: npt.NDArray[np.uint32]) -> str:
    return codecs.utf_32_le_decode(codes.tobytes(), "surrogatepass")[0]


def _map_cluster(cluster: str, t: _Tables) -> str:
    composed = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", cluster).casefold())
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else t.t2s.get(c, c) for c in composed)


def _map_chars(text: str, t: _Tables, maps: list[_EditMap]) -> str:
    """Steps 1-3 of the module docstring."""
    codes = _codes(text)
    looked_up = t.mapping[codes]
    try:
        # The common case: nothing to delete, resize or compose. A flagged value lies past
        # the last code point, so the strict decoder rejects it; this costs no extra pass.
        return codecs.utf_32_le_decode(looked_up.tobytes(), "strict")[0]
    except UnicodeDecodeError:
        kinds = looked_up & ~_CODE_POINT

    ignorable = np.flatnonzero(kinds & _IGNORABLE)
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
    special = np.flatnonzero(kinds)
    if not special.size:
        return mapped

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
    return "".join(pieces)


def _skip_noise(text: str, t: _Tables, maps: list[_EditMap]) -> str:
    """Step 4 of the module docstring."""
    first = t.noise_re.search(text)
    if first is None:
        return text
    edits = _EditMap()
    pieces: list[str] = []
    done = removed = 0
    for m in t.noise_re.finditer(text, first.start()):
        start, end = m.span()
        # The regex finds noise runs followed by CJK; the character before the run, and
        # astral letters or digits in it (outside the regex's BMP-only class), are checked
        # here.
        if not start or _CJK_RE.match(text, start - 1) is None:
            continue
        run = m.group()
        if not run.isascii() and any(c.isalnum() for c in run):
            continue
        pieces.append(text[done:start])
        edits.add(start - removed, start - removed, start, end)
        removed += end - start
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    maps.append(edits)
    return "".join(pieces)


def normalize_with_offsets(text: str) -> NormalizedText:
    """Normalise ``text``, keeping what is needed to map spans back to ``text``."""
    t = _get_tables()
    maps: list[_EditMap] = []
    result = _skip_noise(_map_chars(text, t, maps), t, maps)
    maps.reverse()
    return NormalizedText(result, tuple(maps))


def normalize(text: str) -> str:
    """Normal form of ``text`` (see the module docstring for the exact rules)."""
    return normalize_with_offsets(text).text

"""Multi-pattern keyword scanner over normalised text.

Words and text go through the same normaliser (``rules.normalize``), so full width, case,
traditional characters, invisible characters and noise between CJK characters do not hide
a word. CJK words match anywhere as substrings; a word that begins (ends) with a letter or
digit of a space-delimited script only matches where the text has no such letter or digit
right before (after) it, so ``mac`` does not match ``machine`` but ``covid`` matches
``COVID-19``. Overlapping words are all reported (``潼南`` and ``潼南区``).

Engines, chosen by ``bench/match.py`` and hidden behind ``Scanner``: Hyperscan up to
``_HYPERSCAN_MAX_PATTERNS`` distinct words, where it scans several times faster than any
Aho-Corasick; ahocorasick-rs above, where Hyperscan's compile time grows past seconds
(about 6 s for 100k words, against 0.5 s) and its scanning is no longer faster.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from itertools import accumulate
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, cast

import ahocorasick_rs
import hyperscan
import numpy as np

from rules.normalize import (
    DEFAULT_VIEW,
    NormalizedText,
    View,
    is_word_char,
    normalize_many,
    normalize_with_offsets,
)

_NO_RUNS: dict[int, int] = {}

__all__ = ["EmptyWordError", "Hit", "Scanner", "leftmost_longest"]

P = TypeVar("P")

_HYPERSCAN_MAX_PATTERNS = 30_000

_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")

# Which ends of a word need a word boundary in the text.
_LEFT = 1
_RIGHT = 2


def _word_char(char: str) -> bool:
    # ASCII first: most keyword ends are ASCII or CJK, and this runs per pattern.
    return char.isalnum() if char < "\x80" else is_word_char(char)


class EmptyWordError(ValueError):
    """A keyword normalises to the empty string, so it could never be matched sensibly."""

    def __init__(self, word: str, word_id: object) -> None:
        super().__init__(f"keyword {word!r} (id {word_id!r}) normalises to an empty string")
        self.word = word
        self.word_id = word_id


class Hit(NamedTuple, Generic[P]):
    """One occurrence of a word: ``text[start:end]`` of the original (unnormalised) text.

    ``norm_start``/``norm_end`` locate the word in the normalised text.
    """

    word_id: P
    start: int
    end: int
    norm_start: int
    norm_end: int


# tuple.__new__ builds a Hit in C, skipping NamedTuple's Python-level constructor: at
# 100k words a large text can have hundreds of thousands of hits.
_make_hit = cast(
    "Callable[[tuple[Any, int, int, int, int]], Hit[Any]]", partial(tuple.__new__, Hit)
)


class _Engine(Protocol):
    def find(self, text: str) -> list[tuple[int, int]]:
        """(end offset, pattern index) of every occurrence, overlapping ones included."""
        ...


# For ``Scanner(mixed=True)``: the high byte of each UTF-16 code unit is mixed with a byte
# its low byte picks (a bijection of code units, so text and patterns mixed alike match
# exactly where they did). Hyperscan's literal matcher hashes a few bytes at a time: in the
# sound form (rules.variants), all private-use stand-ins, every other byte is one of two
# values, and its many false candidates made scans three times slower. Ordinary Chinese
# text gains nothing from it. The table holds the mixed unit of every code unit, looked
# up in one step (a text touches few of its entries).
_MIX = np.arange(1 << 16, dtype=np.uint16)
_MIX ^= np.array([((k * 167 + 13) & 0xFF) << 8 for k in range(256)], dtype=np.uint16).take(
    _MIX & 0xFF
)


def _mixed(data: bytes) -> bytes:
    return _MIX.take(np.frombuffer(data, dtype=np.uint16)).tobytes()


class _Hyperscan:
    def __init__(self, patterns: Sequence[str], mixed: bool = False) -> None:
        # The text is scanned as UTF-16-LE so byte offsets halve to string offsets. Encoded
        # patterns contain NUL bytes, which the binding's pure-literal mode cannot take, so
        # each becomes a regex of \xHH escapes (still a plain literal to Hyperscan).
        self._mixed = mixed
        encoded = [p.encode("utf-16-le") for p in patterns]
        if mixed:  # all at once: one array pass, not one per pattern
            whole = _mixed(b"".join(encoded))
            ends = list(accumulate(len(e) for e in encoded))
            encoded = [whole[end - len(e) : end] for e, end in zip(encoded, ends, strict=True)]
        expressions = [("\\x" + e.hex(" ").replace(" ", "\\x")).encode("ascii") for e in encoded]
        self._database = hyperscan.Database()
        self._database.compile(
            expressions=expressions, ids=list(range(len(patterns))), elements=len(patterns)
        )
        # Scratch space belongs to one scan in progress, hence one per thread.
        self._local = threading.local()

    def find(self, text: str) -> list[tuple[int, int]]:
        scratch: hyperscan.Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        data = text.encode("utf-16-le")
        found: list[tuple[int, int]] = []
        add = found.append

        def collect(index: int, start: int, end: int, flags: int, context: object) -> None:
            add((end, index))  # runs once per match, under the GIL: keep it minimal

        self._database.scan(
            _mixed(data) if self._mixed else data, match_event_handler=collect, scratch=scratch
        )
        found.sort()
        # Odd byte offsets are matches straddling two UTF-16 code units: not real ones.
        if len(data) == 2 * len(text):
            return [(end >> 1, index) for end, index in found if not end & 1]
        # Astral characters take two code units: subtract those that end before each hit.
        unit_ends = [m.start() + k + 2 for k, m in enumerate(_ASTRAL_RE.finditer(text))]
        return [
            ((end >> 1) - bisect_right(unit_ends, end >> 1), index)
            for end, index in found
            if not end & 1
        ]


class _AhoCorasick:
    def __init__(self, patterns: Sequence[str]) -> None:
        # The contiguous NFA was the fastest of its three automata on large word sets.
        self._automaton = ahocorasick_rs.AhoCorasick(
            patterns, implementation=ahocorasick_rs.Implementation.ContiguousNFA
        )

    def find(self, text: str) -> list[tuple[int, int]]:
        matches = self._automaton.find_matches_as_indexes(text, overlapping=True)
        return sorted((end, index) for index, _, end in matches)


class Scanner(Generic[P]):
    """A compiled, immutable set of keyword words.

    ``scan`` is safe to call from many threads at once. To change the words, build a new
    ``Scanner`` and replace the reference to the old one (an atomic assignment).
    """

    def __init__(
        self,
        words: Iterable[tuple[P, str]],
        view: View = DEFAULT_VIEW,
        *,
        normalized: bool = False,
        whole_words: bool = True,
        mixed: bool = False,
    ) -> None:
        """Compile ``(word_id, word)`` pairs; ``word_id`` is an opaque payload.

        Words are normalised with ``view``'s options, as the text will be (``normalized``:
        they already are). ``whole_words=False`` lets Latin words match inside others (the
        caller checks). ``mixed``: the text's characters come from a narrow block (as the
        sound form's), which Hyperscan scans faster with the code units' bytes mixed.
        Raises ``EmptyWordError`` for a word that normalises to nothing.
        """
        self.view = view
        pairs = list(words)
        if normalized:
            forms = [(w, _NO_RUNS) for _, w in pairs]
        else:
            forms = normalize_many([w for _, w in pairs], view)
        # Words are grouped by normal form and, with repeats, by the runs they need: good
        # and god both read god, but only good needs the o twice.
        groups: dict[tuple[str, tuple[tuple[int, int], ...]], list[P]] = {}
        for (word_id, word), (key, word_runs) in zip(pairs, forms, strict=True):
            if not key:
                raise EmptyWordError(word, word_id)
            need = tuple((p, n) for p, n in word_runs.items() if n > 1) if word_runs else ()
            groups.setdefault((key, need), []).append(word_id)
        count = len(pairs)
        patterns = [key for key, _ in groups]
        self._count = count
        self._runs = (
            [need or None for _, need in groups] if any(need for _, need in groups) else None
        )
        self._ids = [tuple(ids) for ids in groups.values()]
        # The engine gets each string once; a string shared by patterns with different needs
        # stands for all of them.
        strings = list(dict.fromkeys(patterns))
        self._shared: list[list[int]] | None = None
        if len(strings) != len(patterns):
            position = {p: i for i, p in enumerate(strings)}
            self._shared = [[] for _ in strings]
            for index, p in enumerate(patterns):
                self._shared[position[p]].append(index)
        self._one_id_each = all(len(ids) == 1 for ids in self._ids)
        self._lengths = [len(p) for p in patterns]
        self._edges = [
            (_LEFT if _word_char(p[0]) else 0) | (_RIGHT if _word_char(p[-1]) else 0)
            if whole_words
            else 0
            for p in patterns
        ]
        # Patterns whose hits need a look at the text around them (word edges, repeat
        # runs); None if no pattern does, the common case for Chinese words.
        runs_needed = self._runs
        checked = [
            bool(edge) or (runs_needed is not None and runs_needed[k] is not None)
            for k, edge in enumerate(self._edges)
        ]
        self._checked: list[bool] | None = checked if any(checked) else None
        self._engine: _Engine | None = None
        if strings:
            large = len(strings) > _HYPERSCAN_MAX_PATTERNS
            self._engine = _AhoCorasick(strings) if large else _Hyperscan(strings, mixed)

    def __len__(self) -> int:
        """Number of ``(word_id, word)`` pairs compiled."""
        return self._count

    def scan(self, text: str) -> list[Hit[P]]:
        """Hits of all words in ``text``, ordered by end offset."""
        return self.scan_normalized(normalize_with_offsets(text, self.view))

    @property
    def payloads(self) -> list[tuple[P, ...]]:
        """The word ids of each distinct pattern, by the index :meth:`locate` gives."""
        return self._ids

    def scan_normalized(self, normalized: NormalizedText) -> list[Hit[P]]:
        """Like ``scan`` for a text already normalised (to share it between scanners)."""
        indexes, starts, ends = self.locate(normalized.text, normalized.joins, normalized.runs)
        if not indexes:
            return []
        original_starts, original_ends = normalized.spans(starts, ends)
        ids = self._ids
        rows: Iterable[tuple[P, int, int, int, int]]
        if self._one_id_each:
            first_ids = [ids[i][0] for i in indexes]
            rows = zip(first_ids, original_starts, original_ends, starts, ends, strict=True)
        else:
            rows = (
                (word_id, a, b, c, d)
                for i, a, b, c, d in zip(
                    indexes, original_starts, original_ends, starts, ends, strict=True
                )
                for word_id in ids[i]
            )
        return list(map(_make_hit, rows))

    def locate(
        self,
        text: str,
        joins: frozenset[int] = frozenset(),
        runs: dict[int, int] = _NO_RUNS,
    ) -> tuple[list[int], list[int], list[int]]:
        """Pattern index (see :attr:`payloads`), start and end of every hit in normalised
        ``text``, ordered by end: the scan without building hits."""
        if not text or self._engine is None:
            return [], [], []
        found = self._engine.find(text)
        if not found:
            return [], [], []  # most short texts: skip the bookkeeping below
        if self._shared is not None:
            shared = self._shared
            found = [(end, index) for end, string in found for index in shared[string]]
        lengths = self._lengths
        checked = self._checked
        if checked is not None:
            keeps = self._keeps
            found = [hit for hit in found if not checked[hit[1]] or keeps(text, joins, runs, *hit)]
        return (
            [index for _, index in found],
            [end - lengths[index] for end, index in found],
            [end for end, _ in found],
        )

    def _keeps(
        self, text: str, joins: frozenset[int], runs: dict[int, int], end: int, index: int
    ) -> bool:
        """Whether a hit of a pattern that needs checking stands: a Latin word must not
        continue past its ends (except where latin noise joined two letters), and a word
        with a real double needs runs at least as long in the text."""
        start = end - self._lengths[index]
        edge = self._edges[index]
        if edge and (
            (edge & _LEFT and start and is_word_char(text[start - 1]) and start not in joins)
            or (edge & _RIGHT and end < len(text) and is_word_char(text[end]) and end not in joins)
        ):
            return False
        needs = self._runs
        return not (
            needs is not None
            and (need := needs[index]) is not None
            and any(runs.get(start + p, 1) < n for p, n in need)
        )


def leftmost_longest(spans: Sequence[tuple[int, int]]) -> list[int]:
    """Indexes of the spans kept when overlapping ones are reduced to the leftmost-longest:
    from left to right, the longest span starting at each place, skipping spans that
    overlap one kept; equal spans are all kept (one word in several rules)."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1]))
    kept: list[int] = []
    last: tuple[int, int] | None = None
    reach = -1
    for i in order:
        span = spans[i]
        if span == last:
            kept.append(i)
        elif span[0] >= reach:
            kept.append(i)
            last, reach = span, span[1]
    return sorted(kept)

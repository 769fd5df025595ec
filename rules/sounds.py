"""Sound patterns found and homophones judged in bulk (numpy), not one candidate at a time.

A group with ``homophones`` matches a word wherever the text *sounds* like it
(:mod:`rules.variants`): in the sound form of a text every Chinese character is a stand-in
for its reading, and each sound pattern found there is a candidate that is kept only if at
least one of its characters is written as in the word. Ordinary text is full of candidates
(about 200 in 2,000 characters at 10k words, two unrelated characters that sound like a
word), most of them rejected, so both steps work on whole arrays:

*Finding.* Nearly all candidates are two-character words (97% at 10k words of jieba's
dictionary), so patterns of two stand-ins are looked up in a table by their pair of
syllables (:data:`_BITS` bits each): the whole text in one array lookup. The other patterns
(longer, or with letters or digits) go through a :class:`rules.scanner.Scanner`, which
finds few of them.

*Judging.* The written forms of each pattern's words are one array of code points; the
text's characters at each candidate are gathered beside them and compared at once.

Results are exactly those of finding with a scanner and judging one by one, in the same
order (by end, then pattern), which ``tests/test_sounds.py`` checks on generated texts.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rules.scanner import Scanner

__all__ = ["BULK_FROM", "SoundIndex"]

_Array = npt.NDArray[np.int64]

_STAND_IN_BASE = 0xE000  # as rules.variants
_BITS = 9  # per syllable: pypinyin's readings are about 430
# Syllable numbers are 1 to _SYLLABLES - 1; _SYLLABLES itself stands for a character that
# is no stand-in (the largest number, so one clipping gives it), 0 for U+DFFF.
_SYLLABLES = (1 << _BITS) - 1
_BEFORE_STAND_INS = np.uint32(_STAND_IN_BASE - 1)  # code point - this: syllable number
BULK_FROM = 40
"""Fewest candidates judged with arrays; fewer (a short text) are judged one by one."""
_NO_CHAR = np.uint32(0xFFFFFFFF)  # pads written forms: never equal to a text character
_PAST_END = np.uint32(0xFFFFFFFE)  # pads a text's characters
# Most written forms of one pattern for which the forms are judged through a table of the
# rows of each pattern (see SoundIndex.__init__); libraries with more judge by count.
_MOST_ROWS_TABLED = 8
_TABLED_WIDTH = 8  # code points of a row in that table: one byte each when compared


def _codes(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(codecs.utf_32_le_encode(text, "surrogatepass")[0], dtype=np.uint32)


class SoundIndex:
    """Distinct sound ``patterns`` (strings of the sound form) and, for each, the written
    forms (normalised words, as long as the pattern) whose homophones count."""

    def __init__(self, patterns: Sequence[str], written: Sequence[Sequence[str]]) -> None:
        self.patterns = list(patterns)
        # Pattern of each pair of syllables (-1: none), for patterns of two stand-ins.
        self._pairs = np.full(1 << (2 * _BITS), -1, dtype=np.int32)
        rest: list[tuple[int, str]] = []
        pairs: dict[int, int] = {}
        for index, pattern in enumerate(self.patterns):
            if len(pattern) == 2:
                first = ord(pattern[0]) - _STAND_IN_BASE + 1
                second = ord(pattern[1]) - _STAND_IN_BASE + 1
                if 0 < first < _SYLLABLES and 0 < second < _SYLLABLES:
                    pairs[first << _BITS | second] = index
                    continue
            rest.append((index, pattern))
        self._pairs[list(pairs)] = list(pairs.values())
        # Which pairs are patterns, a quarter of the size: every pair of the text is looked
        # up here, only those found in the table above.
        self._is_pair = self._pairs >= 0
        self._rest: Scanner[int] | None = None
        if rest:
            self._rest = Scanner(((i, p) for i, p in rest), normalized=True, mixed=True)
        # The pattern of each of the scanner's (one each: patterns are distinct strings).
        self._rest_ids = [ids[0] for ids in self._rest.payloads] if self._rest else []
        self.pattern_lengths = np.array([len(p) for p in self.patterns], dtype=np.int64)
        # Written forms, one row each, as long as their pattern: the rows of pattern i are
        # first[i]:first[i + 1]; row k's code points are row_codes[k] (padded with what no
        # text character equals), its length row_lengths[k].
        counts = [len(w) for w in written]
        self._first = np.zeros(len(self.patterns) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._first[1:])
        rows = [form for forms in written for form in forms]
        width = max((len(r) for r in rows), default=1)
        offset = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=offset[1:])
        codes = np.concatenate((_codes("".join(rows)), np.full(width, _NO_CHAR, dtype=np.uint32)))
        self._span = np.arange(width, dtype=np.int64)
        self._row_lengths = np.diff(offset)
        self._row_codes = codes[offset[:-1, None] + self._span]
        self._row_codes[self._span >= self._row_lengths[:, None]] = _NO_CHAR
        # The same for judging a few candidates one by one (arrays cost more there).
        self._rows = rows
        self._first_row = self._first.tolist()
        # Where no pattern has more than a few written forms (nearly always), the rows of
        # each pattern in one line of a table, padded with -1, which is the last row of
        # ``_tabled_codes``: one that no text matches. Candidates are judged against their
        # whole line at once, in a third of the array calls of spreading them by count.
        most = int(np.diff(self._first).max(initial=0))
        self._rows_of: _Array | None = None
        if 0 < most <= _MOST_ROWS_TABLED:
            rank = np.arange(most, dtype=np.int64)
            starts = self._first[:-1, None] + rank
            self._rows_of = np.where(rank < np.diff(self._first)[:, None], starts, -1)
            # Rows of _TABLED_WIDTH code points (cut, or padded with what no text character
            # equals): a row's comparison with the text is one 8-byte word of booleans,
            # written exactly so when it equals the row's ``_whole`` (its length's first
            # bytes true), heard when it is not zero: no sum over the columns.
            tabled = np.full((len(rows) + 1, _TABLED_WIDTH), _NO_CHAR, dtype=np.uint32)
            kept = min(width, _TABLED_WIDTH)
            tabled[:-1, :kept] = self._row_codes[:, :kept]
            self._tabled_codes = tabled
            columns = np.arange(_TABLED_WIDTH, dtype=np.int64)
            whole = np.ascontiguousarray(columns < self._row_lengths[:, None])
            self._whole = whole.view(np.uint64)[:, 0]
            self._tabled_span = columns
        # Whether some pattern is too long for the table (its candidates judged by count).
        self._long = bool((self.pattern_lengths > _TABLED_WIDTH).any())

    def locate(
        self, sounds: str, codes: npt.NDArray[np.uint32] | None = None
    ) -> tuple[_Array, _Array, _Array]:
        """Pattern, start and end of every occurrence in the sound form ``sounds`` (whose
        code points are ``codes``, if at hand), overlapping ones included, ordered by end
        and then pattern (as the scanner)."""
        # Patterns of two stand-ins (from the table, as int32) and where they start.
        found: npt.NDArray[np.int32] | None = None
        starts: _Array | None = None
        if len(sounds) >= 2:
            # Syllable numbers: _SYLLABLES for what is not a stand-in (wrapped round, or past
            # them), in no pair of the table.
            symbols = np.minimum(
                (_codes(sounds) if codes is None else codes) - _BEFORE_STAND_INS, _SYLLABLES
            )
            pairs = (symbols[:-1] << _BITS) | symbols[1:]
            starts = self._is_pair.take(pairs).nonzero()[0]
            if starts.size:
                found = self._pairs.take(pairs[starts])
        indexes: list[int] = []
        if self._rest is not None:
            indexes, rest_starts, rest_ends = self._rest.locate(sounds)
        if not indexes:
            if found is None or starts is None:
                empty = np.zeros(0, dtype=np.int64)
                return empty, empty, empty
            # Pairs alone are ordered by end already; patterns cannot share an end there.
            return found.astype(np.int64), starts, starts + 2
        rest_ids = self._rest_ids
        rest = ([rest_ids[i] for i in indexes], rest_starts, rest_ends)
        if found is None or starts is None:
            table = np.array(rest, dtype=np.int64)
        else:
            # Both kinds (nearly every text): one table of patterns, starts and ends, sorted
            # once by end and then pattern (the few longer ones go among the pairs).
            count = starts.size
            table = np.empty((3, count + len(indexes)), dtype=np.int64)
            table[0, :count] = found
            table[1, :count] = starts
            np.add(starts, 2, out=table[2, :count])
            table[:, count:] = rest
            table = table.take((table[2] * len(self.patterns) + table[0]).argsort(), axis=1)
        return table[0], table[1], table[2]

    def judge(
        self,
        text: str,
        patterns: _Array,
        starts: _Array,
        codes: npt.NDArray[np.uint32] | None = None,
    ) -> tuple[_Array, _Array, npt.NDArray[np.bool_]]:
        """The homophones among candidates (``patterns`` found at ``starts`` of ``text``,
        whose positions are those of the sound form; ``codes``: the code points of
        ``text``, if at hand): the candidate, the written form (row) and whether it is
        written exactly so, of each written form with at least one character as in
        ``text``; in candidate order, then row order."""
        if patterns.size < BULK_FROM:
            return self._judge_each(text, patterns, starts)
        if self._rows_of is not None:
            judged = self._judge_tabled(text, patterns, starts, codes)
            if judged is not None:
                return judged
        first = self._first[patterns]
        counts = self._first[patterns + 1] - first
        candidate = np.arange(patterns.size, dtype=np.int64).repeat(counts)
        if not candidate.size:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.bool_)
        # Row of each (candidate, written form): the candidate's first row plus the rank.
        rows = (first - (counts.cumsum() - counts)).repeat(counts) + np.arange(candidate.size)
        width = int(self.pattern_lengths[patterns].max())
        codes = np.concatenate(
            (_codes(text) if codes is None else codes, np.full(width, _PAST_END))
        )
        # Written forms are padded with what no text character equals. Whole rows taken,
        # then cut: ten times faster than indexing rows and columns at once.
        equal = (
            codes[starts.repeat(counts)[:, None] + self._span[:width]]
            == self._row_codes.take(rows, axis=0)[:, :width]
        )
        matched = equal.sum(axis=1)  # characters as written
        kept = matched.nonzero()[0]
        rows = rows[kept]
        return candidate[kept], rows, matched[kept] == self._row_lengths[rows]

    def _judge_tabled(
        self,
        text: str,
        patterns: _Array,
        starts: _Array,
        codes: npt.NDArray[np.uint32] | None,
    ) -> tuple[_Array, _Array, npt.NDArray[np.bool_]] | None:
        """:meth:`judge` through the table of each pattern's rows: every candidate beside
        each of its pattern's rows (padding rows match nothing), compared at once; None if
        a candidate is too long for the table."""
        assert self._rows_of is not None
        if not patterns.size:
            return None
        if self._long and int(self.pattern_lengths.take(patterns).max()) > _TABLED_WIDTH:
            return None
        if codes is None:
            codes = _codes(text)
        # A candidate lies in the text for its own length; columns past it meet padding in
        # every row, so positions past the end may read any character: clipped.
        heard = codes.take(starts[:, None] + self._tabled_span, mode="clip")
        lines = self._rows_of.take(patterns, axis=0)
        equal = self._tabled_codes.take(lines, axis=0) == heard[:, None, :]
        words = equal.view(np.uint64)[:, :, 0]
        # Candidate by candidate, each one's rows in order: as :meth:`judge` gives them.
        candidates, columns = words.nonzero()
        rows = lines[candidates, columns]
        return candidates, rows, words[candidates, columns] == self._whole.take(rows)

    def _judge_each(
        self, text: str, patterns: _Array, starts: _Array
    ) -> tuple[_Array, _Array, npt.NDArray[np.bool_]]:
        """:meth:`judge` one candidate at a time (for a few: a short text)."""
        candidates: list[int] = []
        rows: list[int] = []
        same: list[bool] = []
        first = self._first_row
        forms = self._rows
        for k, (i, start) in enumerate(zip(patterns.tolist(), starts.tolist(), strict=True)):
            if first[i] == first[i + 1]:
                continue
            heard = text[start : start + len(forms[first[i]])]
            for row in range(first[i], first[i + 1]):
                form = forms[row]
                if heard == form:
                    candidates.append(k)
                    rows.append(row)
                    same.append(True)
                    continue
                for a, b in zip(heard, form, strict=True):
                    if a == b:
                        candidates.append(k)
                        rows.append(row)
                        same.append(False)
                        break
        return (
            np.array(candidates, dtype=np.int64),
            np.array(rows, dtype=np.int64),
            np.array(same, dtype=np.bool_),
        )

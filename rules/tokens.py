"""Tokens of the normal form: how ``NEAR/n`` counts, and the form stored items are indexed in.

``NEAR/n`` counts the *tokens* between two words in the normalised text: a Chinese
character is one token, so is a run of letters or digits, and so is a run of punctuation
or a line break between Chinese characters. The search backends count positions in the
text :func:`index_text` gives them the same way, so a rule selects the same items in
process and as a stored-item query (:func:`index_form`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from rules.normalize import normalize
from rules.syntax import And, Fact, Near, Node, Not, Or, Scoped, Word

SENTENCE_END = frozenset("。!?;\n\r\u2028\u2029")
PARAGRAPH_END = frozenset("\n\r\u2028\u2029")
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of punctuation, or white space left between two Chinese characters (a line
# break; noise spaces are already gone), separates words: it is a token of its own.
_SEPARATOR = rf"(?:[^\w\s]|_)+|(?<=[{_HAN}])\s+(?=[{_HAN}])"
_TOKEN = re.compile(rf"[{_HAN}]|[^\W_{_HAN}]+|{_SEPARATOR}")
_SEPARATOR_RUN = re.compile(_SEPARATOR)
# Stands for a run of punctuation in stored text: the search backends drop punctuation,
# which would make 疫，情 look like 疫情 to a phrase query. A letter is a token to both
# Elasticsearch's standard tokenizer and SQLite's unicode61, and this one is very rare.
PUNCTUATION_TOKEN = "\u01c2"
# NEAR/S and NEAR/P become NEAR/NEAR_WIDE in stored-item queries (a superset that callers
# confirm in process): the indexes know no sentences.
NEAR_WIDE = 200


def within(text: str, end: int, start: int, limit: int) -> bool:
    """Whether at most ``limit`` tokens of normalised ``text`` lie in ``[end, start)``;
    reads no further than ``limit + 1`` tokens, so far-apart pairs cost little."""
    if start - end <= limit:
        return True  # every token is at least one character
    # No endpos: the separator's lookahead must see the character at ``start``.
    for count, token in enumerate(_TOKEN.finditer(text, end), 1):
        if token.start() >= start:
            return True
        if count > limit:
            return False
    return True


_HAN_RANGES = ((0x3007, 0x3007), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_IS_HAN = np.zeros(0x10000, dtype=np.int32)  # BMP code point -> 1 for the _HAN characters
for _lo, _hi in _HAN_RANGES:
    _IS_HAN[_lo : _hi + 1] = 1


@lru_cache(maxsize=8)
def han_counts(text: str) -> npt.NDArray[np.int32]:
    """How many Chinese characters precede each position of ``text`` (one more entry than
    characters). Each is a token of its own, so more than ``limit`` of them between two
    places means they are not :func:`within` ``limit`` tokens: the count answers most
    far-apart pairs without reading the tokens (NEAR in long Chinese text)."""
    codes = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    if len(codes) != len(text):  # astral characters, none of them _HAN: count by hand
        codes = np.array([min(ord(c), 0xFFFF) for c in text], dtype=np.uint16)
    counts = np.zeros(len(codes) + 1, dtype=np.int32)
    np.cumsum(_IS_HAN[codes], out=counts[1:])
    return counts


@lru_cache(maxsize=8)
def _high_bytes(text: str) -> bytes | None:
    """The high byte of each character's UTF-16 code unit (None if ``text`` has astral
    characters, which take two): U+4E00..U+9FFF are exactly those from 0x4E to 0x9F."""
    high = text.encode("utf-16-le", "surrogatepass")[1::2]
    return high if len(high) == len(text) else None


# Every byte but the high bytes of the main block of ideographs, U+4E00..U+9FFF.
_NOT_MAIN_HAN = bytes(b for b in range(256) if not 0x4E <= b <= 0x9F)


@lru_cache(maxsize=8)
def han_over(text: str) -> Callable[[int, int, int], bool]:
    """Whether :func:`han_at_least` of ``text`` at ``(end, start)`` is more than ``limit``,
    as a function of ``(end, start, limit)`` (kept for the few texts being matched: NEAR
    asks about many places of one). In Chinese text more than half the first
    ``2 * (limit + 1)`` characters of a long gap are nearly always Chinese (punctuation
    comes every few), which answers without counting the rest."""
    high = _high_bytes(text)
    if high is None:
        counts = han_counts(text)
        return lambda end, start, limit: int(counts[start] - counts[end]) > limit

    def over(end: int, start: int, limit: int) -> bool:
        head = end + 2 * (limit + 1)
        if head < start and len(high[end:head].translate(None, _NOT_MAIN_HAN)) > limit:
            return True
        return len(high[end:start].translate(None, _NOT_MAIN_HAN)) > limit

    return over


def han_at_least(text: str, end: int, start: int) -> int:
    """A lower bound of the Chinese characters of ``text[end:start]``: those of the main
    block (nearly all of them in Chinese text), counted in the slice alone. Cheaper than
    :func:`han_counts` of a whole long text when a few places are asked about; like it,
    more than ``limit`` means not :func:`within` ``limit``."""
    high = _high_bytes(text)
    if high is None:
        counts = han_counts(text)
        return int(counts[start] - counts[end])
    return len(high[end:start].translate(None, _NOT_MAIN_HAN))


def index_text(text: str) -> str:
    """Normalised text as the search backends should store it (``Item.norm_title`` and
    ``Item.norm_body``) so their phrase and proximity queries see what the matcher sees."""
    return _SEPARATOR_RUN.sub(f" {PUNCTUATION_TOKEN} ", normalize(text))


def index_form(node: Node) -> Node:
    """``node`` (groups already expanded) as a query over :func:`index_text`: words
    normalised, ``NEAR/S`` and ``NEAR/P`` widened to ``NEAR/NEAR_WIDE``."""
    if isinstance(node, Word):
        return Word(index_text(node.text).strip())
    if isinstance(node, Fact):
        return node
    if isinstance(node, Not):
        return Not(index_form(node.child))
    if isinstance(node, Scoped):
        return Scoped(node.field, index_form(node.child))
    if isinstance(node, And):
        return And(tuple(index_form(c) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(index_form(c) for c in node.children))
    assert isinstance(node, Near), node
    distance = node.distance if node.unit == "char" else NEAR_WIDE
    return Near(index_form(node.left), index_form(node.right), "char", distance)

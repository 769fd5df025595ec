"""NEAR decided from the hit offsets (:func:`rules.evaluate.near`: gaps of at most ``n``
characters, Chinese characters counted in the gap alone) agrees with the definition: some
occurrence of one side and one of the other with at most ``n`` tokens between them, the
tokens counted one by one over the whole gap."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.evaluate import Span, near
from rules.syntax import Near, Word
from rules.tokens import _TOKEN, PARAGRAPH_END, SENTENCE_END, han_at_least, han_counts, han_over

PIECES = [
    *("潼", "南", "火", "灾", "〇", "豈", "㐀", "𠀀"),
    *("ab", "12", ",", "。", " ", "\n", "@", "_"),
]
_HAN = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class Found:
    """A field with the given occurrences of two words, ``0`` and ``1``."""

    def __init__(self, text: str, spans: dict[str, list[Span]]) -> None:
        self.text = text
        self._spans = spans

    def has(self, leaf: Word) -> bool:  # type: ignore[override]
        return bool(self._spans.get(leaf.text))

    def spans(self, leaf: Word) -> Sequence[Span]:  # type: ignore[override]
        return self._spans.get(leaf.text, [])


def tokens_between(text: str, end: int, start: int) -> int:
    """The definition: tokens read from ``end`` that start before ``start``."""
    count = 0
    for token in _TOKEN.finditer(text, end):
        if token.start() >= start:
            break
        count += 1
    return count


def reference(node: Near, found: Found) -> bool:
    for a_start, a_end in found.spans(node.left):  # type: ignore[arg-type]
        for b_start, b_end in found.spans(node.right):  # type: ignore[arg-type]
            if (a_start, a_end) == (b_start, b_end):
                continue
            end, start = (a_end, b_start) if a_start <= b_start else (b_end, a_start)
            start = max(start, end)
            if node.unit == "char":
                if tokens_between(found.text, end, start) <= node.distance:
                    return True
            else:
                stops = SENTENCE_END if node.unit == "sentence" else PARAGRAPH_END
                if not stops.intersection(found.text[end:start]):
                    return True
    return False


text = st.lists(st.sampled_from(PIECES), min_size=1, max_size=60).map("".join)
short_text = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, dict[str, list[Span]]]:
    body = draw(st.one_of(text, short_text))
    span = st.tuples(st.integers(0, len(body)), st.integers(1, 3)).map(
        lambda p: (min(p[0], len(body) - 1), min(p[0] + p[1], len(body)))
    )
    spans = {w: draw(st.lists(span, max_size=4)) for w in ("0", "1")}
    return body, spans


@settings(max_examples=1000, deadline=None)
@given(cases(), st.integers(0, 6), st.sampled_from(["char", "char", "sentence", "paragraph"]))
def test_near_agrees_with_counting_every_token(
    case: tuple[str, dict[str, list[Span]]], distance: int, unit: str
) -> None:
    body, spans = case
    node = Near(Word("0"), Word("1"), unit, distance)  # type: ignore[arg-type]
    found = Found(body, spans)
    assert near(node, found) == reference(node, found), (body, spans)


@settings(max_examples=300, deadline=None)
@given(text, st.integers(0, 60), st.integers(0, 60))
def test_chinese_characters_counted_in_a_gap_are_a_lower_bound(text: str, a: int, b: int) -> None:
    end, start = sorted((min(a, len(text)), min(b, len(text))))
    exact = sum(1 for c in text[end:start] if _HAN.match(c))
    counted = han_at_least(text, end, start)
    assert counted <= exact
    assert counted == exact or "〇" in text or "豈" in text or "㐀" in text or "𠀀" in text
    counts = han_counts(text)
    assert counts[start] - counts[end] == exact


@settings(max_examples=300, deadline=None)
@given(text, st.integers(0, 60), st.integers(0, 60), st.integers(0, 12))
def test_more_chinese_characters_than_a_limit(text: str, a: int, b: int, limit: int) -> None:
    """:func:`han_over` answers as :func:`han_at_least` does, whether the head of the gap
    decides or the whole gap is counted."""
    end, start = sorted((min(a, len(text)), min(b, len(text))))
    assert han_over(text)(end, start, limit) == (han_at_least(text, end, start) > limit)


def test_more_chinese_characters_than_a_limit_in_long_gaps() -> None:
    """A head of Chinese decides; a head of Latin letters or of punctuation is followed by
    counting the whole gap."""
    over = han_over("潼" * 50 + "a" * 50 + "区，" * 40 + "，" * 50)
    assert over(0, 100, 20)  # decided by the head
    assert not over(50, 100, 0)  # all Latin
    assert over(40, 150, 34)  # a head mostly Latin; 35 Chinese characters in all
    assert not over(40, 150, 35)
    assert over(100, 180, 39) and not over(100, 180, 40)  # punctuation every other
    assert not over(180, 230, 0)


def test_far_words_in_long_chinese_text() -> None:
    """Words 30 characters apart are not NEAR/20 in Chinese text, but are across a Latin
    word of 30 letters (one token) and across a sentence in NEAR/S."""
    chinese = "潼南" + "区" * 30 + "火灾"
    latin = "潼南 " + "a" * 30 + " 火灾"
    spans = {"0": [(0, 2)], "1": [(32, 34)]}
    near20 = Near(Word("0"), Word("1"), "char", 20)
    assert not near(near20, Found(chinese, spans))
    assert near(near20, Found(latin, {"0": [(0, 2)], "1": [(34, 36)]}))
    assert near(Near(Word("0"), Word("1"), "sentence", 0), Found(chinese, spans))
    assert not near(
        Near(Word("0"), Word("1"), "sentence", 0), Found(chinese.replace("区", "。", 1), spans)
    )


def test_a_gap_with_as_many_chinese_characters_as_allowed() -> None:
    """A space that is no token and one Chinese character: more characters than NEAR/1
    allows, but one token."""
    found = Found("ab 潼火", {"0": [(0, 2)], "1": [(4, 5)]})
    assert near(Near(Word("0"), Word("1"), "char", 1), found)
    assert not near(Near(Word("0"), Word("1"), "char", 0), found)

"""Sound patterns found and homophones judged in bulk (``rules.sounds``) give exactly what
finding them with the scanner and judging each candidate on its own gave: the same hits,
the same kinds, in the same order, on generated texts full of homophones, pinyin and
noise."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from keywords.matcher import Matcher, _Entry, _View
from keywords.model import Group, Library, Options, Rule
from rules import sounds
from rules.normalize import normalize_with_offsets
from rules.scanner import Scanner
from rules.sounds import BULK_FROM, SoundIndex
from rules.variants import Variants, sound_form

# Characters that sound alike in small sets (yi, qing, shi, zhong/chong), heteronyms
# (重, 行), a character without a reading in pypinyin's table of the same sound (none
# here), Latin letters that spell pinyin and English, noise and repeats.
HOMOPHONES = "疫易艺亿情清青轻是事市式实时十石重中种众行"
PIECES = [
    *HOMOPHONES,
    *"的了人",
    " ",
    "yi",
    "qing",
    "shi",
    "zhong",
    "yq",
    "sq",
    "ft",
    "the",
    "@",
    "【",
    "】",
    "。",
    "Ⓨ",
    "0",
    "\n",
]
WORDS = st.lists(
    st.text(alphabet=HOMOPHONES, min_size=2, max_size=4), min_size=1, max_size=12, unique=True
)
TEXTS = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)

EVERY = {
    "enclosed": True,
    "noise": "brackets",
    "lookalikes": True,
    "repeats": True,
    "pinyin": True,
    "homophones": True,
    "split": True,
}


def library(words: list[str], others: list[str]) -> Library:
    """Groups over one view with homophones, with pinyin only (judged by the form, not in
    bulk), and homophones in the default view."""
    groups = [
        Group(name="every", words=words, options=Options.model_validate(EVERY)),
        Group(name="pinyin", words=others, options=Options.model_validate({"pinyin": True})),
        Group(
            name="sounds",
            words=[*others, *words[:2]],
            options=Options.model_validate({"homophones": True, "pinyin": True}),
        ),
        Group(
            name="every2",
            words=others,
            options=Options.model_validate({**EVERY, "homophones": False}),
        ),
    ]
    rules = [Rule(name=g.name, expression=f"@{g.name}") for g in groups]
    return Library(groups=groups, rules=rules)


def one_by_one(
    compiled: _View, text: str, variants: list[Variants]
) -> list[tuple[int, int, _Entry]]:
    """Sound hits as they were found before: the scanner over the sound patterns, each
    candidate and each of its words judged by the sound form."""
    normalized = normalize_with_offsets(text, compiled.sound_view)
    form = sound_form(normalized.text)
    assert compiled.sound is not None
    index, payloads = compiled.sound
    scanner: Scanner[int] = Scanner(enumerate(index.patterns), normalized=True)
    found: list[tuple[int, int, _Entry]] = []
    indexes, starts, ends = scanner.locate(form.text)
    for i, s, e in zip(indexes, starts, ends, strict=True):
        for entry in payloads[scanner.payloads[i][0]]:
            options = variants[entry.leaf]
            kind = form.judge(
                s, e, entry.norm, pinyin=options.pinyin, homophones=options.homophones
            )
            if kind is None or (kind == "same" and not options.homophones):
                continue
            a, b = form.source_span(s, e)
            found.append((a, b, entry if kind == "same" else entry._replace(kind=kind)))
    return found


def in_bulk(compiled: _View, text: str, variants: list[Variants]) -> list[tuple[int, int, _Entry]]:
    from keywords.matcher import _heard, _judged

    normalized = normalize_with_offsets(text, compiled.sound_view)
    form = sound_form(normalized.text)
    assert compiled.sound is not None
    patterns, starts, ends = compiled.sound[0].locate(form.text, form.codes)
    if not patterns.size:
        return []
    if form.spelt:
        found = _judged(form, normalized.text, patterns, starts, ends, compiled, variants)
    else:
        found = _heard(normalized.text, patterns, starts, ends, compiled, form.source_codes)
    return list(zip(*found, strict=True))


@settings(max_examples=300, deadline=None)
@given(words=WORDS, others=WORDS, texts=st.lists(TEXTS, min_size=1, max_size=8))
def test_bulk_judging_is_judging_one_by_one(
    words: list[str], others: list[str], texts: list[str]
) -> None:
    matcher = Matcher(library(words, others))
    variants = matcher._leaf_variants
    views = [v for v in matcher._views.values() if v.sound is not None]
    assert views
    for text in texts:
        for compiled in views:
            expected = one_by_one(compiled, text, variants)
            # With arrays (as for long texts) and one by one (as for short ones).
            for bulk_from in (0, 10**9):
                sounds.BULK_FROM = bulk_from
                try:
                    assert in_bulk(compiled, text, variants) == expected
                finally:
                    sounds.BULK_FROM = BULK_FROM


@settings(max_examples=200, deadline=None)
@given(
    patterns=st.lists(
        st.text(alphabet="\ue000\ue001\ue002\ue1aaab\u4e00", min_size=1, max_size=8),
        min_size=1,
        max_size=30,
        unique=True,
    ),
    text=st.text(alphabet="\ue000\ue001\ue002\ue1aaab\u4e00 ", max_size=80),
)
@example(patterns=["\ue001", "\ue000\ue001"], text="\ue000\ue001")  # one end: by pattern
def test_patterns_are_found_where_the_scanner_finds_them(patterns: list[str], text: str) -> None:
    index = SoundIndex(patterns, [[] for _ in patterns])
    scanner: Scanner[int] = Scanner(enumerate(patterns), normalized=True)
    indexes, starts, ends = scanner.locate(text)
    expected = [
        (scanner.payloads[i][0], s, e) for i, s, e in zip(indexes, starts, ends, strict=True)
    ]
    found, found_starts, found_ends = index.locate(text)
    assert list(zip(found.tolist(), found_starts.tolist(), found_ends.tolist(), strict=True)) == (
        expected
    )


def test_a_homophone_keeps_one_character_as_written() -> None:
    # 易情 sounds like 疫情 and keeps 情; 亿清 keeps neither; 疫情 is the word itself.
    index = SoundIndex(["\ue000\ue001"], [["疫情"]])
    text = "易情亿清疫情" * 20
    for repeat in (1, 20):  # one by one, with arrays
        candidates, rows, same = index.judge(
            text, np.array([0, 0, 0] * repeat), np.array([0, 2, 4] * repeat)
        )
        assert candidates.tolist()[:2] == [0, 2]
        assert rows.tolist()[:2] == [0, 0]
        assert same.tolist()[:2] == [False, True]
        assert len(candidates) == 2 * repeat


def test_found_through_the_matcher() -> None:
    matcher = Matcher(library(["疫情", "重庆"], ["时事"]))
    result: Any = matcher.match("", "易情 在 chongqing 市事")
    kinds = {(h["rule"], h["word"], h["variant"]) for h in result.hits}
    assert ("every", "疫情", "homophone") in kinds
    assert ("every", "重庆", "pinyin") in kinds
    assert ("pinyin", "时事", None) not in kinds
    assert ("sounds", "时事", "homophone") in kinds


def test_one_hit_of_a_group_at_a_place() -> None:
    """Words of one group that sound alike are each heard wherever either is written: the
    group keeps one hit at each place, the first found (its first word), in a short text
    (judged one by one) and in long ones (in bulk; with Latin words too)."""
    group = Group(
        name="alike", words=["疫情", "易情"], options=Options.model_validate({"homophones": True})
    )
    matcher = Matcher(Library(groups=[group], rules=[Rule(name="r", expression="@alike")]))
    for text in ("疫情，易情", "疫情，易情，" * 30, "spam 疫情，易情，" * 30):
        occurrences = [o for found in matcher._scan(text).found.values() for o in found]
        places = [(start, end) for start, end, _, _, _ in occurrences]
        assert len(places) == len(set(places)) == text.count("情")
        assert {entry.word for _, _, _, _, entry in occurrences} == {"疫情"}


def test_words_that_sound_alike_in_two_groups_are_both_heard() -> None:
    """Hits of different leaves at one place are all kept: with no two words of one leaf
    behind a pattern, sound hits are taken without checking for repeats."""
    homophones = Options.model_validate({"homophones": True})
    groups = [
        Group(name="a", words=["疫情"], options=homophones),
        Group(name="b", words=["易情"], options=homophones),
    ]
    rules = [Rule(name="r", expression="@a OR @b")]
    matcher = Matcher(Library(groups=groups, rules=rules))
    (compiled,) = (c for c in matcher._views.values() if c.sound is not None)
    assert not compiled.shared_rows.any()
    text = "spam 疫情，易情，" * 30
    found = matcher._scan(text).found
    assert len(found) == 2
    for occurrences in found.values():
        places = [(start, end) for start, end, _, _, _ in occurrences]
        assert len(places) == len(set(places)) == text.count("情")
    alike = Matcher(
        Library(
            groups=[Group(name="a", words=["疫情", "易情"], options=homophones)],
            rules=[Rule(name="r", expression="@a")],
        )
    )
    (compiled,) = (c for c in alike._views.values() if c.sound is not None)
    assert compiled.shared_rows.tolist() == [True, True]


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=11),
            st.lists(st.text(alphabet="疫易情清是", min_size=11, max_size=11), max_size=11),
        ),
        min_size=1,
        max_size=12,
    ),
    text=st.text(alphabet="疫易情清是 ", max_size=60),
    places=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 60)), max_size=80),
)
def test_judging_in_bulk_is_judging_each(
    lines: list[tuple[int, list[str]]], text: str, places: list[tuple[int, int]]
) -> None:
    """However many words a pattern has (none, a few, more than a table line holds) and
    however long (past a table row too), candidates judged with arrays are judged as one
    by one: the same candidates, rows and kinds, in the same order."""
    patterns = [chr(0xE000 + k) * length for k, (length, _) in enumerate(lines)]
    written = [[form[:length] for form in forms] for length, forms in lines]
    index = SoundIndex(patterns, written)
    fits = [
        (i % len(patterns), start)
        for i, start in places
        if start + len(patterns[i % len(patterns)]) <= len(text)
    ]
    found = np.array([i for i, _ in fits], dtype=np.int64)
    starts = np.array([start for _, start in fits], dtype=np.int64)
    expected = index.judge(text, found, starts)  # fewer than BULK_FROM: one by one
    if len(fits) >= BULK_FROM:
        sounds.BULK_FROM = 10**9
        try:
            expected = index.judge(text, found, starts)
        finally:
            sounds.BULK_FROM = BULK_FROM
    sounds.BULK_FROM = 0
    try:
        judged = index.judge(text, found, starts)
    finally:
        sounds.BULK_FROM = BULK_FROM
    assert [a.tolist() for a in judged] == [a.tolist() for a in expected]

"""Behaviour of rules.scanner: evasion-robust CJK substrings, whole Latin words, overlaps,
original offsets, errors, thread safety; hits checked against a brute-force search."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rules.scanner
from rules.normalize import is_word_char, normalize, normalize_with_offsets
from rules.scanner import EmptyWordError, Hit, Scanner

T = TypeVar("T")


def found(scanner: Scanner[str], text: str) -> list[tuple[str, str]]:
    """(word id, original slice) of every hit."""
    return [(h.word_id, text[h.start : h.end]) for h in scanner.scan(text)]


ENGINES = {"hyperscan": 10**9, "aho-corasick": 0}  # value: _HYPERSCAN_MAX_PATTERNS


def build(words: Iterable[tuple[T, str]], engine: str) -> Scanner[T]:
    """A scanner on the given engine (Hyperscan unless there are many words)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rules.scanner, "_HYPERSCAN_MAX_PATTERNS", ENGINES[engine])
        return Scanner(words)


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def scanner(engine: str) -> Scanner[str]:
    return build(
        [
            ("epidemic", "疫情"),
            ("confirmed", "確診"),
            ("tongnan", "潼南"),
            ("tongnan-district", "潼南区"),
            ("south-district", "南区"),
            ("mac", "mac"),
            ("covid", "COVID"),
            ("110", "110"),
            ("b-ultrasound", "B超"),
            ("karaoke", "卡拉OK"),
            ("macbook", "mac book"),
        ],
        engine,
    )


@pytest.mark.parametrize(
    "evaded",
    [
        "疫情",
        "疫@情",
        "疫 情",
        "疫/情",
        "疫.情",
        "疫*情",
        "疫\u200b情",
        "疫-情",
        "疫　情",
        "疫 @ 情",
    ],
)
def test_evasions_match_with_original_offsets(scanner: Scanner[str], evaded: str) -> None:
    text = f"重庆{evaded}通报"
    assert found(scanner, text) == [("epidemic", evaded)]


def test_traditional_and_full_width(scanner: Scanner[str]) -> None:
    assert found(scanner, "新增确诊病例") == [("confirmed", "确诊")]
    assert found(scanner, "新增確 診病例") == [("confirmed", "確 診")]
    assert found(scanner, "ＣＯＶＩＤ－１９") == [("covid", "ＣＯＶＩＤ")]


def test_overlapping_words_are_all_reported(scanner: Scanner[str]) -> None:
    assert found(scanner, "重庆市潼南区") == [
        ("tongnan", "潼南"),
        ("tongnan-district", "潼南区"),
        ("south-district", "南区"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mac", ["mac"]),
        ("MAC电脑", ["MAC"]),
        ("买了mac。", ["mac"]),
        ("mac-mini", ["mac"]),
        ("mac_mini", ["mac"]),
        ("ｍａｃ", ["ｍａｃ"]),
        ("machine", []),
        ("imac", []),
        ("mac2", []),
        ("macbook", []),
    ],
)
def test_latin_words_match_whole_words_only(
    scanner: Scanner[str], text: str, expected: list[str]
) -> None:
    assert [s for word_id, s in found(scanner, text) if word_id == "mac"] == expected


def test_latin_edge_rules(scanner: Scanner[str]) -> None:
    assert found(scanner, "COVID-19") == [("covid", "COVID")]
    assert found(scanner, "covid19") == []
    assert found(scanner, "拨打110报警") == [("110", "110")]
    assert found(scanner, "1100") == []
    # Only an end that is a letter or digit needs a boundary.
    assert found(scanner, "做B超检查") == [("b-ultrasound", "B超")]
    assert found(scanner, "AB超") == []
    assert found(scanner, "唱卡拉OK吧") == [("karaoke", "卡拉OK")]
    assert found(scanner, "卡拉OKAY") == []
    # Spaces inside a Latin word are kept, not skipped.
    assert found(scanner, "new mac book") == [("mac", "mac"), ("macbook", "mac book")]
    assert found(scanner, "new macbook") == []


def test_astral_characters_before_a_hit(scanner: Scanner[str]) -> None:
    text = "😷😷𠀀疫情🄀,mac"
    assert found(scanner, text) == [("epidemic", "疫情"), ("mac", "mac")]


def test_hits_carry_normalised_positions(scanner: Scanner[str]) -> None:
    text = "当地疫@情"
    (hit,) = scanner.scan(text)
    assert hit == Hit("epidemic", 2, 5, 2, 4)
    normalized = normalize_with_offsets(text)
    assert normalized.text[hit.norm_start : hit.norm_end] == "疫情"
    assert scanner.scan_normalized(normalized) == [hit]


def test_words_with_the_same_normal_form_share_hits(engine: str) -> None:
    scanner = build([(1, "確診"), (2, "确诊"), (3, "确 诊")], engine)
    assert [h.word_id for h in scanner.scan("确诊")] == [1, 2, 3]
    assert len(scanner) == 3


@pytest.mark.parametrize("word", ["", "\u200b", "\ufe0f\u200d"])
def test_words_that_normalise_to_nothing_are_rejected(word: str) -> None:
    with pytest.raises(EmptyWordError, match="'w7'") as error:
        Scanner([("ok", "疫情"), ("w7", word)])
    assert error.value.word == word
    assert repr(word) in str(error.value)


def test_empty_scanner_and_text(engine: str) -> None:
    assert build([], engine).scan("疫情") == []
    assert build([(1, "疫情")], engine).scan("") == []


def test_hits_are_ordered_by_end(scanner: Scanner[str]) -> None:
    hits = scanner.scan("mac 疫情 潼南区 covid 確診 mac")
    assert [h.end for h in hits] == sorted(h.end for h in hits)


def test_large_word_sets_switch_engine() -> None:
    few = Scanner([(1, "疫情")])
    many = build([(1, "疫情")], "aho-corasick")
    assert type(few._engine) is not type(many._engine)


def test_concurrent_scans_share_one_scanner(scanner: Scanner[str]) -> None:
    texts = [f"第{i}条：潼南区疫@情，mac covid-19 確診" * (1 + i % 5) for i in range(40)]
    expected = [scanner.scan(t) for t in texts]
    with ThreadPoolExecutor(6) as pool:
        # Hyperscan releases the GIL while scanning, so these scans really overlap.
        results = list(pool.map(scanner.scan, texts * 10))
    assert results == expected * 10


# --- properties ----------------------------------------------------------------------------

ALPHABET = "疫情確诊潼南区發后ab Ab1-@.，。\u200bＡ😀"
EXPANDING = "㈱ﬁ\u0301…🄀"


def brute_force(words: Sequence[str], text: str) -> set[tuple[int, int, int]]:
    """(word index, start, end) of every whole-word occurrence in the normalised text."""
    normal = normalize(text)
    hits = set()
    for index, word in enumerate(map(normalize, words)):
        at = normal.find(word)
        while at >= 0:
            end = at + len(word)
            left_ok = not (is_word_char(word[0]) and at and is_word_char(normal[at - 1]))
            right_ok = not (
                is_word_char(word[-1]) and end < len(normal) and is_word_char(normal[end])
            )
            if left_ok and right_ok:
                hits.add((index, at, end))
            at = normal.find(word, at + 1)
    return hits


words_strategy = st.lists(
    st.text(st.sampled_from(ALPHABET), min_size=1, max_size=3).filter(lambda w: normalize(w)),
    min_size=1,
    max_size=8,
)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=100, deadline=None)
@given(words=words_strategy, text=st.text(st.sampled_from(ALPHABET), max_size=60))
def test_hits_are_exactly_the_occurrences(engine: str, words: list[str], text: str) -> None:
    scanner = build(enumerate(words), engine)
    hits = scanner.scan(text)
    assert {(h.word_id, h.norm_start, h.norm_end) for h in hits} == brute_force(words, text)
    for hit in hits:
        # No expansions in this alphabet: the original slice is exactly the word.
        assert normalize(text[hit.start : hit.end]) == normalize(words[hit.word_id])


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=60, deadline=None)
@given(words=words_strategy, text=st.text(st.sampled_from(ALPHABET + EXPANDING), max_size=60))
def test_hit_slices_contain_the_word(engine: str, words: list[str], text: str) -> None:
    for hit in build(enumerate(words), engine).scan(text):
        # A slice can be wider than the word where the word starts or ends inside an
        # expansion (㈱ -> (株)) or a composed cluster.
        assert normalize(words[hit.word_id]) in normalize(text[hit.start : hit.end])


# Stand-ins of the sound form, Chinese, Latin and astral characters (two code units each),
# with bytes that also pair up across two characters (\ue001\ue0e0 holds e0 01 e0 read
# from an odd offset).
MIXED_ALPHABET = "\ue000\ue001\ue0e0\ue1ff\u4e00\u4e01ab\U00020000\U0001f600 "


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.text(alphabet=MIXED_ALPHABET, min_size=1, max_size=4), max_size=20),
    text=st.text(alphabet=MIXED_ALPHABET, max_size=60),
)
def test_mixed_code_units_find_what_plain_ones_do(words: list[str], text: str) -> None:
    """``mixed=True`` changes how Hyperscan is fed, not what is found: the same hits at the
    same places, astral characters and units straddling two characters included."""
    words = [w for w in words if w.strip()]
    plain = Scanner(enumerate(words), normalized=True)
    mixed = Scanner(enumerate(words), normalized=True, mixed=True)
    assert mixed.locate(text) == plain.locate(text)

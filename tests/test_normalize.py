"""Behaviour of rules.normalize: each rule with original offsets, and the fast path against
a slow reference written straight from the rules (sharing no tables with the module)."""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np
import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import normalize as normalize_module
from rules.normalize import (
    BOUNDARY_PUNCTUATION,
    MAX_NOISE_RUN,
    View,
    is_cjk,
    is_word_char,
    normalize,
    normalize_sounds_and_view,
    normalize_sounds_view_default,
    normalize_with_offsets,
)

# --- the reference -------------------------------------------------------------------------

_EXTRA_IGNORABLE = {
    0x034F,
    0x115F,
    0x1160,
    0x17B4,
    0x17B5,
    0x180B,
    0x180C,
    0x180D,
    0x180F,
    0x3164,
    0xFFA0,
    *range(0xFE00, 0xFE10),
    *range(0xE0100, 0xE01F0),
}
_OPENCC = opencc.OpenCC("t2s")


def ref_ignorable(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or ord(char) in _EXTRA_IGNORABLE


def ref_cjk(char: str) -> bool:
    name = unicodedata.name(char, "")
    return char == "〇" or name.startswith(
        ("CJK UNIFIED IDEOGRAPH-", "CJK COMPATIBILITY IDEOGRAPH-")
    )


def ref_line_break(char: str) -> bool:
    return len(f"a{char}b".splitlines()) == 2


def ref_noise(char: str) -> bool:
    return not (
        char.isalnum() or ref_cjk(char) or char in BOUNDARY_PUNCTUATION or ref_line_break(char)
    )


@functools.cache
def ref_t2s(char: str) -> str:
    converted = _OPENCC.convert(char)
    return char if converted == char else "".join(map(ref_t2s, converted))


def reference(text: str) -> str:
    text = "".join(c for c in text if not ref_ignorable(c))
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = "".join("\ufffd" if unicodedata.category(c) == "Cs" else ref_t2s(c) for c in text)
    out: list[str] = []
    i = 0
    while i < len(text):
        out.append(text[i])
        i += 1
        if ref_cjk(text[i - 1]):
            j = i
            while j < len(text) and ref_noise(text[j]):
                j += 1
            if 1 <= j - i <= MAX_NOISE_RUN and j < len(text) and ref_cjk(text[j]):
                i = j
    return "".join(out)


# Characters that exercise every rule; hypothesis mixes them with arbitrary ones.
INTERESTING = (
    "疫情确诊確診潼南區区發发後后乾隆薴苧髮國"  # simplified and traditional
    "ＡＢＣａｂｃ１２３ABCabcXyz0190"  # full width, case
    "@ /.*-_#~·'\"=+|\\"  # noise
    "，。、！？；：（）《》“”—,;:?!"  # clause punctuation
    "\u200b\u200c\u200d\ufeff\u00ad\u2060\u202e\ufe0f\u034f\u3164\U000e0041"  # ignorable
    "\u0301\u0323\u0308\u0327\u0345"  # combining marks
    "\u1100\u1161\u11a8가각"  # conjoining jamo
    "ﬁﬃ㈱ßẞİΣσς½ⅫⅻÅ¨…‥"  # NFKC/casefold expansions
    "😀👍🏻𝐀𝐳🄀🄪"  # astral
    "\n\r\t\u3000\u00a0\u2028"  # spaces and line breaks
    "〇豈𠀀𪚥"  # other ideographs
    "\udc80\ud800"  # lone surrogates (undecodable input)
)
texts = st.text(
    st.one_of(
        st.sampled_from(INTERESTING),
        st.characters(exclude_categories=("Cs", "Cn")),
    ),
    max_size=40,
)


# --- each rule -----------------------------------------------------------------------------


def test_full_width_and_case() -> None:
    assert normalize("ＡＢＣ１２３") == "abc123"
    assert normalize("ＣＯＶＩＤ－１９") == "covid-19"
    assert normalize("Straße ǅ") == "strasse dž"


def test_traditional_to_simplified() -> None:
    assert normalize("疫情確診") == "疫情确诊"
    assert normalize("發現後") == "发现后"
    # Chained single-character conversions end at the simplified form.
    assert normalize("薴") == normalize("苧") == "苎"


@pytest.mark.parametrize(
    "invisible", ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060", "\ufe0f", "\u3164"]
)
def test_invisible_characters_are_removed(invisible: str) -> None:
    original = f"发现疫{invisible}情了"
    result = normalize_with_offsets(original)
    assert result.text == "发现疫情了"
    start, end = result.span(2, 4)
    assert original[start:end] == f"疫{invisible}情"


@pytest.mark.parametrize(
    "noise", ["@", " ", "/", ".", "*", "-", "\u3000", "＠", "／", " @ ", "…", "😷", "\u0336"]
)
def test_noise_between_cjk_is_skipped(noise: str) -> None:
    original = f"当地疫{noise}情严重"
    result = normalize_with_offsets(original)
    assert result.text == "当地疫情严重"
    start, end = result.span(2, 4)
    assert original[start:end] == f"疫{noise}情"
    assert result.span(4, 6) == (len(original) - 2, len(original))


@pytest.mark.parametrize(
    "text",
    [
        "疫" + "@" * (MAX_NOISE_RUN + 1) + "情",  # too long a run
        "疫,情",  # clause punctuation (，after NFKC) is a boundary
        "疫。情",
        "疫、情",
        "疫\n情",  # so is a line break
        "疫x情",  # letters and digits are not noise
        "疫1情",
        "a@b",  # noise is only skipped between CJK
        "疫@b",
        "mac book",  # Latin words stay apart
    ],
)
def test_noise_rule_limits(text: str) -> None:
    assert normalize(text) == text


def test_noise_runs_are_independent() -> None:
    assert normalize("疫@情@况,疫 情") == "疫情况,疫情"


def test_offsets_through_expansions() -> None:
    original = "㈱ﬁ疫情"
    # Without the enclosed option NFKC writes ㈱ with its brackets.
    result = normalize_with_offsets(original, View(enclosed=False))
    assert result.text == "(株)fi疫情"
    assert result.span(1, 2) == (0, 1)  # 株 comes from ㈱
    assert result.span(3, 5) == (1, 2)  # fi from ﬁ
    assert result.span(5, 7) == (2, 4)
    result = normalize_with_offsets(original)
    assert result.text == "株fi疫情"
    assert result.span(0, 1) == (0, 1)
    assert result.span(1, 3) == (1, 2)


def test_offsets_through_composition() -> None:
    # Ignorables go first, so the mark still composes with the e before the ZWSP.
    original = "café\u200b\u0301 e\u200b\u0301"
    result = normalize_with_offsets(original)
    assert result.text == "café\u0301 é"
    assert result.span(6, 7) == (7, 10)


def test_astral_characters() -> None:
    original = "😀𝐂𝐎𝐕𝐈𝐃疫🄀情"
    result = normalize_with_offsets(original)
    assert result.text == "😀covid疫0情"
    assert result.span(1, 6) == (1, 6)


def test_lone_surrogates_become_replacement_characters() -> None:
    assert normalize("a\udc80b") == "a\ufffdb"
    assert normalize("疫\udc80情") == "疫情"  # U+FFFD is a symbol: noise between CJK
    assert normalize("\udc80\u0301") == "\ufffd\u0301"


def test_empty() -> None:
    assert normalize("") == ""
    assert normalize("\u200b\ufeff") == ""


def test_is_cjk_agrees_with_unicode_names() -> None:
    for cp in range(0x110000):
        char = chr(cp)
        if unicodedata.category(char) not in ("Cn", "Cs"):
            assert is_cjk(char) == ref_cjk(char), hex(cp)


def test_word_characters() -> None:
    assert is_word_char("a") and is_word_char("Ω") and is_word_char("٣")
    assert not is_word_char("疫") and not is_word_char("-") and not is_word_char("_")


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(texts)
def test_fast_path_equals_reference(text: str) -> None:
    # The reference is the normal form without group options (enclosed forms as NFKC has
    # them); with the default options enclosed forms are opened first, as tested below.
    assert normalize(text, View(enclosed=False)) == reference(text)


ENCLOSED = {"Ⓓ": "d", "⒢": "g", "⑴": "1", "⒈": "1", "㈠": "一", "㊀": "一", "🅐": "a", "❶": "1",
            "⑽": "10", "🄀": "0", "㈱": "株"}  # fmt: skip


def test_enclosed_forms_open_to_what_they_enclose() -> None:
    for char, inside in ENCLOSED.items():
        assert normalize(char) == inside, char
        assert normalize(f"疫{char}情") == f"疫{inside}情"


@settings(max_examples=200, deadline=None)
@given(texts)
def test_enclosed_option_only_opens_enclosed_forms(text: str) -> None:
    opened = "".join(ENCLOSED.get(c, c) for c in text)
    if all(c in ENCLOSED or not 0x2460 <= ord(c) <= 0x32FF for c in text) and not any(
        0x1F100 <= ord(c) <= 0x1F1FF and c not in ENCLOSED for c in text
    ):
        assert normalize(text) == reference(opened)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=150, deadline=None)
@given(texts, st.data())
def test_spans_map_back_to_the_original(text: str, data: st.DataObject) -> None:
    result = normalize_with_offsets(text)
    size = len(result.text)
    if not size:
        return
    start = data.draw(st.integers(0, size - 1))
    end = data.draw(st.integers(start + 1, size))
    original_start, original_end = result.span(start, end)
    assert 0 <= original_start < original_end <= len(text)
    # The original characters normalise to (at least) the same text: more only when the
    # span cuts through an expansion such as ㈱ -> (株) or a composed cluster.
    assert result.text[start:end] in normalize(text[original_start:original_end])


@settings(max_examples=100, deadline=None)
@given(texts)
def test_batched_spans_equal_single_spans(text: str) -> None:
    result = normalize_with_offsets(text)
    size = len(result.text)
    pairs = [(s, e) for s in range(size) for e in range(s + 1, min(size, s + 4) + 1)]
    pairs *= 1 + 40 // max(len(pairs), 1)  # enough for the array path
    starts, ends = result.spans([s for s, _ in pairs], [e for _, e in pairs])
    assert list(zip(starts, ends, strict=True)) == [result.span(s, e) for s, e in pairs]


LATIN_AND_REPEATS = st.text(
    st.sampled_from([*"abcoi0134@$[]. 中文疫情】【", "ⓐ", "⑴", "а", "ο", "\u200b"]), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(texts, LATIN_AND_REPEATS),
    st.sampled_from(("off", "cjk", "latin", "brackets")),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_sounds_and_view_in_one_run_equal_each_alone(
    text: str, noise: str, enclosed: bool, lookalikes: bool, repeats: bool
) -> None:
    view = View(enclosed, noise, lookalikes, repeats)  # type: ignore[arg-type]
    sounds, viewed = normalize_sounds_and_view(text, view)
    also_sounds, also_viewed, make_default = normalize_sounds_view_default(text, view)
    assert (also_sounds.text, also_viewed.text) == (sounds.text, viewed.text)
    for together, alone in (
        (sounds, normalize_with_offsets(text, view._replace(lookalikes=False, repeats=False))),
        (viewed, normalize_with_offsets(text, view)),
        # The default normal form made from the passes shared with the view (NEAR's).
        (make_default(), normalize_with_offsets(text)),
    ):
        assert (together.text, together.joins, together.runs) == (
            alone.text,
            alone.joins,
            alone.runs,
        )
        size = len(alone.text)
        pairs = [(s, e) for s in range(size) for e in range(s + 1, min(size, s + 3) + 1)] * 3
        starts, ends = [s for s, _ in pairs], [e for _, e in pairs]
        assert together.spans(starts, ends) == alone.spans(starts, ends)
        assert list(zip(*alone.spans(starts, ends), strict=True)) == [
            alone.span(s, e) for s, e in pairs
        ]
        # Original spans to normal-form ones (NEAR places its hits so).
        originals = [(s, e) for s in range(len(text)) for e in range(s + 1, len(text) + 1)]
        assert [together.locate(s, e) for s, e in originals] == [
            alone.locate(s, e) for s, e in originals
        ]


def _lookbehind_forms() -> dict[str, re.Pattern[str]]:
    """The Latin noise patterns as first written (a lookbehind before the noise)."""
    latin, digits = normalize_module._LATIN, normalize_module._LOOKALIKE_DIGITS
    run = normalize_module._NOISE_RUN
    plain_run = run.replace(re.escape(normalize_module._LOOKALIKE_SYMBOLS), "")
    return {
        "plain": re.compile(f"(?<=[{latin}]){plain_run}(?=[{latin}])"),
        "lookalikes": re.compile(
            f"(?<=[{latin}]){run}(?=[{latin}{digits}])|(?<=[{digits}]){run}(?=[{latin}])"
        ),
        "spaced": re.compile(f"(?<![{latin}\\d])[{latin}](?: [{latin}]){{2,}}(?![{latin}\\d])"),
    }


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet="ab ɐя1305.-_@$!，,中\n", max_size=40),
    st.integers(0, 40),
    st.integers(0, 40),
)
def test_latin_noise_patterns_match_as_their_lookbehind_forms(text: str, a: int, b: int) -> None:
    lo, hi = sorted((min(a, len(text)), min(b, len(text))))
    old = _lookbehind_forms()
    for lookalikes, name in ((False, "plain"), (True, "lookalikes")):
        assert normalize_module._latin_noise(text, lookalikes, lo, hi) == [
            m.span() for m in old[name].finditer(text, lo, hi)
        ]
    assert [m.span() for m in normalize_module._SPACED_LETTERS.finditer(text, lo, hi)] == [
        m.span() for m in old["spaced"].finditer(text, lo, hi)
    ]


@pytest.mark.parametrize(
    "text", ["a b c疫情", "疫情 x y z", "中a.b.c", "0pen 疫情", "疫情 x@y", "1 2 a b c"]
)
@pytest.mark.parametrize("noise", ["latin", "brackets"])
def test_latin_passes_of_both_views_reach_the_first_and_last_letter(text: str, noise: str) -> None:
    # The range of Latin letters is found once for both views: its ends matter.
    view = View(True, noise, True, True)  # type: ignore[arg-type]
    sounds, viewed = normalize_sounds_and_view(text, view)
    for together, alone in (
        (sounds, normalize_with_offsets(text, view._replace(lookalikes=False, repeats=False))),
        (viewed, normalize_with_offsets(text, view)),
    ):
        assert (together.text, together.joins) == (alone.text, alone.joins)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(texts, LATIN_AND_REPEATS),
    st.sampled_from(("off", "cjk", "latin", "brackets")),
    st.booleans(),
    st.booleans(),
)
def test_code_points_a_normal_form_carries_are_those_of_its_text(
    text: str, noise: str, lookalikes: bool, repeats: bool
) -> None:
    # The sound form and the repeats pass read them instead of encoding the text again.
    view = View(True, noise, lookalikes, repeats)  # type: ignore[arg-type]
    for normalized in normalize_sounds_and_view(text, view):
        if normalized.codes is not None:
            assert [chr(c) for c in normalized.codes.tolist()] == list(normalized.text)
        # Spans given as arrays map back as the same spans given as lists.
        size = len(normalized.text)
        pairs = [(s, e) for s in range(size) for e in range(s + 1, min(size, s + 3) + 1)] * 3
        starts, ends = [s for s, _ in pairs], [e for _, e in pairs]
        as_arrays = normalized.spans_of(
            np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
        )
        assert as_arrays == normalized.spans(starts, ends)

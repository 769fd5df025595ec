"""``Matcher.match_many`` returns exactly what one ``Matcher.match`` call per item returns,
for generated libraries (every variant option), rules and texts, including texts that
start with a combining mark (which composes with the line break the batch joins texts by)
and texts that are empty or hold line breaks themselves."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keywords.matcher as matcher_module
from keywords.matcher import Matcher
from keywords.model import Library

WORDS = ["潼南", "火灾", "疫情", "spam", "covid", "谢谢", "张三", "ab"]
PIECES = [
    *WORDS,
    "潼",
    "火",
    "情",
    "疫",
    "，",
    "。",
    " ",
    "\n",
    "\r\n",
    "@",
    "]",
    "【",
    "\u200b",  # zero width space: removed
    "\u0301",  # combining acute accent: composes with what is before it
    "e",
    "Ⓓ",
    "⑴",
    "c0vid",
    "spaaam",
    "s p a m",
    "yiqing",
    "YQ",
    "易情",
    "弓长",
    "疫疫情",
    "火火",
    "𠀀",
]
OPTIONS = st.fixed_dictionaries(
    {
        "enclosed": st.booleans(),
        "noise": st.sampled_from(["off", "cjk", "latin", "brackets"]),
        "lookalikes": st.booleans(),
        "repeats": st.booleans(),
        "pinyin": st.booleans(),
        "homophones": st.booleans(),
        "split": st.booleans(),
    }
)
leaf = st.sampled_from([*WORDS, "@g0", "@g1", "@g2"])
expression = st.one_of(
    leaf,
    st.builds(lambda a, b: f"{a} {b}", leaf, leaf),
    st.builds(lambda a, b: f"{a} NOT {b}", leaf, leaf),
    st.builds(lambda a, b: f"({a} OR {b})", leaf, leaf),
    st.builds(lambda a, b, n: f"{a} NEAR/{n} {b}", leaf, leaf, st.integers(0, 4)).filter(
        lambda e: e.split()[0] != e.split()[-1]
    ),
    st.builds(lambda f, a: f"{f}:{a}", st.sampled_from(["title", "body"]), leaf),
)
text = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


def library(options: list[dict[str, Any]], expressions: list[str], longest: bool) -> Library:
    groups = [
        {"name": "g0", "words": ["潼南", "双江镇", "spam"], "options": options[0]},
        {"name": "g1", "words": ["火灾", "起火", "covid", "火火"], "options": options[1]},
        {"name": "g2", "words": ["疫情", "谢谢", "张"], "options": options[2]},
    ]
    rules = [
        {"name": f"r{i}", "expression": e, "overlaps": "longest" if longest and i % 2 else "all"}
        for i, e in enumerate(expressions)
    ]
    return Library.model_validate({"groups": groups, "rules": rules})


def one_by_one(matcher: Matcher, items: list[tuple[str, str]], **kw: Any) -> list[Any]:
    return [asdict(matcher.match(title, body, **kw)) for title, body in items]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(OPTIONS, min_size=3, max_size=3),
    st.lists(expression, min_size=1, max_size=5),
    st.lists(st.tuples(text, text), max_size=8),
    st.booleans(),
    st.sampled_from([None, "longest"]),
    st.booleans(),
)
def test_match_many_is_match_of_each(
    options: list[dict[str, Any]],
    expressions: list[str],
    items: list[tuple[str, str]],
    longest_rules: bool,
    overlaps: Any,
    explain: bool,
) -> None:
    matcher = Matcher(library(options, expressions, longest_rules))
    items = [*items, ("潼南起火", "演练 火灾"), ("\u0301疫情", "yiqing spam"), ("", "")]
    many = [asdict(r) for r in matcher.match_many(items, overlaps=overlaps, explain=explain)]
    assert many == one_by_one(matcher, items, overlaps=overlaps, explain=explain)


def test_batches_split_long_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many small batches give the same results as one (and as one call each)."""
    matcher = Matcher(library([{}, {}, {}], ["@g0 NEAR/3 @g1", "@g2 NOT spam"], False))
    items = [(f"潼南{'，' * k}起火", f"疫情 {k} spam\n双江镇火灾") for k in range(40)]
    expected = one_by_one(matcher, items)
    assert [asdict(r) for r in matcher.match_many(items)] == expected
    monkeypatch.setattr(matcher_module, "_BATCH_CHARS", 30)
    assert [asdict(r) for r in matcher.match_many(iter(items))] == expected
    assert sum(len(r["hits"]) for r in expected) > 100


def test_facts_are_given_per_item() -> None:
    lib = Library.model_validate(
        {
            "groups": [{"name": "fire", "words": ["起火"]}],
            "rules": [{"name": "local", "expression": "@fire region:500223"}],
        }
    )
    matcher = Matcher(lib)
    items = [("起火", ""), ("起火", "")]
    found = matcher.match_many(items, facts=[["region:500223"], []])
    assert [r.rules for r in found] == [["local"], []]
    with pytest.raises(ValueError, match="one set of facts per item"):
        matcher.match_many(items, facts=[[]])


def test_near_counts_in_each_batched_texts_default_form() -> None:
    """A NEAR between a group of the default view and one of another view: the other's
    hits are moved into the default form of their own text (here ``@`` between ideographs
    is dropped there), also when the batch hands that form out as a slice of the whole."""
    lib = Library.model_validate(
        {
            "groups": [
                {"name": "place", "words": ["潼南"]},
                {"name": "fire", "words": ["火灾"], "options": {"noise": "off"}},
            ],
            "rules": [{"name": "near", "expression": "@place NEAR/0 @fire"}],
        }
    )
    matcher = Matcher(lib)
    items = [("", "潼南@@@火灾"), ("", "起火"), ("", "@潼南@火灾")]
    expected = one_by_one(matcher, items)
    assert [r["rules"] for r in expected] == [["near"], [], ["near"]]
    assert [asdict(r) for r in matcher.match_many(items)] == expected

"""The in-process matcher: operators, scope, proximity, evasion, offsets."""

from __future__ import annotations

import pytest

from keywords.matcher import Matcher, run_rule_tests
from keywords.model import Library

GROUPS = [
    {
        "name": "潼南地名",
        "category": "region",
        "words": ["潼南", "双江镇", {"text": "梓潼", "aliases": ["梓潼街道"]}],
    },
    {"name": "疫情词", "category": "event", "words": ["疫情", "确诊", "COVID"]},
    {"name": "火灾词", "category": "event", "words": ["火灾", "起火"]},
    {"name": "排除词", "category": "exclusion", "words": ["演练", "演习"]},
]


def matcher(*rules: dict[str, object]) -> Matcher:
    return Matcher(Library.model_validate({"groups": GROUPS, "rules": list(rules)}), 7)


def rules(m: Matcher, title: str, body: str = "") -> list[str]:
    return m.match(title, body).rules


def r(name: str, expression: str, **kw: object) -> dict[str, object]:
    return {"name": name, "expression": expression, **kw}


def test_and_or_not_and_precedence() -> None:
    m = matcher(
        r("and", "@潼南地名 @火灾词"),
        r("or", "疫情 OR 火灾"),
        r("not", "@潼南地名 @火灾词 NOT @排除词"),
        r("prec", "潼南 疫情 OR 火灾"),
        r("paren", "潼南 (疫情 OR 火灾)"),
    )
    assert rules(m, "潼南发生火灾") == ["and", "or", "not", "prec", "paren"]
    assert rules(m, "双江镇发生火灾") == ["and", "or", "not", "prec"]
    assert rules(m, "双江镇开展火灾演练") == ["and", "or", "prec"]
    assert rules(m, "潼南疫情") == ["or", "prec", "paren"]
    assert rules(m, "北京火灾") == ["or", "prec"]
    assert rules(m, "潼南天气") == []


def test_scope_title_only_and_field_prefix() -> None:
    m = matcher(
        r("title-rule", "@潼南地名 @疫情词", scope="title"), r("mixed", "title:潼南 body:疫情")
    )
    assert rules(m, "潼南疫情", "") == ["title-rule"]
    assert rules(m, "潼南新闻", "新增确诊") == []
    assert rules(m, "潼南新闻", "疫情通报") == ["mixed"]
    assert rules(m, "疫情通报", "潼南") == []


@pytest.mark.parametrize(
    ("text", "near3", "near2"),
    [
        ("潼南区双江火灾", True, False),  # three tokens between: 区双江
        ("火灾在潼南", True, True),  # either order
        ("潼南，区双火灾", True, False),  # a run of punctuation is one token
        ("潼南区 abc 江火灾", True, False),  # a Latin word counts as one token
        ("潼南区双江镇火灾", False, False),
    ],
)
def test_near_counts_tokens_between_at_the_boundary(text: str, near3: bool, near2: bool) -> None:
    m = matcher(r("n3", "潼南 NEAR/3 火灾"), r("n2", "潼南 NEAR/2 火灾"))
    assert ("n3" in rules(m, "", text)) is near3
    assert ("n2" in rules(m, "", text)) is near2


def test_near_must_be_in_one_field() -> None:
    m = matcher(r("n", "潼南 NEAR/50 火灾"))
    assert rules(m, "潼南", "火灾") == []


def test_same_sentence_and_same_paragraph() -> None:
    m = matcher(r("s", "@潼南地名 NEAR/S @火灾词"), r("p", "@潼南地名 NEAR/P @火灾词"))
    assert rules(m, "", "昨天潼南发生了一起严重的火灾，无人员伤亡。") == ["s", "p"]
    assert rules(m, "", "潼南天气晴。北京发生火灾。") == ["p"]
    assert rules(m, "", "潼南天气晴\n北京发生火灾") == []


def test_evasion_is_matched_with_original_offsets() -> None:
    m = matcher(r("e", "@潼南地名 @疫情词"))
    for title, evaded in [
        ("潼南疫@情扩散", "疫@情"),
        ("潼南疫 情扩散", "疫 情"),
        ("潼南疫/情扩散", "疫/情"),
        ("潼南疫\u200b情扩散", "疫\u200b情"),
        ("潼南確診病例", "確診"),
        ("潼南ＣＯＶＩＤ病例", "ＣＯＶＩＤ"),
        ("潼南covid-19", "covid"),
    ]:
        result = m.match(title, "")
        assert result.rules == ["e"], title
        spans = {title[h["start"] : h["end"]] for h in result.hits}
        assert spans == {"潼南", evaded}, title


def test_latin_words_match_whole_words_only() -> None:
    m = matcher(r("l", "covid 潼南"))
    assert rules(m, "潼南 covidiot") == []
    assert rules(m, "潼南 COVID") == ["l"]


def test_hits_name_word_group_rule_and_field() -> None:
    m = matcher(r("fire", "@潼南地名 @火灾词 NOT @排除词", severity="critical"))
    title, body = "梓潼街道火灾", "梓潼街道一商铺起火。"
    result = m.match(title, body)
    assert result.rules == ["fire"] and result.severity == "critical" and result.version == 7
    hits = sorted((h["field"], h["word"], h["group"], h["start"], h["end"]) for h in result.hits)
    assert hits == [
        ("body", "梓潼", "潼南地名", 0, 2),
        ("body", "梓潼街道", "潼南地名", 0, 4),
        ("body", "起火", "火灾词", 7, 9),
        ("title", "梓潼", "潼南地名", 0, 2),
        ("title", "梓潼街道", "潼南地名", 0, 4),
        ("title", "火灾", "火灾词", 4, 6),
    ]
    assert all(h["rule"] == "fire" for h in result.hits)


def test_literal_words_need_no_group() -> None:
    m = matcher(r("lit", '"C++" OR "a(b)"'))
    assert m.match("学习C++", "").hits[0]["group"] is None
    assert rules(m, "x a(b) y") == ["lit"]


def test_disabled_rules_and_groups_are_left_out() -> None:
    library = Library.model_validate(
        {
            "groups": [*GROUPS, {"name": "off", "words": ["关"], "enabled": False}],
            "rules": [r("on", "火灾"), r("off-rule", "火灾", enabled=False)],
        }
    )
    assert Matcher(library).match("火灾", "").rules == ["on"]


def test_rule_test_sentences() -> None:
    m = matcher(
        r(
            "fire",
            "@潼南地名 @火灾词 NOT @排除词",
            must_match=["双江镇火灾", "潼南一民房起火"],
            must_not_match=["潼南火灾演练", "北京火灾"],
        ),
        r("bad", "潼南 疫情", must_match=["潼南天气"], must_not_match=["潼南疫情"]),
    )
    assert run_rule_tests(m) == [
        ("bad", "潼南天气", "should match"),
        ("bad", "潼南疫情", "should not match"),
    ]

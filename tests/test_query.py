from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.syntax import (
    And,
    GroupRef,
    Near,
    Not,
    Or,
    ParseError,
    Scoped,
    Word,
    expand_groups,
    group_names,
    parse,
)


def test_juxtaposition_is_and_and_binds_tighter_than_or() -> None:
    assert parse("潼南 疫情 OR 火灾") == Or((And((Word("潼南"), Word("疫情"))), Word("火灾")))


def test_explicit_and_equals_juxtaposition() -> None:
    assert parse("潼南 AND 疫情") == parse("潼南 疫情")


def test_not_binds_tighter_than_and() -> None:
    assert parse("疫情 NOT 演练 潼南") == And((Word("疫情"), Not(Word("演练")), Word("潼南")))


def test_parentheses_override_precedence() -> None:
    assert parse("潼南 (疫情 OR 火灾)") == And((Word("潼南"), Or((Word("疫情"), Word("火灾")))))


def test_near_binds_tightest_and_takes_units() -> None:
    assert parse("潼南 NEAR/20 火灾 疫情") == And(
        (Near(Word("潼南"), Word("火灾"), "char", 20), Word("疫情"))
    )
    assert parse("a NEAR/S b").unit == "sentence"  # type: ignore[union-attr]
    assert parse("a NEAR/P b").unit == "paragraph"  # type: ignore[union-attr]


def test_near_accepts_alternatives() -> None:
    node = parse("潼南 NEAR/5 (火灾 OR 起火)")
    assert node == Near(Word("潼南"), Or((Word("火灾"), Word("起火"))), "char", 5)


def test_field_scope_is_pushed_to_the_words() -> None:
    assert parse("title:(疫情 OR 确诊)") == Or(
        (Scoped("title", Word("疫情")), Scoped("title", Word("确诊")))
    )
    assert parse("body:(a NOT b)") == And(
        (Scoped("body", Word("a")), Not(Scoped("body", Word("b"))))
    )


def test_quoted_words_are_literal() -> None:
    assert parse('"C++" "(" "AND" "a b"') == And((Word("C++"), Word("("), Word("AND"), Word("a b")))
    assert parse(r'"say \"hi\""') == Word('say "hi"')


def test_lower_case_operators_are_words() -> None:
    assert parse("a and b") == And((Word("a"), Word("and"), Word("b")))


def test_groups() -> None:
    node = parse("@潼南地名 AND @疫情词")
    assert group_names(node) == {"潼南地名", "疫情词"}
    words = {"潼南地名": ["潼南", "梓潼"], "疫情词": ["疫情"]}
    assert expand_groups(node, words.__getitem__) == And(
        (Or((Word("潼南"), Word("梓潼"))), Word("疫情"))
    )
    assert parse("@g") == GroupRef("g")


@pytest.mark.parametrize(
    ("expr", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("(潼南 疫情", 6, "expected ')'"),
        ("潼南 OR", 5, "expected a word"),
        ("潼南 )", 3, "expected an operator"),
        ('"unterminated', 0, "unterminated"),
        ("a NEAR/x b", 2, "NEAR takes a distance"),
        ("a NEAR/99999 b", 2, "NEAR takes a distance"),
        ("(a b) NEAR/3 c", 0, "each side of NEAR"),
        ("title:a NEAR/3 b", 0, "around the whole NEAR"),
        ("NOT 演练", 0, "only excludes"),
        ("潼南 (a OR NOT b)", 0, "OR alternative"),
        ("a NOT NOT b", 0, "NOT NOT"),
        ("@", 0, "group name"),
        ("title: a", 0, "followed directly"),
        ('""', 0, "cannot be empty"),
    ],
)
def test_errors_name_the_position(expr: str, position: int, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(expr)
    assert fragment in info.value.message
    assert info.value.position == position


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "潼南",
                "疫情",
                "AND",
                "OR",
                "NOT",
                "(",
                ")",
                '"',
                "NEAR/3",
                "NEAR/S",
                "title:",
                "body:",
                "@g",
                "@",
                "\\",
                "x",
                " ",
                "NEAR/",
                ":",
            ]
        )
        | st.text(max_size=3)
    ).map("".join)
)
def test_parser_only_ever_raises_parse_errors(expr: str) -> None:
    try:
        parse(expr)
    except ParseError as e:
        assert 0 <= e.position <= len(expr)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "潼南",
                "疫情",
                "AND",
                "OR",
                "NOT",
                "(",
                ")",
                '"a b"',
                '"C++"',
                "NEAR/3",
                "NEAR/S",
                "title:",
                "body:",
                "@g",
                "x",
            ]
        ),
        min_size=1,
    ).map(" ".join)
)
def test_to_text_round_trips(expr: str) -> None:
    from rules.syntax import to_text

    try:
        node = parse(expr)
    except ParseError:
        return
    assert parse(to_text(node)) == node


@pytest.mark.parametrize("opening", ["(", "NOT ", "title:("])
def test_deep_nesting_is_refused_with_a_position(opening: str) -> None:
    expr = opening * 200 + "疫情" + (")" * 200 if "(" in opening else "")
    with pytest.raises(ParseError) as caught:
        parse(expr)
    assert "levels deep" in caught.value.message
    assert 0 < caught.value.position < len(expr)
    assert parse("(" * 32 + "疫情" + ")" * 32) == Word("疫情")

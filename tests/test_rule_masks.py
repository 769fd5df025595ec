"""Rules evaluated as bit masks over the leaves found agree with the reference evaluation
(:func:`rules.evaluate.evaluate` over the same findings), for generated rules and texts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from keywords.matcher import Matcher
from keywords.model import Library
from rules.evaluate import evaluate

GROUPS = [
    {"name": "g0", "words": ["潼南", "双江镇"]},
    {"name": "g1", "words": ["火灾", "起火"]},
    {"name": "g2", "words": ["演练", "疫情"]},
]
WORDS = ["潼南", "火灾", "疫情", "区", "ab", "起火", "演练"]
PIECES = [*WORDS, "潼", "火", "情", "，", "。", " ", "\n", "cd", "双江镇", "镇"]

leaf = st.sampled_from([*WORDS, "@g0", "@g1", "@g2"])
scoped_leaf = st.one_of(
    leaf, st.builds(lambda f, w: f"{f}:{w}", st.sampled_from(["title", "body"]), leaf)
)
near = st.builds(lambda a, b, n: f"{a} NEAR/{n} {b}", leaf, leaf, st.integers(0, 4)).filter(
    lambda e: e.split()[0] != e.split()[-1]
)
expression = st.recursive(
    st.one_of(scoped_leaf, near),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) NOT ({b})", inner, inner),
        st.builds(lambda f, a: f"{f}:({a})", st.sampled_from(["title", "body"]), inner),
    ),
    max_leaves=5,
)
text = st.lists(st.sampled_from(PIECES), max_size=10).map("".join)


def expected(matcher: Matcher, title: str, body: str) -> list[str]:
    """The reference: a rule matches when it holds and one of the leaves it looks for is
    found (a rule made only of exclusions never matches)."""
    fields = {"title": matcher._scan(title), "body": matcher._scan(body)}
    found = fields["title"].found.keys() | fields["body"].found.keys()
    return [
        c.rule.name
        for c in matcher.rules
        if evaluate(c.node, fields) and any(leaf in found for leaf, _, _ in c.reports)
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(expression, min_size=1, max_size=6), st.lists(st.tuples(text, text), max_size=6))
def test_mask_evaluation_agrees_with_the_reference(
    expressions: list[str], texts: list[tuple[str, str]]
) -> None:
    rules = [{"name": f"r{i}", "expression": e} for i, e in enumerate(expressions)]
    matcher = Matcher(Library.model_validate({"groups": GROUPS, "rules": rules}))
    for title, body in [*texts, ("潼南起火", "演练 火灾"), ("疫情", "双江镇 ab")]:
        assert matcher.match(title, body).rules == expected(matcher, title, body), (title, body)


def test_which_rules_are_masks() -> None:
    rules = [
        {"name": "and-not", "expression": "@g0 @g1 NOT @g2"},
        {"name": "scoped-or", "expression": "title:@g0 (火灾 OR body:疫情)"},
        {"name": "near", "expression": "@g0 NEAR/3 @g1"},
        {"name": "or-of-and", "expression": "(@g0 @g1) OR 疫情"},
        {"name": "not-of-and", "expression": "@g0 NOT (@g1 @g2)"},
    ]
    matcher = Matcher(Library.model_validate({"groups": GROUPS, "rules": rules}))
    masks = {c.rule.name: c.clauses is not None for c in matcher.rules}
    assert masks == {
        "and-not": True,
        "scoped-or": True,
        "near": False,
        "or-of-and": False,
        "not-of-and": False,
    }
    found = matcher.match("潼南", "火灾 疫情")
    assert found.rules == ["scoped-or", "or-of-and"]
    assert matcher.match("潼南 火灾", "").rules == [
        "and-not",
        "scoped-or",
        "near",
        "or-of-and",
        "not-of-and",
    ]

"""The same rule, two engines: the in-process matcher and the stored-item query
(``rule_query`` over ``index_text``) select the same items, on SQLite and on the
real Elasticsearch node."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keywords.matcher import Matcher, rule_query
from keywords.model import Library, Rule
from rules.tokens import index_text
from store import Item, ItemQuery, Store

WORDS = ["潼南", "火灾", "疫情", "区", "ab", "起火"]
PIECES = [*WORDS, "潼", "南", "火", "灾", "疫", "情", "，", "。", "@", " ", "\n", "cd", "ab1", "镇"]
T0 = datetime(2021, 2, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def texts(seed: int, n: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)

    def one() -> str:
        return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 25)))

    return [(one(), one()) for _ in range(n)]


DOCS = texts(11, 160)


@pytest.fixture
def filled(store: Store) -> Store:
    store.items.upsert_many(
        Item(
            url=f"http://t.example/{i}",
            title=title,
            body=body,
            first_seen=T0,
            norm_title=index_text(title),
            norm_body=index_text(body),
        )
        for i, (title, body) in enumerate(DOCS)
    )
    return store


word = st.sampled_from(WORDS)
# NEAR between two occurrences of one word is not compared: the matcher wants two
# places, the backends accept one.
pair = st.lists(word, min_size=2, max_size=2, unique=True)
leaf = st.one_of(
    word,
    st.builds(lambda f, w: f"{f}:{w}", st.sampled_from(["title", "body"]), word),
    st.builds(lambda p, n: f"{p[0]} NEAR/{n} {p[1]}", pair, st.integers(0, 6)),
    st.builds(
        lambda f, p, n: f"{f}:({p[0]} NEAR/{n} {p[1]})",
        st.sampled_from(["title", "body"]),
        pair,
        st.integers(0, 6),
    ),
)
expression = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) NOT ({b})", inner, inner),
    ),
    max_leaves=5,
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(expression, st.sampled_from(["both", "title", "body"]))
def test_matcher_and_stored_query_agree(filled: Store, expr: str, scope: str) -> None:
    rule = Rule(name="r", expression=expr, scope=scope)  # type: ignore[arg-type]
    library = Library(rules=[rule])
    matcher = Matcher(library)
    expected = {
        f"http://t.example/{i}"
        for i, (title, body) in enumerate(DOCS)
        if matcher.match(title, body).rules
    }
    result = filled.items.search(
        ItemQuery(q=rule_query(library, rule), normalized=True, size=500, highlight=False)
    )
    assert {f.item.url for f in result.hits} == expected, rule_query(library, rule)


def test_the_sample_exercises_both_outcomes() -> None:
    matcher = Matcher(Library(rules=[Rule(name="r", expression="潼南 NEAR/3 火灾")]))
    outcomes = {bool(matcher.match(t, b).rules) for t, b in DOCS}
    assert outcomes == {True, False}

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


# --- groups with variant options --------------------------------------------------------------
# The stores index the default normal form only: a rule over groups with other options runs
# as a wider query (never missing an item), and the backtest confirms each candidate in
# process, so the two agree on what the rule selects.

VARIANT_PIECES = [
    *PIECES, "疫疫", "易", "yi", "qing", "yi qing", "yq", "【", "]", "⒜", "a.b", "а", "0",
    "b1", "huo zai", "伙", "潼nan", "tongnan",
]  # fmt: skip
VARIANT_DOCS = [
    (
        "".join(rng.choice(VARIANT_PIECES) for _ in range(rng.randint(0, 12))),
        "".join(rng.choice(VARIANT_PIECES) for _ in range(rng.randint(0, 20))),
    )
    for rng in [random.Random(13)]
    for _ in range(160)
]
EVERY = {"enclosed": True, "noise": "brackets", "lookalikes": True, "repeats": True,
         "pinyin": True, "homophones": True, "split": True}  # fmt: skip
option_sets = st.sampled_from(
    [{}, {"repeats": True}, {"noise": "brackets"}, {"pinyin": True}, {"homophones": True},
     {"lookalikes": True, "noise": "latin"}, EVERY]
)  # fmt: skip
group_leaf = st.sampled_from(["@a", "@b", "疫情", "火灾"])
group_expression = st.recursive(
    st.one_of(
        group_leaf,
        st.builds(lambda f, w: f"{f}:{w}", st.sampled_from(["title", "body"]), group_leaf),
        st.builds(lambda n: f"@a NEAR/{n} @b", st.integers(0, 6)),
    ),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) NOT ({b})", inner, inner),
    ),
    max_leaves=4,
)


@pytest.fixture
def filled_variants(store: Store) -> Store:
    store.items.upsert_many(
        Item(
            url=f"http://v.example/{i}",
            title=title,
            body=body,
            first_seen=T0,
            norm_title=index_text(title),
            norm_body=index_text(body),
        )
        for i, (title, body) in enumerate(VARIANT_DOCS)
    )
    return store


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(group_expression, option_sets, option_sets)
def test_with_options_the_stored_query_finds_every_item_and_confirming_agrees(
    filled_variants: Store, expr: str, options_a: dict[str, object], options_b: dict[str, object]
) -> None:
    library = Library.model_validate(
        {
            "groups": [
                {"name": "a", "words": ["疫情", "潼南"], "options": options_a},
                {"name": "b", "words": ["火灾", "ab"], "options": options_b},
            ],
            "rules": [{"name": "r", "expression": expr}],
        }
    )
    rule = library.rules[0]
    matcher = Matcher(library)
    expected = {
        f"http://v.example/{i}"
        for i, (title, body) in enumerate(VARIANT_DOCS)
        if matcher.match(title, body).rules
    }
    query = rule_query(library, rule)
    result = filled_variants.items.search(
        ItemQuery(q=query, normalized=True, size=500, highlight=False)
    )
    candidates = {f.item.url: f.item for f in result.hits}
    assert expected <= set(candidates), query
    confirmed = {
        url for url, item in candidates.items() if matcher.match(item.title, item.body).rules
    }
    assert confirmed == expected, query


def test_the_variant_sample_is_found_only_through_options() -> None:
    plain = Library.model_validate(
        {"groups": [{"name": "a", "words": ["疫情"]}], "rules": [{"name": "r", "expression": "@a"}]}
    )
    every = plain.model_copy(deep=True)
    every.groups[0].options = every.groups[0].options.model_validate(EVERY)
    found_plain = sum(bool(Matcher(plain).match(t, b).rules) for t, b in VARIANT_DOCS)
    found_every = sum(bool(Matcher(every).match(t, b).rules) for t, b in VARIANT_DOCS)
    assert found_every > found_plain

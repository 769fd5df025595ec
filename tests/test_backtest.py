"""Backtest over stored items, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from keywords.backtest import backtest
from keywords.model import Library
from rules.tokens import index_text
from store import Item, Store

NOW = datetime(2021, 2, 10, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def lib(expression: str, *, extra: list[str] | None = None) -> Library:
    return Library.model_validate(
        {
            "groups": [
                {"name": "地名", "words": ["潼南", *(extra or [])]},
                {"name": "排除", "words": ["演练"]},
            ],
            "rules": [{"name": "火灾", "expression": expression}],
        }
    )


def put(store: Store, n: int, title: str, days_ago: float) -> None:
    store.items.upsert_many(
        [
            Item(
                url=f"http://x.example/{n}",
                title=title,
                body="",
                first_seen=NOW - timedelta(days=days_ago),
                norm_title=index_text(title),
                norm_body="",
            )
        ]
    )


def test_backtest_reports_added_and_removed(store: Store) -> None:
    put(store, 1, "潼南火灾", 1)
    put(store, 2, "双江镇火灾", 2)
    put(store, 3, "潼南火灾演练", 3)
    put(store, 4, "潼南火灾", 30)  # outside the window
    put(store, 5, "潼南，昨日发生火灾。", 1)
    live = lib("@地名 NEAR/S 火灾")
    proposed = lib("@地名 NEAR/S 火灾 NOT @排除", extra=["双江镇"])
    (impact,) = backtest(store, live, proposed, days=7, now=NOW)
    assert (impact.rule, impact.live, impact.proposed) == ("火灾", 3, 3)
    assert [i.title for i in impact.added_examples] == ["双江镇火灾"]
    assert [i.title for i in impact.removed_examples] == ["潼南火灾演练"]
    assert (impact.added, impact.removed, impact.truncated) == (1, 1, False)


def test_new_and_deleted_rules(store: Store) -> None:
    put(store, 1, "潼南火灾", 1)
    live = lib("潼南 火灾")
    proposed = Library.model_validate(
        {"groups": [], "rules": [{"name": "新规则", "expression": "火灾"}]}
    )
    impacts = {i.rule: i for i in backtest(store, live, proposed, now=NOW)}
    assert (impacts["火灾"].live, impacts["火灾"].removed) == (1, 1)
    assert (impacts["新规则"].proposed, impacts["新规则"].added) == (1, 1)

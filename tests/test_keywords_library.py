"""The library kept in the store: validation, versions, diff, rollback, audit (both backends)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from keywords.library import KeywordLibrary
from keywords.model import Library
from keywords.operations import rollback, save_library
from keywords.validate import InvalidLibrary
from store import ConflictError, NotFound, Store
from store.acting import Acting

SH = ZoneInfo("Asia/Shanghai")


def clock() -> datetime:
    return datetime(2021, 2, 5, 9, 0, tzinfo=SH) + timedelta(minutes=next(_ticks))


_ticks = count()


def lib(words: list[str], **rule: object) -> Library:
    return Library.model_validate(
        {
            "groups": [
                {"name": "潼南地名", "category": "region", "words": words},
                {"name": "火灾词", "category": "event", "words": ["火灾", "起火"]},
            ],
            "rules": [
                {
                    "name": "火灾监测",
                    "expression": "@潼南地名 @火灾词",
                    "must_match": ["潼南火灾"],
                    **rule,
                }
            ],
        }
    )


def test_save_versions_diff_and_audit(store: Store) -> None:
    kl = KeywordLibrary(store)
    assert kl.current() == (0, Library())
    v1 = save_library(Acting("张三", store, clock), lib(["潼南"]))
    v2 = save_library(Acting("李四", store, clock), lib(["潼南", "双江镇"]), message="加双江镇")
    assert (v1.version, v2.version, v2.parent) == (1, 2, 1)
    assert kl.current() == (2, lib(["潼南", "双江镇"]).with_ids())
    assert kl.at(1) == lib(["潼南"]).with_ids()
    assert v2.summary["words_added"] == 1 and v2.summary["groups_changed"] == ["潼南地名"]
    assert kl.diff(1, 2).lines() == ["~ group 潼南地名: + 双江镇"]
    assert kl.diff(2, 1).lines() == ["~ group 潼南地名: - 双江镇"]
    assert v1.message == "2 groups added, 1 rules added"
    entries = store.audit.list()
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("李四", "library.save", "library:2"),
        ("张三", "library.save", "library:1"),
    ]
    assert entries[0].after["changes"] == ["~ group 潼南地名: + 双江镇"]


def test_rollback_is_a_new_version(store: Store) -> None:
    kl = KeywordLibrary(store)
    save_library(Acting("a", store, clock), lib(["潼南"]))
    save_library(Acting("a", store, clock), lib(["潼南", "双江镇"]))
    back = rollback(Acting("b", store, clock), 1)
    assert back.version == 3 and back.message == "rollback to version 1"
    assert kl.current() == (3, lib(["潼南"]).with_ids())
    assert [v.version for v in store.library.history()] == [3, 2, 1]
    with pytest.raises(NotFound):
        rollback(Acting("b", store, clock), 9)


def test_an_invalid_library_reports_every_problem_and_stores_nothing(store: Store) -> None:
    bad = Library.model_validate(
        {
            "groups": [
                {"name": "g", "words": ["潼南", "潼 南", "\u200b"]},
                {"name": "g", "words": ["x"]},
                {"name": "empty", "words": []},
            ],
            "rules": [
                {"name": "r1", "expression": "@g AND (火灾"},
                {"name": "r2", "expression": "@nope 火灾"},
                {"name": "r3", "expression": "NOT 火灾"},
            ],
        }
    )
    with pytest.raises(InvalidLibrary) as info:
        save_library(Acting("a", store, clock), bad)
    text = [str(p) for p in info.value.problems]
    assert "group g: the name is used by 2 groups" in text
    assert "group empty: has no words" in text
    assert any("'潼 南'" in t and "same word as '潼南'" in t for t in text)
    assert any("'\\u200b'" in t and "normalises to nothing" in t for t in text)
    assert any(
        t.startswith("rule r1, expression: expected ')'") and "character 11" in t for t in text
    )
    assert "rule r2, expression: unknown group @nope" in text
    assert any(t.startswith("rule r3, expression: the expression only excludes") for t in text)
    assert store.library.head() is None and store.audit.list() == []


def test_failing_test_sentence_rejects_the_save(store: Store) -> None:
    kl = KeywordLibrary(store)
    save_library(Acting("a", store, clock), lib(["潼南"]))
    with pytest.raises(InvalidLibrary) as info:
        save_library(Acting("a", store, clock), lib(["潼南"], must_not_match=["潼南起火"]))
    assert [str(p) for p in info.value.problems] == [
        "rule 火灾监测, test sentence '潼南起火': should not match"
    ]
    assert kl.current()[0] == 1


def test_saving_on_a_stale_version_is_a_conflict(store: Store) -> None:
    kl = KeywordLibrary(store)
    save_library(Acting("a", store, clock), lib(["潼南"]))
    save_library(Acting("b", store, clock), lib(["潼南", "双江镇"]), parent=1)
    with pytest.raises(ConflictError):
        save_library(Acting("c", store, clock), lib(["潼南", "梓潼"]), parent=1)
    assert kl.current() == (2, lib(["潼南", "双江镇"]).with_ids())

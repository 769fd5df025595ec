"""Library versions and the audit log: the contract, on both backends."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store import ConflictError, QueryError, Store
from store.model import AuditEntry, LibraryVersion

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)


def version(n: int, words: list[str], author: str = "王五") -> LibraryVersion:
    return LibraryVersion(
        version=n,
        parent=n - 1 or None,
        author=author,
        created=T0 + timedelta(minutes=n),
        message=f"第{n}版",
        data={
            "groups": [{"name": "地名", "words": words}],
            "rules": [{"name": "r", "expression": "x"}],
        },
        summary={"added": n},
    )


def test_versions_are_kept_in_order(store: Store) -> None:
    assert store.library.head() is None
    store.library.commit(version(1, ["潼南"]))
    store.library.commit(version(2, ["潼南", "梓潼"]))
    head = store.library.head()
    assert head is not None and head.version == 2 and head.parent == 1
    assert head.data["groups"][0]["words"] == ["潼南", "梓潼"]
    first = store.library.get(1)
    assert first is not None and first.data["groups"][0]["words"] == ["潼南"]
    assert first.created == T0 + timedelta(minutes=1) and first.author == "王五"
    assert store.library.get(3) is None
    history = store.library.history()
    assert [v.version for v in history] == [2, 1]
    assert history[0].message == "第2版" and history[0].summary == {"added": 2}


def test_a_stale_parent_is_a_conflict(store: Store) -> None:
    store.library.commit(version(1, ["潼南"]))
    store.library.commit(version(2, ["a"]))
    with pytest.raises(ConflictError):
        store.library.commit(version(2, ["b"]))
    stale = version(2, ["c"])
    stale.parent, stale.version = None, 1
    with pytest.raises(ConflictError):
        store.library.commit(stale)
    head = store.library.head()
    assert head is not None and head.data["groups"][0]["words"] == ["a"]


def test_a_version_must_follow_its_parent(store: Store) -> None:
    bad = version(3, ["x"])
    bad.parent = 1
    with pytest.raises(QueryError):
        store.library.commit(bad)
    assert store.library.head() is None


def test_two_editors_saving_at_once_one_wins(store: Store) -> None:
    store.library.commit(version(1, ["潼南"]))
    results: list[str] = []

    def save(word: str) -> None:
        try:
            store.library.commit(version(2, [word]))
            results.append("ok")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=save, args=(w,)) for w in ("甲", "乙", "丙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "conflict", "ok"]
    assert [v.version for v in store.library.history()] == [2, 1]


def test_audit_log_appends_and_lists_newest_first(store: Store) -> None:
    for n in range(3):
        store.audit.append(
            AuditEntry(
                actor="张三" if n < 2 else "李四",
                action="group.update",
                target="group:地名" if n != 1 else "rule:r",
                time=T0 + timedelta(seconds=n),
                before={"words": ["a"]} if n else None,
                after=["b", n],
            )
        )
    entries = store.audit.list()
    assert [e.after for e in entries] == [["b", 2], ["b", 1], ["b", 0]]
    assert entries[-1].before is None and entries[0].before == {"words": ["a"]}
    assert all(e.id for e in entries)
    assert [e.after[1] for e in store.audit.list(target="group:地名")] == [2, 0]
    assert [e.after[1] for e in store.audit.list(actor="张三")] == [1, 0]
    assert len(store.audit.list(limit=1)) == 1
    assert not hasattr(store.audit, "delete") and not hasattr(store.audit, "update")

"""Hot reload: a new library version is swapped in while items are being matched."""

from __future__ import annotations

import threading
from pathlib import Path

from keywords.live import LiveMatcher
from keywords.model import Library
from keywords.operations import save_library
from store import Item, open_store
from store.acting import Acting
from store.clock import Clock
from store.model import LibraryVersion


def lib(words: list[str]) -> Library:
    return Library.model_validate(
        {
            "groups": [{"name": "g", "words": words}],
            "rules": [{"name": "r", "expression": "@g"}],
        }
    )


def test_swap_under_concurrent_matching(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    save_library(Acting("t", store, Clock()), lib(["潼南"]))
    live = LiveMatcher(store)
    assert live.matcher.version == 1
    # Version n matches exactly the words w0..w(n-1): a result tells which version made it.
    words = [f"词{i}" for i in range(8)]
    text = " ".join(words)
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            matcher = live.matcher
            result = matcher.match(text, "")
            seen.append((matcher.version, len({h["word"] for h in result.hits})))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for n in range(2, 9):
        save_library(Acting("t", store, Clock()), lib(words[: n - 1]))
        assert live.refresh() is True  # while the workers match
        assert live.matcher.version == n
        assert live.refresh() is False  # compiled once per version
    seen_after = len(seen)
    while len(seen) < seen_after + 10:  # the workers have matched with the last version
        threading.Event().wait(0.001)
    stop.set()
    for t in threads:
        t.join()
    store.close()
    assert {v for v, _ in seen} >= {1, 8}
    # Every result came from one complete version: version n found n-1 words (1 for v1).
    assert all(found == max(v - 1, 0) for v, found in seen if v > 1)
    assert len(seen) > 100


def test_match_item_fills_rules_and_hits(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    save_library(Acting("t", store, Clock()), lib(["潼南"]))
    item = LiveMatcher(store).match_item(
        Item(url="http://a/1", title="潼南新闻", body="", first_seen=datetime.now(UTC))
    )
    assert item.rules == ["r"] and item.hits[0]["word"] == "潼南"
    store.close()


def test_a_version_that_does_not_compile_keeps_the_current_matcher(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    save_library(Acting("t", store, Clock()), lib(["潼南"]))
    live = LiveMatcher(store)
    broken = lib(["潼南"]).to_data()
    broken["rules"][0]["expression"] = "@missing"
    store.library.commit(LibraryVersion(2, 1, "t", datetime.now(UTC), "by hand", broken))
    assert live.refresh() is False and live.matcher.version == 1
    store.close()

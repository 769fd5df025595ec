"""The normaliser's tables kept on disk (yuqing.tablecache): read back, they are the tables
built from scratch; a damaged or stale file is rebuilt, never read."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from rules import normalize
from yuqing import tablecache


def same_tables(a: normalize._Tables, b: normalize._Tables) -> None:
    assert a.mapping.dtype == b.mapping.dtype and np.array_equal(a.mapping, b.mapping)
    assert a.classes.dtype == b.classes.dtype and np.array_equal(a.classes, b.classes)
    assert list(a.resized.items()) == list(b.resized.items())
    assert list(a.t2s.items()) == list(b.t2s.items())
    assert list(a.enclosed.items()) == list(b.enclosed.items())
    assert a.enclosed_re.pattern == b.enclosed_re.pattern


def test_tables_read_back_from_disk_are_the_built_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUQING_TABLE_CACHE", str(tmp_path))
    built = normalize._build_tables()
    monkeypatch.setattr(normalize, "_tables", None)  # restored after the test
    tablecache.warm_normalizer()  # builds and writes
    first = normalize._get_tables()
    (stored,) = tmp_path.glob("normalize-*.npz")
    written = stored.stat().st_mtime_ns
    monkeypatch.setattr(normalize, "_tables", None)
    monkeypatch.setattr(normalize, "_build_tables", lambda: pytest.fail("built again"))
    tablecache.warm_normalizer()  # reads
    second = normalize._get_tables()
    assert stored.stat().st_mtime_ns == written
    same_tables(first, built)
    same_tables(second, built)
    # Usable as installed: enclosed letters, CJK noise, width, case, traditional forms.
    assert normalize.normalize("Ⓓⓡⓤ⒢ 疫@情 ＡＢＣ 發生") == "drug 疫情 abc 发生"


def test_a_damaged_file_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_TABLE_CACHE", str(tmp_path))
    calls = []

    def build() -> tuple[dict[str, np.ndarray], dict[str, object]]:
        calls.append(1)
        return {"a": np.arange(5, dtype=np.uint32)}, {"x": {"甲": "乙"}}

    key = tablecache.cache_key("t", ["v1"])
    assert tablecache.cached(key, build)[1] == {"x": {"甲": "乙"}}
    path = tmp_path / f"{key}.npz"
    path.write_bytes(path.read_bytes()[:100])  # cut short, as by a full disk
    arrays, data = tablecache.cached(key, build)
    assert len(calls) == 2 and data == {"x": {"甲": "乙"}}
    assert np.array_equal(arrays["a"], np.arange(5))
    arrays, data = tablecache.cached(key, build)  # the rewritten file is read
    assert len(calls) == 2 and arrays["a"].dtype == np.uint32


def test_another_key_builds_anew_and_drops_files_a_day_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUQING_TABLE_CACHE", str(tmp_path))
    keys = [tablecache.cache_key("t", [f"v{n}"]) for n in range(3)]
    assert len(set(keys)) == 3
    tablecache.cached(keys[0], lambda: ({}, {"v": 0}))
    tablecache.cached(keys[1], lambda: ({}, {"v": 1}))
    day_old = time.time() - 86_400 - 60
    os.utime(tmp_path / f"{keys[0]}.npz", (day_old, day_old))
    assert tablecache.cached(keys[2], lambda: ({}, {"v": 2}))[1] == {"v": 2}
    # Another checkout's recent tables stay; the day-old ones go.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.npz" for k in keys[1:])
    assert tablecache.cached(keys[1], lambda: ({}, {"v": -1}))[1] == {"v": 1}


def test_an_empty_setting_keeps_nothing_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUQING_TABLE_CACHE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert tablecache.cached("t-x", lambda: ({}, {"v": 3}))[1] == {"v": 3}
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_directory_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("YUQING_TABLE_CACHE", str(blocker / "cache"))
    assert tablecache.cached("t-x", lambda: ({}, {"v": 4}))[1] == {"v": 4}

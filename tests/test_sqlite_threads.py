"""The embedded store gives each thread its own SQLite connection. Threads come and go in a
long-running service (the sender's pool for each burst of mail, the console's "run now"),
and a connection must not outlive its thread, keeping its file handle and page cache."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from store.sqlite import SQLiteStore


def open_handles(path: Path) -> int:
    """File handles this process holds on ``path`` (Linux: /proc/self/fd)."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            if os.readlink(fd) == str(path):
                count += 1
        except OSError:
            continue  # closed while we looked (the listing's own handle)
    return count


def test_connections_of_ended_threads_are_closed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "yuqing.db")
    try:
        store.items.count()  # this thread's connection
        before = open_handles(store.path)
        assert before >= 1
        for _ in range(20):
            thread = threading.Thread(target=store.items.count)
            thread.start()
            thread.join()
        # The next connection made closes those of the threads that ended.
        last = threading.Thread(target=store.items.count)
        last.start()
        last.join()
        # This thread's and the last thread's (closed by the next one made); SQLite may keep
        # a closed connection's handle for reuse while another holds a lock on the file.
        assert open_handles(store.path) <= before + 2
        assert store.items.count() == 0  # this thread's connection still works
    finally:
        store.close()
    assert open_handles(store.path) == 0


def test_a_live_threads_connection_is_kept(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "yuqing.db")
    started, go_on, answers = threading.Event(), threading.Event(), []

    def reader() -> None:
        answers.append(store.items.count())
        started.set()
        go_on.wait(30)  # held open while other threads come and go
        answers.append(store.items.count())

    try:
        waiting = threading.Thread(target=reader)
        waiting.start()
        assert started.wait(30)
        for _ in range(5):
            thread = threading.Thread(target=store.items.count)
            thread.start()
            thread.join()
        go_on.set()
        waiting.join(30)
        assert answers == [0, 0]
    finally:
        store.close()

"""What server-side sessions cost per request: identifying the caller of a console request
(read the session, read its user; the last use is written at most once a minute) against
the API token path (read the token, read its user) and against the old signed-cookie path
(read the user only, its name taken from the cookie), all in this process on one store.

    python bench/sessions.py [--rounds 2000] [--store URL]

The store is SQLite in a temporary folder unless ``--store`` names another (e.g. the
Elasticsearch node of ``make es``, with a fresh index prefix). Reported: microseconds per
identification and the ratio to the old path (two reads instead of one: expect 2-3.5x).
Target: under 0.5 ms per request on SQLite, under 15 ms on Elasticsearch.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from api.accounts import Accounts
from store import Store, open_store
from store.clock import ManualClock

T0 = datetime(2021, 2, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _measure(calls: dict[str, Callable[[], object]], rounds: int) -> list[tuple[str, float]]:
    """Median microseconds per call of each, over batches taken in turn (so load from
    elsewhere on the machine falls on all of them alike)."""
    batches: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(9):
        for name, call in calls.items():
            started = time.perf_counter()
            for _ in range(rounds // 9):
                call()
            batches[name].append((time.perf_counter() - started) / (rounds // 9) * 1e6)
    return [(name, statistics.median(times)) for name, times in batches.items()]


def run(store: Store, rounds: int) -> list[tuple[str, float]]:
    clock = ManualClock(T0)
    accounts = Accounts(store, clock)
    accounts.create("duty", "operator", "correct horse battery", actor="bench")
    user = store.users.get("duty")
    assert user is not None
    session = accounts.start_session(user, "127.0.0.1")
    _token, secret = accounts.issue_token("duty", "bench", actor="bench")
    assert accounts.session_user(session) is not None and accounts.by_token(secret) is not None
    return _measure(
        {
            "old: signed cookie (user read)": lambda: store.users.get("duty"),
            "session (session + user read)": lambda: accounts.session_user(session),
            "API token (token + user read)": lambda: accounts.by_token(secret),
        },
        rounds,
    )


def _drop(url: str, prefix: str) -> None:
    """Delete the bench's indices (by name: wildcard deletes are refused by default)."""
    from elasticsearch import Elasticsearch

    client = Elasticsearch(url.split(","))
    for index in client.indices.get(index=f"{prefix}*", expand_wildcards="all"):
        client.indices.delete(index=index)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--store", help="store URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        prefix = f"bench-{uuid.uuid4().hex[:8]}-"
        if args.store:
            store = open_store(args.store, prefix=prefix, refresh=True)
        else:
            store = open_store(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            rows = run(store, args.rounds)
        finally:
            store.close()
            if args.store:
                _drop(args.store, prefix)
    baseline = rows[0][1]
    print(f"{'identification':<34} {'µs/request':>11} {'ratio':>6}")
    for name, micros in rows:
        print(f"{name:<34} {micros:>11.1f} {micros / baseline:>6.2f}")


if __name__ == "__main__":
    main()

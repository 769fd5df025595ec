"""What telling backfill from news costs: the counts alerting makes per matched batch.

    python bench/backfill.py [--items 50000] [--rounds 200] [--es URL]

Threshold and spike policies count a rule's stored items in a window, now leaving backfill
out (``ItemQuery(backfill=False)``); a crawl asks once whether its source has anything
stored yet. Each is timed against the same count without the backfill filter (the query
before this change) in the same process, on SQLite and on Elasticsearch, and printed with
the ratio (filtered / unfiltered; 1.0 is free). A tenth of the items are backfill.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from elasticsearch import Elasticsearch

from store import Item, ItemQuery, Store, open_store

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 14, 0, tzinfo=SH)
RULES = [f"规则{n}" for n in range(20)]


def items(n: int, seed: int = 7) -> list[Item]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        seen = NOW - timedelta(minutes=rng.randrange(30 * 24 * 60))
        out.append(
            Item(
                url=f"http://bench.example/{i}.html",
                title=f"潼南第{i}条消息",
                body="双江镇一民房起火，消防赶到现场处置。" * 3,
                first_seen=seen,
                source_id=f"s{rng.randrange(60)}",
                rules=rng.sample(RULES, rng.randrange(0, 3)),
                backfill=rng.random() < 0.1,
            )
        )
    return out


def timed(runs: list[Callable[[], object]], rounds: int) -> list[float]:
    """Median seconds of each of ``runs`` over ``rounds`` calls, taken in turns so that
    neither profits from caches the other warmed."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for run, spent in zip(runs, times, strict=True):
            start = time.perf_counter()
            run()
            spent.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def window_count(store: Store, rng: random.Random, backfill: bool | None) -> Callable[[], int]:
    def run() -> int:
        start = NOW - timedelta(hours=rng.randrange(1, 24 * 29))
        query = ItemQuery(
            rules=[rng.choice(RULES)],
            since=start,
            until=start + timedelta(hours=1),
            backfill=backfill,
            size=1,
            highlight=False,
        )
        return store.items.search(query).total

    return run


def source_count(store: Store, rng: random.Random) -> Callable[[], int]:
    def run() -> int:
        query = ItemQuery(sources=[f"s{rng.randrange(60)}"], size=1, highlight=False)
        return store.items.search(query).total

    return run


def bench(name: str, store: Store, rounds: int) -> list[tuple[str, float | None, float]]:
    # The same windows and rules for both: one generator each, seeded alike.
    plain, news = timed(
        [
            window_count(store, random.Random(11), None),
            window_count(store, random.Random(11), False),
        ],
        rounds,
    )
    [first] = timed([source_count(store, random.Random(12))], rounds)
    return [
        (f"{name}: rule count in a window, news only", plain, news),
        (f"{name}: first-crawl check (new, once per run)", None, first),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--es", default="http://127.0.0.1:9200", help="'' to skip")
    args = parser.parse_args(argv)
    corpus = items(args.items)
    rows: list[tuple[str, float | None, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.items.upsert_many(corpus)
        rows += bench("sqlite", store, args.rounds)
        store.close()
    if args.es:
        prefix = f"bench-backfill-{uuid.uuid4().hex[:8]}-"
        store = open_store(args.es, prefix=prefix, refresh=False)
        try:
            store.items.upsert_many(corpus)
            Elasticsearch(args.es).indices.refresh(index=f"{prefix}items")
            rows += bench("elasticsearch", store, args.rounds)
        finally:
            store.close()
            client = Elasticsearch(args.es)
            for index in client.indices.get(index=f"{prefix}*", expand_wildcards="all"):
                client.indices.delete(index=index)
    print(f"{args.items} items (a tenth backfill), median of {args.rounds} queries each")
    print(f"{'query':52} {'unfiltered ms':>14} {'this ms':>9} {'ratio':>6}")
    for label, base, ours in rows:
        if base is None:  # nothing did this before: its cost alone
            print(f"{label:52} {'-':>14} {ours * 1000:9.2f} {'-':>6}")
        else:
            print(f"{label:52} {base * 1000:14.2f} {ours * 1000:9.2f} {ours / base:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

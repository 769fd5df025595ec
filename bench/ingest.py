"""Bulk ingest into each backend against a raw baseline run in the same process.

    python bench/ingest.py [--items N] [--es URL]

Baselines: ``sqlite3.executemany`` of the same rows into the same tables (with
the full-text input prepared before the clock starts), and
``elasticsearch.helpers.bulk`` of the same documents into an index with the
same mapping. Target: yuqing's path >= 0.8x the baseline on both.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from elasticsearch import Elasticsearch, helpers

from store import Item, open_store
from store.elastic.items import ITEM_MAPPING, _doc
from store.sqlite.common import statements
from store.sqlite.items import _COLUMNS, _FIELDS, SCHEMA, TRIGGERS, _row
from store.text import han_bigrams

SH = ZoneInfo("Asia/Shanghai")
PHRASES = (
    "潼南区 双江镇 梓潼街道 疫情防控 核酸检测 火灾 消防救援 食品安全 信访 群众 通报 "
    "应急管理 防汛 交通事故 区政府 新闻发布会 志愿者 社区 医院 学校 农业 柠檬 产业"
).split()


def synthetic_items(n: int, seed: int = 7) -> list[Item]:
    """Chinese items of news-like length (a title and roughly 1.5 KB of body)."""
    rng = random.Random(seed)
    t0 = datetime(2021, 2, 5, 8, 0, tzinfo=SH)

    def sentence() -> str:
        return "".join(rng.choice(PHRASES) for _ in range(rng.randint(4, 9))) + "。"

    return [
        Item(
            url=f"http://news.example.cn/{i // 1000}/{i}.html",
            title="".join(rng.choice(PHRASES) for _ in range(3)),
            body="".join(sentence() for _ in range(rng.randint(12, 24))),
            first_seen=t0 + timedelta(seconds=i),
            publish_time=t0 + timedelta(seconds=i - 600),
            source_id=f"src{i % 20}",
            tags=["news"],
        )
        for i in range(n)
    ]


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def bench_sqlite(items: list[Item], rounds: int) -> tuple[float, float, float]:
    """Two baselines: ``strict`` gets its rows and full-text input prepared before the
    clock starts; ``inclusive`` prepares them inside it with the same functions
    (any code that wants substring search on FTS5 must do that work)."""
    insert = f"INSERT INTO items ({_COLUMNS}) VALUES ({','.join('?' * (len(_FIELDS) + 2))})"

    def prepare() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        rows = [_row(Item(**{**i.__dict__})) for i in items]  # fresh objects: no cached ids
        fts = [
            (n + 1, *(han_bigrams(t) for t in (i.title, i.body, i.norm_title, i.norm_body)))
            for n, i in enumerate(items)
        ]
        return rows, fts

    def load(
        db: sqlite3.Connection, rows: list[tuple[object, ...]], fts: list[tuple[object, ...]]
    ) -> None:
        for start in range(0, len(rows), 500):
            db.execute("BEGIN")
            db.executemany(insert, rows[start : start + 500])
            db.executemany(
                "INSERT INTO items_fts(rowid, title, body, norm_title, norm_body) "
                "VALUES (?, ?, ?, ?, ?)",
                fts[start : start + 500],
            )
            db.execute("COMMIT")

    def prepare_and_load(db: sqlite3.Connection) -> None:
        load(db, *prepare())

    def raw_db(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # The same tables and triggers as the store's (the triggers keep item_facts).
        for statement in statements(SCHEMA + TRIGGERS):
            db.execute(statement)
        return db

    best = {"strict": float("inf"), "inclusive": float("inf"), "ours": float("inf")}
    prepared = prepare()
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            db = raw_db(Path(tmp) / "strict.db")
            best["strict"] = min(best["strict"], timed(partial(load, db, *prepared)))
            db.close()
            db = raw_db(Path(tmp) / "inclusive.db")
            best["inclusive"] = min(
                best["inclusive"],
                timed(partial(prepare_and_load, db)),
            )
            db.close()
            fresh = [Item(**{**i.__dict__}) for i in items]
            store = open_store(f"sqlite:///{tmp}/ours.db")
            best["ours"] = min(best["ours"], timed(partial(store.items.upsert_many, fresh)))
            assert store.items.count() == len(items)
            store.close()
    return len(items) / best["strict"], len(items) / best["inclusive"], len(items) / best["ours"]


def bench_elasticsearch(items: list[Item], url: str, rounds: int) -> tuple[float, float]:
    client = Elasticsearch(url, request_timeout=120)
    docs = [_doc(i) for i in items]
    best_raw = best_ours = float("inf")
    for _ in range(rounds):
        prefix = f"bench-{uuid.uuid4().hex[:8]}-"
        raw_index = f"{prefix}raw"
        client.indices.create(
            index=raw_index,
            mappings=ITEM_MAPPING,
            settings={"number_of_shards": 1, "number_of_replicas": 0},
        )
        actions = (
            {"_op_type": "create", "_index": raw_index, "_id": i.id, "_source": d}
            for i, d in zip(items, docs, strict=True)
        )
        best_raw = min(best_raw, timed(partial(helpers.bulk, client, actions, chunk_size=1000)))
        store = open_store(url, prefix=prefix)
        best_ours = min(best_ours, timed(partial(store.items.upsert_many, items)))
        client.indices.refresh(index=f"{prefix}*")
        assert store.items.count() == len(items)
        store.close()
        for index in client.indices.get(index=f"{prefix}*"):
            client.indices.delete(index=index)
    client.close()
    return len(items) / best_raw, len(items) / best_ours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--es", default="http://127.0.0.1:9200", help="'' to skip")
    args = parser.parse_args(argv)
    items = synthetic_items(args.items)
    size = sum(len(i.title) + len(i.body) for i in items) / len(items)
    print(f"{len(items)} items, {size:.0f} characters each on average, best of {args.rounds}")
    print(f"{'backend and baseline':<28}{'baseline/s':>12}{'yuqing/s':>12}{'ratio':>8}")
    strict, inclusive, ours = bench_sqlite(items, args.rounds)
    rows = [
        ("sqlite, inclusive baseline", inclusive, ours),
        ("sqlite, strict baseline", strict, ours),
    ]
    if args.es:
        rows.append(
            ("elasticsearch, helpers.bulk", *bench_elasticsearch(items, args.es, args.rounds))
        )
    for name, raw, mine in rows:
        print(f"{name:<28}{raw:>12.0f}{mine:>12.0f}{mine / raw:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

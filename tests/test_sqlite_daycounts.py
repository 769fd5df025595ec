"""The embedded store counts discovery's baseline incrementally (store.sqlite.daycounts):
whole past days are counted once and kept. Its figures must be exactly those of reading
every item (the store interface's reference), call after call, as phrases, spans, scopes
and the stored items change; and a repeated run must read only the ends of its span."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import MethodType
from zoneinfo import ZoneInfo

import pytest

from rules.tokens import index_text
from store import Item
from store.base import ItemRepo
from store.frequencies import Frequencies
from store.model import ItemText
from store.sqlite import SQLiteStore

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=SH)
WORDS = ["蓝湖坝", "塌方", "双江镇", "救援", "转移", "天晴", "群众", "停水", "封路", "学校"]
REGIONS = ["双江镇", "宝龙镇"]


def _item(n: int, rng: random.Random, at: datetime) -> Item:
    title = "".join(rng.sample(WORDS, 2))
    body = "，".join(rng.choice(WORDS + REGIONS) for _ in range(rng.randint(1, 6)))
    return Item(
        url=f"http://news.example.cn/{n}.html",
        title=title,
        body=body,
        first_seen=at,
        source_id=rng.choice(["news", "forum"]),
        norm_title=index_text(title),
        norm_body=index_text(body),
        event_id=f"e{rng.randint(0, 12)}" if rng.random() < 0.6 else None,
    )


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "s.db")
    yield store
    store.close()


def _reference(store: SQLiteStore, *args: object, **kw: object) -> Frequencies:
    read = MethodType(ItemRepo.phrase_frequencies, store.items)
    return read(*args, **kw)  # type: ignore[no-any-return]


def _figures(f: Frequencies) -> tuple[object, ...]:
    return f.docs, f.df, f.daily, f.events


def _counting_reads(store: SQLiteStore) -> list[int]:
    """Make ``store.items.scan`` count the items it yields (into the returned list)."""
    reads = [0]
    scan = store.items.scan

    def counted(since: datetime, until: datetime) -> Iterator[ItemText]:
        for item in scan(since, until):
            reads[0] += 1
            yield item

    store.items.scan = counted  # type: ignore[method-assign]
    return reads


def test_kept_counts_agree_with_reading_every_item_call_after_call(
    sqlite: SQLiteStore,
) -> None:
    rng = random.Random(5)
    items = [_item(n, rng, T0 + timedelta(minutes=rng.randrange(10 * 1440))) for n in range(600)]
    sqlite.items.upsert_many(items)
    phrases = [*WORDS, "蓝湖", "没有的词", "双江镇蓝湖坝"]
    for call in range(40):
        since = T0 + timedelta(minutes=rng.randrange(4 * 1440))
        until = since + timedelta(minutes=rng.randrange(30, 6 * 1440))
        asked = rng.sample(phrases, rng.randint(1, len(phrases)))
        kw = {
            "scope": rng.choice([(), ["双江镇"], REGIONS]),
            "sources": rng.choice([(), ["forum"]]),
            "events": rng.sample([f"e{i}" for i in range(14)], 4),
            "lead": rng.choice([600, 3]),
        }
        got = sqlite.items.phrase_frequencies(asked, since, until, **kw)  # type: ignore[arg-type]
        want = _reference(sqlite, asked, since, until, **kw)
        assert _figures(got) == _figures(want), (call, since, until, kw)
    # Items stored late into a day already counted: that day is counted again.
    since, until = T0, T0 + timedelta(days=5)
    before = sqlite.items.phrase_frequencies(WORDS, since, until, events=["e1"])
    late = [_item(1000 + n, rng, T0 + timedelta(hours=30 + n)) for n in range(5)]
    sqlite.items.upsert_many(late)
    after = sqlite.items.phrase_frequencies(WORDS, since, until, events=["e1"])
    assert after.docs == before.docs + 5
    assert _figures(after) == _figures(_reference(sqlite, WORDS, since, until, events=["e1"]))


def test_a_repeated_run_reads_only_the_ends_of_its_span(sqlite: SQLiteStore) -> None:
    rng = random.Random(8)
    # 14 whole days and the part-days around them, 40 items a day.
    sqlite.items.upsert_many(
        [_item(n, rng, T0 + timedelta(minutes=36 * n)) for n in range(40 * 16)]
    )
    since, until = T0 + timedelta(hours=12), T0 + timedelta(days=15, hours=12)
    reads = _counting_reads(sqlite)
    first = sqlite.items.phrase_frequencies(WORDS[:5], since, until, scope=REGIONS)
    everything = reads[0]
    assert everything == 15 * 40  # every item of the span, once
    reads[0] = 0
    again = sqlite.items.phrase_frequencies(WORDS[:5], since, until, scope=REGIONS)
    assert _figures(again) == _figures(first)
    # Only the two half days at the ends were read: 12 h + 12 h of items.
    assert reads[0] == 40
    # One phrase no run asked about yet: the whole days are read once more, for it alone...
    reads[0] = 0
    more = sqlite.items.phrase_frequencies([*WORDS[:5], "停水"], since, until, scope=REGIONS)
    assert reads[0] == everything
    assert _figures(more) == _figures(
        _reference(sqlite, [*WORDS[:5], "停水"], since, until, scope=REGIONS)
    )
    # ...and then it is kept too.
    reads[0] = 0
    sqlite.items.phrase_frequencies(["停水", WORDS[0]], since, until, scope=REGIONS)
    assert reads[0] == 40

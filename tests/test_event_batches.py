"""The event step asks the store for the near-duplicate candidates of all items that reach
it in one turn of the reactor at once, and still matches them one after the other: each
item sees the stored items and the ones before it in the turn."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred

from crawler.events import EventPipeline, fingerprint
from crawler.records import Crawled, Page
from crawler.storage import release
from store import Item, open_store

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]


def story(seed: int, sentences: int = 12) -> str:
    rng = random.Random(seed)
    return "".join("".join(rng.choices(HAN, k=rng.randint(8, 16))) + "。" for _ in range(sentences))


def crawled(n: int, body: str, seen: datetime) -> Crawled:
    url = f"http://127.0.0.1:1/news/t{n}.html"
    item = Item(url=url, title=f"标题{n}", body=body, first_seen=seen, norm_body=body)
    return Crawled(Page(url, "news", 200, b"", "text/html"), seen, item=item)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'y.db'}"


def test_items_of_one_turn_are_matched_in_order_after_one_request(url: str) -> None:
    first = story(1)
    stored = Item(url="http://127.0.0.1:1/old.html", title="旧", body=first, first_seen=T0)
    stored.norm_body, stored.fingerprint = first, fingerprint(first)
    stored.event_id = stored.id
    store = open_store(url)
    store.items.upsert_many([stored])
    store.close()

    crawler = get_crawler(settings_dict={"YUQING_STORE_URL": url})
    pipeline = EventPipeline.from_crawler(crawler)
    later = T0 + timedelta(hours=1)
    other = story(2)
    turn = [
        crawled(1, first + "（转载）", later),  # a repost of the stored story
        crawled(2, other, later),  # a new story
        crawled(3, "编者按。" + other, later),  # a repost of the one just before it
        crawled(4, "短。", later),  # too short to judge: passes at once
    ]
    outs = [pipeline.process_item(c) for c in turn]
    waiting = [o for o in outs if isinstance(o, Deferred)]
    assert outs[3] is turn[3] and len(waiting) == 3
    assert not any(d.called for d in waiting)  # nothing is matched before the turn ends

    pipeline._ask()  # what the reactor runs at the end of the turn
    results: list[Crawled] = []
    for d in waiting:
        d.addCallback(results.append)
    assert [r.item for r in results] == [c.item for c in turn[:3]]
    one, two, three = (c.item for c in turn[:3])
    assert one is not None and two is not None and three is not None
    assert one.event_id == stored.id  # found in the store
    assert two.event_id == two.id  # a first report
    assert three.event_id == two.id  # found among the turn's earlier items
    assert turn[3].item is not None and turn[3].item.fingerprint == []
    release(crawler)


def test_a_failing_store_fails_each_waiting_item(url: str, tmp_path: Path) -> None:
    (tmp_path / "y.db").mkdir()  # where the store's file should be: it cannot be opened
    crawler = get_crawler(settings_dict={"YUQING_STORE_URL": url})
    pipeline = EventPipeline.from_crawler(crawler)
    waiting = [pipeline.process_item(crawled(n, story(n), T0)) for n in (3, 4)]
    errors: list[object] = []
    for d in waiting:
        assert isinstance(d, Deferred)
        d.addErrback(errors.append)
    pipeline._ask()
    assert len(errors) == 2  # each item fails as its own store call would have

"""Per-URL fetch records: the contract, on both backends."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from store import Store, item_id
from store.model import Fetch

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)


def test_fetches_round_trip_by_canonical_url(store: Store) -> None:
    url = "http://127.0.0.1:8600/news/a.html?b=2&a=1#top"
    store.fetches.put_many(
        [
            Fetch(url, "s1", T0, 200, etag='"abc"', last_modified="Fri, 05 Feb 2021 02:30:00 GMT"),
            Fetch("http://127.0.0.1:8600/bad/x.html", "s1", T0, 200, reason="no body found"),
        ]
    )
    # The same page under another spelling of its URL is the same record.
    same = "http://127.0.0.1:8600/news/a.html?a=1&b=2"
    found = store.fetches.get_many([same, "http://127.0.0.1:8600/never.html"])
    assert list(found) == [same]
    assert found[same].etag == '"abc"' and found[same].fetched == T0
    assert found[same].last_modified == "Fri, 05 Feb 2021 02:30:00 GMT"
    store.fetches.put_many([Fetch(url, "s1", T0, 200, item_id=item_id(url))])
    again = store.fetches.get_many([url])[url]
    assert again.etag is None and again.item_id == item_id(url) and again.status == 200
    assert store.fetches.get_many([]) == {}


def test_many_at_once(store: Store) -> None:
    urls = [f"http://127.0.0.1:8600/news/{n}.html" for n in range(1200)]
    assert store.fetches.put_many(Fetch(u, "s1", T0, 200) for u in urls) == 1200
    assert len(store.fetches.get_many([*urls[::2], "http://127.0.0.1:8600/x"])) == 600

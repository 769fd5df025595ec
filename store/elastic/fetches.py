"""Per-URL fetch records in Elasticsearch, keyed like items by the canonical URL's hash.
Reads use ``mget``, which is real-time: a record is visible as soon as it is written."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from store.base import FetchRepo
from store.elastic.common import SCHEMA_VERSION, ensure_index_racing
from store.errors import QueryError
from store.model import Fetch, item_id

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

CHUNK = 1000
FETCH_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "url": {"type": "keyword", "index": False},
        "source_id": {"type": "keyword"},
        "fetched": {"type": "date"},
        "status": {"type": "integer"},
        "etag": {"type": "keyword", "index": False},
        "last_modified": {"type": "keyword", "index": False},
        "item_id": {"type": "keyword"},
        "reason": {"type": "keyword"},
    },
}


class ElasticFetches(FetchRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es

    @cached_property
    def index(self) -> str:
        # Created on first use: only crawler processes and the API ever touch it.
        return ensure_index_racing(self.store, "fetches", FETCH_MAPPING)

    def get_many(self, urls: Iterable[str]) -> dict[str, Fetch]:
        by_id = {item_id(url): url for url in urls}
        ids = list(by_id)
        found: dict[str, Fetch] = {}
        for start in range(0, len(ids), CHUNK):
            docs = self.es.mget(index=self.index, ids=ids[start : start + CHUNK])["docs"]
            for doc in docs:
                if doc.get("found"):
                    src = doc["_source"]
                    fetched = datetime.fromisoformat(src.pop("fetched")).astimezone(self.store.tz)
                    found[by_id[doc["_id"]]] = Fetch(fetched=fetched, **src)
        return found

    def put_many(self, fetches: Iterable[Fetch]) -> int:
        ops: list[dict[str, Any]] = []
        for f in fetches:
            ops += [
                {"index": {"_index": self.index, "_id": f.id}},
                {
                    "url": f.url,
                    "source_id": f.source_id,
                    "fetched": f.fetched.isoformat(),
                    "status": f.status,
                    "etag": f.etag,
                    "last_modified": f.last_modified,
                    "item_id": f.item_id,
                    "reason": f.reason,
                },
            ]
        done = 0
        for start in range(0, len(ops), 2 * CHUNK):
            result = self.es.bulk(operations=ops[start : start + 2 * CHUNK])
            for entry in result["items"]:
                if entry["index"]["status"] >= 300:
                    raise QueryError(f"fetch {entry['index']['_id']}: {entry['index']['error']}")
                done += 1
        return done

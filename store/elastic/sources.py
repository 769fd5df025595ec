"""The crawl source registry in Elasticsearch; the source id is the document id."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from elasticsearch import ConflictError as EsConflict
from elasticsearch import NotFoundError

from store.base import SourceRepo, audited_allow_private
from store.elastic.common import SCHEMA_VERSION, ensure_index_racing
from store.errors import ConflictError, QueryError
from store.model import Source

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

SOURCE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "id": {"type": "keyword"},
        "name": {"type": "keyword"},
        "type": {"type": "keyword"},
        "start_urls": {"type": "keyword", "index": False},
        "interval": {"type": "integer"},
        "tags": {"type": "keyword"},
        "region": {"type": "keyword"},
        "encoding": {"type": "keyword"},
        "selectors": {"type": "object", "enabled": False},
        "robots": {"type": "keyword"},
        "enabled": {"type": "boolean"},
        "max_pages": {"type": "integer"},
        "render": {"type": "boolean"},
        "allow_private": {"type": "boolean"},
        "emergency_interval": {"type": "integer"},
        "emergency_until": {"type": "date"},
    },
}
PAGE = 5_000  # sources per request of list(); the search window stops at 10,000


class ElasticSources(SourceRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es

    @cached_property
    def index(self) -> str:
        # Created on first use: only crawler processes and the API ever touch it.
        index = ensure_index_racing(self.store, "sources", SOURCE_MAPPING)
        self._migrate(index)
        return index

    def _migrate(self, index: str) -> None:
        """Give sources saved by an earlier yuqing their ``render`` (off) and
        ``allow_private`` fields; ``allow_private`` is on where the source's audit says an
        admin allowed it (an earlier yuqing kept the permission there only). A source
        another process changed meanwhile has the fields already: left as it is."""
        for hit in self._without_fields(index):
            entries = self.store.audit.list(target=f"source:{hit['_id']}", limit=1000)
            urls = hit["_source"].get("start_urls") or []
            allowed = audited_allow_private(urls, [e.after for e in entries])
            doc = {"render": False} | hit["_source"] | {"allow_private": allowed}
            with contextlib.suppress(EsConflict, NotFoundError):
                self.es.index(
                    index=index,
                    id=hit["_id"],
                    document=doc,
                    refresh=True,
                    if_seq_no=hit["_seq_no"],
                    if_primary_term=hit["_primary_term"],
                )

    def _without_fields(self, index: str) -> Iterator[dict[str, Any]]:
        """The stored sources lacking ``allow_private``, page by page after the last id."""
        after: dict[str, Any] = {}
        while True:
            hits = self.es.search(
                index=index,
                size=PAGE,
                seq_no_primary_term=True,
                query={"bool": {"must_not": {"exists": {"field": "allow_private"}}}},
                sort=[{"id": "asc"}],
                **after,
            )["hits"]["hits"]
            yield from hits
            if len(hits) < PAGE:
                return
            after = {"search_after": hits[-1]["sort"]}

    def put(self, source: Source) -> Source:
        doc = asdict(source)
        del doc["version"]
        if source.emergency_until is not None:
            doc["emergency_until"] = source.emergency_until.isoformat()
        guard: dict[str, Any] = {}
        if source.version is not None:
            try:
                seq_no, term = (int(x) for x in source.version.split(":"))
            except ValueError as e:
                raise QueryError(f"bad version {source.version!r}", "version") from e
            guard = {"if_seq_no": seq_no, "if_primary_term": term}
        try:
            result = self.es.index(
                index=self.index, id=source.id, document=doc, refresh=True, **guard
            )
        except (EsConflict, NotFoundError) as e:
            raise ConflictError(f"source {source.id} changed since version {source.version}") from e
        source.version = f"{result['_seq_no']}:{result['_primary_term']}"
        return source

    def get(self, source_id: str) -> Source | None:
        try:
            doc = self.es.get(index=self.index, id=source_id)
        except NotFoundError:
            return None
        return self._source(doc["_source"], f"{doc['_seq_no']}:{doc['_primary_term']}")

    def list(self) -> list[Source]:
        # Page by page after the last id: one search returns at most 10,000 hits, and a
        # province has more sources than that (the 10,001st was never scheduled).
        out: list[Source] = []
        after: dict[str, Any] = {}
        while True:
            found = self.es.search(
                index=self.index,
                size=PAGE,
                sort=[{"id": "asc"}],
                seq_no_primary_term=True,
                query={"match_all": {}},
                **after,
            )["hits"]["hits"]
            out += [
                self._source(h["_source"], f"{h['_seq_no']}:{h['_primary_term']}") for h in found
            ]
            if len(found) < PAGE:
                return out
            after = {"search_after": found[-1]["sort"]}

    def delete(self, source_id: str) -> bool:
        try:
            self.es.delete(index=self.index, id=source_id, refresh=True)
        except NotFoundError:
            return False
        return True

    def _source(self, src: dict[str, Any], version: str) -> Source:
        until = src.get("emergency_until")
        data = src | {
            "emergency_until": None
            if until is None
            else datetime.fromisoformat(until).astimezone(self.store.tz)
        }
        return Source(**data, version=version)

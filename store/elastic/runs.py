"""Crawl runs and per-source leases in Elasticsearch.

A lease is one document per source in ``<prefix>leases``: taken with a ``create`` op when
there is none, and otherwise only with ``if_seq_no``/``if_primary_term`` of the expired
lease read just before, so of two processes racing for a source exactly one wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import asdict
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from elasticsearch import ConflictError as EsConflict
from elasticsearch import NotFoundError

from store.base import RunRepo
from store.elastic.common import SCHEMA_VERSION, ensure_index_racing
from store.errors import ConflictError
from store.model import CrawlRun

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

RUN_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "source_id": {"type": "keyword"},
        "holder": {"type": "keyword"},
        "started": {"type": "date"},
        "lease_until": {"type": "date"},
        "finished": {"type": "date"},
        "outcome": {"type": "keyword"},
        "pages": {"type": "integer"},
        "not_modified": {"type": "integer"},
        "items": {"type": "integer"},
        "new_items": {"type": "integer"},
        "parse_failures": {"type": "integer"},
        "replacement_share": {"type": "float"},
        "errors": {"type": "object", "enabled": False},
        "problems": {"type": "keyword"},
        "list_pages": {"type": "integer"},
        "links": {"type": "integer"},
        "skipped_links": {"type": "integer"},
    },
}
LEASE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {"run_id": {"type": "keyword"}, "until": {"type": "date"}},
}
_TIMES = ("started", "lease_until", "finished")
PAGE = 2_000  # sources per page of the per-source aggregations
TERMS = 10_000  # source ids per terms query (the index caps one at 65,536)
INNER = 100  # index.max_inner_result_window: the most hits one top_hits may return
HITS = 10_000  # runs per page of recent_many (its pages hold fewer sources)


class ElasticRuns(RunRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es

    # Both created on first use: only crawler processes and the API ever touch them.
    @cached_property
    def index(self) -> str:
        return ensure_index_racing(self.store, "runs", RUN_MAPPING)

    @cached_property
    def leases(self) -> str:
        return ensure_index_racing(self.store, "leases", LEASE_MAPPING)

    def _lease(self, source_id: str) -> dict[str, Any] | None:
        try:
            return dict(self.es.get(index=self.leases, id=source_id))
        except NotFoundError:
            return None

    def start(self, run: CrawlRun, *, not_since: datetime | None = None) -> CrawlRun | None:
        lease = self._lease(run.source_id)
        if lease is not None and _time(lease["_source"]["until"]) > run.started:
            return None
        run.id = uuid.uuid4().hex
        doc = {"run_id": run.id, "until": run.lease_until.isoformat()}
        try:
            if lease is None:
                taken = self.es.create(index=self.leases, id=run.source_id, document=doc)
            else:
                taken = self.es.index(
                    index=self.leases,
                    id=run.source_id,
                    document=doc,
                    if_seq_no=lease["_seq_no"],
                    if_primary_term=lease["_primary_term"],
                )
        except EsConflict:
            return None
        # Holding the lease: every earlier holder wrote its run (refreshed) before it let
        # the lease go, so a search sees each run that started before this one.
        if not_since is not None and self._started_since(run.source_id, not_since):
            self._release(run.source_id, taken.body)
            return None
        if lease is not None:
            self._mark_lost(lease["_source"]["run_id"])
        self._write(run)
        return run

    def _started_since(self, source_id: str, since: datetime) -> bool:
        filters = [
            {"term": {"source_id": source_id}},
            {"range": {"started": {"gt": since.isoformat()}}},
        ]
        found = self.es.search(
            index=self.index,
            size=0,
            terminate_after=1,
            track_total_hits=1,
            query={"bool": {"filter": filters}},
        )
        return bool(found["hits"]["total"]["value"])

    def _mark_lost(self, run_id: str) -> None:
        try:
            old = self.es.get(index=self.index, id=run_id)
        except NotFoundError:
            return
        if old["_source"]["outcome"] == "running":
            # A conflict means its process came back to life and finished it.
            with suppress(EsConflict):
                self.es.index(
                    index=self.index,
                    id=run_id,
                    document=old["_source"] | {"outcome": "lost"},
                    if_seq_no=old["_seq_no"],
                    if_primary_term=old["_primary_term"],
                    refresh=True,
                )

    def extend(self, run: CrawlRun, until: datetime) -> None:
        lease = self._lease(run.source_id)
        if lease is None or lease["_source"]["run_id"] != run.id:
            raise ConflictError(f"run {run.id} lost the lease on source {run.source_id}")
        try:
            self.es.index(
                index=self.leases,
                id=run.source_id,
                document={"run_id": run.id, "until": until.isoformat()},
                if_seq_no=lease["_seq_no"],
                if_primary_term=lease["_primary_term"],
            )
        except EsConflict as e:
            raise ConflictError(f"run {run.id} lost the lease on source {run.source_id}") from e
        run.lease_until = until
        self._write(run)

    def finish(self, run: CrawlRun) -> CrawlRun:
        self._write(run)
        lease = self._lease(run.source_id)
        if lease is not None and lease["_source"]["run_id"] == run.id:
            self._release(run.source_id, lease)
        return run

    def _release(self, source_id: str, lease: Mapping[str, Any]) -> None:
        """Give back the lease as it was when read (``_seq_no``/``_primary_term``): a
        conflict means it was taken over after expiry, nothing of ours to release."""
        with suppress(EsConflict, NotFoundError):
            self.es.delete(
                index=self.leases,
                id=source_id,
                if_seq_no=lease["_seq_no"],
                if_primary_term=lease["_primary_term"],
            )

    def recent(self, source_id: str, limit: int = 20) -> list[CrawlRun]:
        found = self.es.search(
            index=self.index,
            size=limit,
            sort=[{"started": "desc"}],
            query={"bool": {"filter": [{"term": {"source_id": source_id}}]}},
        )["hits"]["hits"]
        return [self._run(h["_id"], h["_source"]) for h in found]

    def between(
        self, source_id: str, since: datetime, until: datetime, limit: int = 10_000
    ) -> list[CrawlRun]:
        span = {"gte": since.isoformat(), "lt": until.isoformat()}
        filters = [{"term": {"source_id": source_id}}, {"range": {"started": span}}]
        found = self.es.search(
            index=self.index,
            size=limit,
            sort=[{"started": "desc"}],
            query={"bool": {"filter": filters}},
        )["hits"]["hits"]
        return [self._run(h["_id"], h["_source"]) for h in found]

    def last_started(self, source_ids: Iterable[str] | None = None) -> dict[str, datetime]:
        # Named sources are filtered by terms queries of at most TERMS ids each.
        if source_ids is None:
            return self._last_started({"match_all": {}})
        wanted, out = sorted(set(source_ids)), dict[str, datetime]()
        for at in range(0, len(wanted), TERMS):
            out |= self._last_started({"terms": {"source_id": wanted[at : at + TERMS]}})
        return out

    def _last_started(self, query: dict[str, Any]) -> dict[str, datetime]:
        # The newest run's own start (top_hits), not the max of the date field: that is
        # indexed to the millisecond, and the scheduler's next run would drift from the
        # one recent() gives.
        newest = {"top_hits": {"size": 1, "sort": [{"started": "desc"}], "_source": ["started"]}}
        out: dict[str, datetime] = {}
        for bucket in self._per_source(query, {"last": newest}):
            started = bucket["last"]["hits"]["hits"][0]["_source"]["started"]
            out[bucket["key"]["s"]] = _time(started).astimezone(self.store.tz)
        return out

    def recent_many(
        self, source_ids: Iterable[str] | None = None, limit: int = 20
    ) -> dict[str, list[CrawlRun]]:
        # The composite aggregation of last_started with a top_hits of ``limit`` runs a
        # source, sorted as recent() sorts. One top_hits returns at most the index's
        # max_inner_result_window (100 by default): more runs a source are read one
        # source at a time. Pages hold at most HITS runs (PAGE sources of few).
        wanted = None if source_ids is None else sorted(set(source_ids))
        out: dict[str, list[CrawlRun]] = {s: [] for s in wanted or ()}
        if limit <= 0:
            return out
        if limit > INNER:
            for source_id in wanted if wanted is not None else self.last_started():
                out[source_id] = self.recent(source_id, limit)
            return out
        newest = {"top_hits": {"size": limit, "sort": [{"started": "desc"}]}}
        page = max(1, min(PAGE, HITS // limit))
        queries: list[dict[str, Any]] = [{"match_all": {}}]
        if wanted is not None:
            queries = [
                {"terms": {"source_id": wanted[at : at + TERMS]}}
                for at in range(0, len(wanted), TERMS)
            ]
        for query in queries:
            for bucket in self._per_source(query, {"runs": newest}, page):
                hits = bucket["runs"]["hits"]["hits"]
                out[bucket["key"]["s"]] = [self._run(h["_id"], h["_source"]) for h in hits]
        return out

    def started_per_source(self, since: datetime, until: datetime) -> dict[str, int]:
        span = {"gte": since.isoformat(), "lt": until.isoformat()}
        buckets = self._per_source({"range": {"started": span}}, {})
        return {b["key"]["s"]: b["doc_count"] for b in buckets}

    def _per_source(
        self, query: dict[str, Any], aggs: dict[str, Any], page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """One bucket per source with runs matching ``query`` (``aggs`` computed in each):
        a composite aggregation paged by its after key, PAGE sources a request (a terms
        aggregation stops at its size, and a province has over 10,000 sources)."""
        size = page_size or PAGE
        after: dict[str, Any] = {}
        while True:
            composite = {"size": size, "sources": [{"s": {"terms": {"field": "source_id"}}}]}
            by: dict[str, Any] = {"composite": composite | after}
            if aggs:
                by["aggs"] = aggs
            found = self.es.search(index=self.index, size=0, query=query, aggs={"by": by})
            page = found["aggregations"]["by"]
            yield from page["buckets"]
            if len(page["buckets"]) < size or "after_key" not in page:
                return
            after = {"after": page["after_key"]}

    def _write(self, run: CrawlRun) -> None:
        doc = asdict(run)
        del doc["id"]
        for name in _TIMES:
            if doc[name] is not None:
                doc[name] = doc[name].isoformat()
        # Few writes, and the scheduler reads them back right away: refresh each.
        self.es.index(index=self.index, id=run.id, document=doc, refresh=True)

    def _run(self, run_id: str, src: dict[str, Any]) -> CrawlRun:
        data = dict(src)
        for name in _TIMES:
            if data.get(name) is not None:
                data[name] = _time(data[name]).astimezone(self.store.tz)
        return CrawlRun(id=run_id, **data)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)

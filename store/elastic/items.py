"""Items in Elasticsearch: bulk upserts that keep first_seen, search, facets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import ConflictError as EsConflict
from elasticsearch.helpers import scan

from rules.facts import facts
from rules.highlight import search_fragments
from rules.syntax import Node
from store.base import ItemRepo, check_events, check_query, check_span
from store.elastic.common import SCHEMA_VERSION
from store.elastic.dsl import to_dsl
from store.elastic.generations import Generations
from store.errors import ConflictError, NotFound, QueryError, StoreError, StoreUnavailable
from store.frequencies import LEAD, Frequencies
from store.model import (
    MAX_WINDOW,
    MUTABLE_FIELDS,
    EventOrder,
    EventSummary,
    Facets,
    Found,
    Item,
    ItemQuery,
    ItemText,
    SearchResult,
    with_id,
)

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore


REGION_FACETS = 200  # as on SQLite

ITEM_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "url": {"type": "keyword", "index": False},
        "title": {"type": "text", "analyzer": "standard"},
        "body": {"type": "text", "analyzer": "standard"},
        "source_id": {"type": "keyword"},
        "author": {"type": "keyword"},
        "site_source": {"type": "keyword"},
        "publish_time": {"type": "date"},
        "written_time": {"type": "date"},
        "first_seen": {"type": "date"},
        "tags": {"type": "keyword"},
        "rules": {"type": "keyword"},
        "hits": {"type": "object", "enabled": False},
        "event_id": {"type": "keyword"},
        "norm_title": {"type": "text", "analyzer": "standard"},
        "norm_body": {"type": "text", "analyzer": "standard"},
        "fingerprint": {"type": "keyword"},
        "published_precision": {"type": "keyword"},
        "published_source": {"type": "keyword"},
        "body_missing": {"type": "boolean"},
        "backfill": {"type": "boolean"},
        "regions": {"type": "keyword"},
        "region_primary": {"type": "keyword"},
        "places": {"type": "object", "enabled": False},
        # For sorting; negative>=0.7 tests a fact term, never a float32 comparison.
        "negative": {"type": "float"},
        "sentiment": {"type": "keyword"},
        "sentiment_evidence": {"type": "object", "enabled": False},
        "facts": {"type": "keyword"},  # rules.facts.facts: what region:/sentiment: test
    },
}


_SCAN_FIELDS = (
    "first_seen", "source_id", "title", "norm_title", "norm_body", "rules", "event_id",
)  # fmt: skip


_PHRASE_BATCH = 100
_AGGREGATE_MAX = 300  # phrases counted on the node; more are counted from the items read
_AGGREGATE_SECONDS = 120


def _phrase(text: str) -> dict[str, Any]:
    """Items whose normalised title or body holds ``text`` (Han characters are tokens of
    their own, so a phrase of them is a substring)."""
    return {
        "bool": {
            "should": [
                {"match_phrase": {"norm_title": text}},
                {"match_phrase": {"norm_body": text}},
            ]
        }
    }


class ElasticItems(ItemRepo):
    batch_size = 1000

    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es
        self.generations = Generations(store, "items", ITEM_MAPPING, store.lifecycle)
        self.index = self.generations.ensure()  # the alias over every generation

    def _upsert(self, batch: list[Item]) -> int:
        # New pages are the common case: ``create`` is as cheap as a plain index. Pages
        # already stored answer 409 and get a partial update that keeps first_seen
        # (no script needed, so this works without the painless module). A page stored
        # in an older generation is updated where it is, so rollover never doubles it.
        self.generations.maybe_maintain()
        docs = {item.id: _doc(item) for item in batch}
        members = self.generations.members()
        homes = self.generations.locate(docs, members)
        ops: list[dict[str, Any]] = []
        again: list[dict[str, Any]] = []
        for doc_id, doc in docs.items():
            if doc_id in homes:
                again += _partial(doc_id, doc, homes[doc_id])
            else:
                ops += [{"create": {"_index": members.write, "_id": doc_id}}, doc]
        result = self._bulk(ops) if ops else {"items": []}
        for entry in result["items"]:
            status = entry["create"]
            if status["status"] == 409:
                again += _partial(status["_id"], docs[status["_id"]], [members.write])
            elif status["status"] >= 300:
                raise QueryError(f"item {status['_id']} was refused: {status.get('error')}")
        if again:
            for entry in self._bulk(again)["items"]:
                if entry["update"]["status"] >= 300:
                    raise QueryError(f"item {entry['update']['_id']}: {entry['update']['error']}")
        return len(batch)

    def _bulk(self, ops: list[dict[str, Any]]) -> Any:
        try:
            return self.es.bulk(operations=ops, refresh=self.store.refresh)
        except TransportConnectionError as e:
            raise StoreUnavailable(f"Elasticsearch at {self.store.display_url}: {e}") from e

    def get(self, item_id: str) -> Item | None:
        found = self._get(item_id)
        return None if found is None else self._item(found[1], found[2], item_id)

    def _get(self, item_id: str) -> tuple[str, dict[str, Any], str] | None:
        """The item's index, source and version: a real-time read of every generation
        (a search would miss what was written within the last refresh interval)."""
        names = self.generations.members().all
        docs = self.es.mget(docs=[{"_index": n, "_id": item_id} for n in names])["docs"]
        for doc in docs:
            if doc.get("found"):
                return doc["_index"], doc["_source"], f"{doc['_seq_no']}:{doc['_primary_term']}"
        return None

    def update(self, item_id: str, changes: dict[str, Any], if_version: str) -> Item:
        unknown = set(changes) - MUTABLE_FIELDS
        if unknown:
            raise QueryError(f"cannot change {', '.join(sorted(unknown))}", sorted(unknown)[0])
        try:
            seq_no, term = (int(x) for x in if_version.split(":"))
        except ValueError as e:
            raise QueryError(f"bad version {if_version!r}", "version") from e
        found = self._get(item_id)
        if found is None:
            raise NotFound(f"no item {item_id}")
        home, source, _ = found
        doc = _doc(self._item(source, "")) | changes
        try:
            self.es.index(
                index=home,
                id=item_id,
                document=doc,
                if_seq_no=seq_no,
                if_primary_term=term,
                refresh=self.store.refresh,
            )
        except EsConflict as e:
            raise ConflictError(f"item {item_id} changed since version {if_version}") from e
        updated = self.get(item_id)
        assert updated is not None
        return updated

    def scan(self, since: datetime, until: datetime) -> Iterator[ItemText]:
        check_span(since, until)
        # A scroll, not from/size: the window may hold far more than MAX_WINDOW items.
        # Sorted by time on the node, so callers see them oldest first as on SQLite.
        hits = scan(
            self.es,
            index=self.index,
            query={
                "query": {
                    "range": {"first_seen": {"gte": since.isoformat(), "lt": until.isoformat()}}
                },
                "sort": [{"first_seen": "asc"}],
                "_source": list(_SCAN_FIELDS),
            },
            size=2000,
            preserve_order=True,
            scroll="2m",
        )
        for hit in hits:
            src = hit["_source"]
            yield ItemText(
                id=hit["_id"],
                first_seen=datetime.fromisoformat(src["first_seen"]).astimezone(self.store.tz),
                source_id=src["source_id"],
                title=src["title"],
                norm_title=src.get("norm_title", ""),
                norm_body=src.get("norm_body", ""),
                rules=src.get("rules", []),
                event_id=src.get("event_id"),
            )

    def phrase_frequencies(
        self,
        phrases: Sequence[str],
        since: datetime,
        until: datetime,
        *,
        scope: Sequence[str] = (),
        sources: Iterable[str] = (),
        events: Iterable[str] = (),
        lead: int = LEAD,
    ) -> Frequencies:
        """Counted on the node for up to :data:`_AGGREGATE_MAX` phrases: a ``filters``
        aggregation of phrase queries on the normalised fields, each with a per-day
        histogram. Each phrase query walks the postings of its characters over the whole
        span (about 40 ms per phrase at 100k items on the bench's node), so for more
        phrases than that reading the items once with a scroll and counting them here is
        faster, and is what happens (``bench/discovery.py`` measures both).
        ``significant_text`` does not serve either: the analyser makes every Han character
        a token, so it could only rank characters, not multi-character terms.

        The node matches the whole normalised body, not its first ``lead`` characters:
        a phrase or scope word only further down a body counts here and not on SQLite
        (the tolerance the backends agree within; bodies shorter than ``lead`` agree
        exactly)."""
        check_span(since, until)
        if len(phrases) > _AGGREGATE_MAX:
            return super().phrase_frequencies(
                phrases, since, until, scope=scope, sources=sources, events=events, lead=lead
            )
        es = self.es.options(request_timeout=_AGGREGATE_SECONDS)
        filters: list[dict[str, Any]] = [
            {"range": {"first_seen": {"gte": since.isoformat(), "lt": until.isoformat()}}}
        ]
        if chosen := sorted(set(sources)):
            filters.append({"terms": {"source_id": chosen}})
        if scope:
            filters.append({"bool": {"should": [_phrase(w) for w in scope]}})
        query = {"bool": {"filter": filters}}
        wanted = sorted(set(events))
        aggs: dict[str, Any] = {}
        if wanted:
            aggs["events"] = {
                "terms": {"field": "event_id", "include": wanted, "size": len(wanted)}
            }
        first = es.search(
            index=self.index, size=0, track_total_hits=True, query=query, aggs=aggs or None
        )
        events_found = {
            b["key"]: int(b["doc_count"])
            for b in first.get("aggregations", {}).get("events", {}).get("buckets", [])
        }
        result = Frequencies(int(first["hits"]["total"]["value"]), {}, {}, events_found)
        day = {
            "date_histogram": {
                "field": "first_seen",
                "calendar_interval": "day",
                "time_zone": str(self.store.tz),
                "min_doc_count": 1,
            }
        }
        # Batches keep each request's buckets (phrases x days) well under the node's limit.
        for start in range(0, len(phrases), _PHRASE_BATCH):
            batch = phrases[start : start + _PHRASE_BATCH]
            agg = {
                "filters": {"filters": {str(i): _phrase(p) for i, p in enumerate(batch)}},
                "aggs": {"day": day},
            }
            found = es.search(index=self.index, size=0, query=query, aggs={"p": agg})
            for key, bucket in found["aggregations"]["p"]["buckets"].items():
                if not bucket["doc_count"]:
                    continue
                phrase = batch[int(key)]
                result.df[phrase] = int(bucket["doc_count"])
                result.daily[phrase] = {
                    b["key_as_string"][:10]: int(b["doc_count"]) for b in bucket["day"]["buckets"]
                }
        return result

    def count(self) -> int:
        return int(self.es.count(index=self.index)["count"])

    def find_similar(self, keys: list[str], since: datetime, limit: int = 20) -> list[Item]:
        if not keys:
            return []
        result = self.es.search(index=self.index, **self._similar_body(keys, since, limit))
        return self._similar_items(result)

    def find_similar_many(
        self, queries: Sequence[tuple[list[str], datetime]], limit: int = 20
    ) -> list[list[Item]]:
        asked = [(i, keys, since) for i, (keys, since) in enumerate(queries) if keys]
        out: list[list[Item]] = [[] for _ in queries]
        if not asked:
            return out
        searches: list[dict[str, Any]] = []
        for _, keys, since in asked:
            searches += [{"index": self.index}, self._similar_body(keys, since, limit)]
        answers = self.es.msearch(searches=searches)["responses"]
        for (i, _, _), answer in zip(asked, answers, strict=True):
            if "error" in answer:
                raise _search_error(answer)
            out[i] = self._similar_items(answer)
        return out

    @staticmethod
    def _similar_body(keys: list[str], since: datetime, limit: int) -> dict[str, Any]:
        # One should-clause per key: the score counts shared keys (constant_score each).
        return {
            "size": limit,
            "seq_no_primary_term": True,
            "query": {
                "bool": {
                    "should": [
                        {"constant_score": {"filter": {"term": {"fingerprint": k}}}}
                        for k in dict.fromkeys(keys)
                    ],
                    "minimum_should_match": 1,
                    "filter": [{"range": {"first_seen": {"gte": since.isoformat()}}}],
                }
            },
            "sort": [{"_score": "desc"}, {"first_seen": "asc"}],
        }

    def _similar_items(self, result: Any) -> list[Item]:
        return [
            self._item(h["_source"], f"{h['_seq_no']}:{h['_primary_term']}", h["_id"])
            for h in result["hits"]["hits"]
        ]

    def search(self, query: ItemQuery) -> SearchResult:
        # query.count_limit does not apply: Elasticsearch counts every match (exact).
        node = check_query(query)
        result = self.es.search(index=self.index, **self._search_body(query, node))
        return self._found(result, query, node)

    def search_with_facets(self, query: ItemQuery) -> tuple[SearchResult, Facets]:
        """Words alone: two searches in one request, run side by side on the node: the
        page, ranked, counting no further than the deepest page (so a common word's low
        scorers are skipped), and the facets and the total, unranked (no scores to
        compute); one search doing both scores every match. Measured with
        bench/search.py: about half the time at a million items."""
        node = check_query(query)
        where = self._query(query, node)
        if where["bool"]["filter"]:
            # Narrowed by time or source, the matches are few: one search is faster.
            body = self._search_body(query, node) | {"aggs": self._facet_aggs(query)}
            result = self.es.search(index=self.index, **body)
            return self._found(result, query, node), _facets(result["aggregations"])
        page = self._search_body(query, node) | {"track_total_hits": MAX_WINDOW}
        counts = {"query": where, "size": 0, "track_total_hits": True}
        counts["aggs"] = self._facet_aggs(query)
        index = {"index": self.index}
        answers = self.es.msearch(searches=[index, page, index, counts])["responses"]
        for answer in answers:
            if "error" in answer:
                raise _search_error(answer)
        found = self._found(answers[0], query, node)
        found.total = int(answers[1]["hits"]["total"]["value"])
        return found, _facets(answers[1]["aggregations"])

    def facets(self, query: ItemQuery) -> Facets:
        node = check_query(query)
        result = self.es.search(
            index=self.index,
            query=self._query(query, node),
            size=0,
            aggs=self._facet_aggs(query),
        )
        return _facets(result["aggregations"])

    def _search_body(self, query: ItemQuery, node: Node | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "query": self._query(query, node),
            "from": (query.page - 1) * query.size,
            "size": query.size,
            "sort": _sort(query, node),
            "track_total_hits": True,
            "seq_no_primary_term": True,
        }
        return body

    def _found(self, result: Any, query: ItemQuery, node: Node | None) -> SearchResult:
        found = []
        for hit in result["hits"]["hits"]:
            version = f"{hit['_seq_no']}:{hit['_primary_term']}"
            item = self._item(hit["_source"], version, hit["_id"])
            marks: dict[str, list[str]] = {}
            # Marked here, as on SQLite, rather than by Elasticsearch's highlighter: one
            # function escapes crawled text for every page (rules.highlight).
            if node is not None and query.highlight and not query.normalized:
                for name in ("title", "body"):
                    fragments = search_fragments(getattr(item, name), node, name)
                    if fragments:
                        marks[name] = [str(f) for f in fragments]
            found.append(Found(item, hit.get("_score"), marks))
        return SearchResult(int(result["hits"]["total"]["value"]), found)

    def _facet_aggs(self, query: ItemQuery) -> dict[str, Any]:
        return {
            "per_day": {
                "date_histogram": {
                    "field": query.time_field,
                    "calendar_interval": "day",
                    "time_zone": str(self.store.tz),
                    "format": "yyyy-MM-dd",
                    "min_doc_count": 1,
                }
            },
            "per_source": {"terms": {"field": "source_id", "size": 1000}},
            "per_rule": {"terms": {"field": "rules", "size": 1000}},
            "per_region": {"terms": {"field": "regions", "size": REGION_FACETS}},
        }

    def events(
        self, query: ItemQuery, limit: int = 50, order: EventOrder = "recent"
    ) -> list[EventSummary]:
        node = check_events(query, limit)
        by = {"last": "desc"} if order == "recent" else {"_count": "desc"}
        result = self.es.search(
            index=self.index,
            query=self._query(query, node),
            size=0,
            aggs={
                "events": {
                    "terms": {"field": "event_id", "size": limit, "order": [by, {"_key": "asc"}]},
                    "aggs": {
                        "first": {"min": {"field": "first_seen"}},
                        "last": {"max": {"field": "first_seen"}},
                        "sources": {"terms": {"field": "source_id", "size": 100}},
                        "rules": {"terms": {"field": "rules", "size": 100}},
                        "top": {
                            "top_hits": {
                                "size": 1,
                                "sort": [{"first_seen": "asc"}],
                                "_source": ["title"],
                            }
                        },
                    },
                }
            },
        )
        out = []
        for b in result["aggregations"]["events"]["buckets"]:
            top = b["top"]["hits"]["hits"][0]
            out.append(
                EventSummary(
                    id=b["key"],
                    items=b["doc_count"],
                    first_seen=self._epoch(b["first"]["value"]),
                    last_seen=self._epoch(b["last"]["value"]),
                    sources=list(_counts(b["sources"])),
                    rules=list(_counts(b["rules"])),
                    title=top["_source"]["title"],
                    item_id=top["_id"],
                )
            )
        return out

    def _epoch(self, millis: float) -> datetime:
        return datetime.fromtimestamp(millis / 1000, self.store.tz)

    def _query(self, query: ItemQuery, node: Node | None) -> dict[str, Any]:
        filters: list[dict[str, Any]] = []
        span = {}
        if query.since:
            span["gte"] = query.since.isoformat()
        if query.until:
            span["lt"] = query.until.isoformat()
        if span:
            filters.append({"range": {query.time_field: span}})
        if query.sources:
            filters.append({"terms": {"source_id": query.sources}})
        if query.tags:
            filters.append({"terms": {"tags": query.tags}})
        if query.rules:
            filters.append({"terms": {"rules": query.rules}})
        if query.event_id:
            filters.append({"term": {"event_id": query.event_id}})
        if query.backfill:
            filters.append({"term": {"backfill": True}})
        elif query.backfill is not None:
            # Items stored before the field existed lack it: they count as news.
            filters.append({"bool": {"must_not": {"term": {"backfill": True}}}})
        must = [to_dsl(node, "norm_" if query.normalized else "")] if node is not None else []
        return {"bool": {"must": must, "filter": filters}}

    def _item(self, src: dict[str, Any], version: str, doc_id: str | None = None) -> Item:
        item = Item(
            url=src["url"],
            title=src["title"],
            body=src["body"],
            source_id=src["source_id"],
            author=src["author"],
            site_source=src["site_source"],
            publish_time=self._time(src.get("publish_time")),
            written_time=self._time(src.get("written_time")),
            first_seen=datetime.fromisoformat(src["first_seen"]).astimezone(self.store.tz),
            tags=src["tags"],
            rules=src["rules"],
            hits=src["hits"],
            event_id=src.get("event_id"),
            norm_title=src.get("norm_title", ""),
            norm_body=src.get("norm_body", ""),
            fingerprint=src.get("fingerprint", []),
            published_precision=src.get("published_precision") or "",
            published_source=src.get("published_source") or "",
            body_missing=bool(src.get("body_missing", False)),
            backfill=bool(src.get("backfill", False)),
            regions=src.get("regions") or [],
            region_primary=src.get("region_primary") or [],
            places=src.get("places") or [],
            negative=float(src.get("negative") or 0.0),
            sentiment=src.get("sentiment") or "",
            sentiment_evidence=src.get("sentiment_evidence") or [],
            version=version,
        )
        return item if doc_id is None else with_id(item, doc_id)

    def _time(self, value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).astimezone(self.store.tz)


def _doc(item: Item) -> dict[str, Any]:
    for name in ("first_seen", "publish_time", "written_time"):
        value = getattr(item, name)
        if value is not None and value.tzinfo is None:
            raise QueryError(f"item {item.url}: times need a time zone", name)
    return {
        "url": item.url,
        "title": item.title,
        "body": item.body,
        "source_id": item.source_id,
        "author": item.author,
        "site_source": item.site_source,
        "publish_time": item.publish_time.isoformat() if item.publish_time else None,
        "written_time": item.written_time.isoformat() if item.written_time else None,
        "first_seen": item.first_seen.isoformat(),
        "tags": item.tags,
        "rules": item.rules,
        "hits": item.hits,
        "event_id": item.event_id,
        "norm_title": item.norm_title,
        "norm_body": item.norm_body,
        "fingerprint": item.fingerprint,
        "published_precision": item.published_precision,
        "published_source": item.published_source,
        "body_missing": item.body_missing,
        "backfill": item.backfill,
        "regions": item.regions,
        "region_primary": item.region_primary,
        "places": item.places,
        "negative": item.negative,
        "sentiment": item.sentiment,
        "sentiment_evidence": item.sentiment_evidence,
        "facts": facts(item.regions, item.region_primary, item.sentiment, item.negative),
    }


def _partial(doc_id: str, doc: dict[str, Any], homes: list[str]) -> list[dict[str, Any]]:
    """Bulk updates of a stored item wherever it is, keeping what was set at first sight
    (first_seen, backfill)."""
    changes = {k: v for k, v in doc.items() if k not in ("first_seen", "backfill")}
    ops: list[dict[str, Any]] = []
    for home in homes:
        ops += [{"update": {"_index": home, "_id": doc_id}}, {"doc": changes}]
    return ops


def _search_error(answer: dict[str, Any]) -> StoreError:
    """The error of one search of a multi-search (which answers 200 around it)."""
    error = answer.get("error") or {}
    cause = (error.get("root_cause") or [error])[0] if isinstance(error, dict) else {}
    message = f"Elasticsearch search failed: {cause.get('type')}: {cause.get('reason')}"
    if answer.get("status") in (429, 502, 503, 504):
        return StoreUnavailable(message)
    return StoreError(message)


def _facets(aggs: dict[str, Any]) -> Facets:
    return Facets(
        {b["key_as_string"]: b["doc_count"] for b in aggs["per_day"]["buckets"]},
        _counts(aggs["per_source"]),
        _counts(aggs["per_rule"]),
        _counts(aggs["per_region"]) if "per_region" in aggs else {},
    )


def _counts(agg: dict[str, Any]) -> dict[str, int]:
    """A terms aggregation's buckets, most first and then by key (as SQLite orders them)."""
    pairs = sorted(
        ((b["key"], b["doc_count"]) for b in agg["buckets"]), key=lambda kv: (-kv[1], kv[0])
    )
    return dict(pairs)


def _sort(query: ItemQuery, node: Node | None) -> list[Any]:
    order = "desc" if query.descending else "asc"
    if query.sort == "relevance" and node is not None:
        return [{"_score": order}, {"first_seen": "desc"}]
    field = "first_seen" if query.sort == "relevance" else query.sort
    return [{field: {"order": order, "missing": "_last"}}, {"first_seen": "desc"}]

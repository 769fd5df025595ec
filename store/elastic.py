"""The Elasticsearch backend, for one node or a cluster.

Uses core features only (standard analyzer, match_phrase, intervals, bool, bulk,
core aggregations, highlighting, aliases): no scripts, no analysis plugins, no
reindex or update-by-query, so it runs on the minimal test distribution too.
The standard analyzer emits one token per Han character, which gives phrase
queries the same substring semantics as the SQLite backend.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, NotFoundError
from elasticsearch import ConflictError as EsConflict

from store.base import AuditRepo, ItemRepo, LibraryRepo, Store, check_query, check_successor
from store.errors import ConflictError, NotFound, QueryError, SchemaMismatch, StoreUnavailable
from store.model import (
    MUTABLE_FIELDS,
    AuditEntry,
    Facets,
    Found,
    Item,
    ItemQuery,
    LibraryVersion,
    SearchResult,
)
from store.query import And, GroupRef, Near, Node, Not, Or, Scoped, Word, split_negatives

SCHEMA_VERSION = 1
BULK_CHUNK = 1000
TEXT_FIELDS = ("title", "body")

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
        "first_seen": {"type": "date"},
        "tags": {"type": "keyword"},
        "rules": {"type": "keyword"},
        "hits": {"type": "object", "enabled": False},
        "event_id": {"type": "keyword"},
    },
}


LIBRARY_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "version": {"type": "integer"},
        "parent": {"type": "integer"},
        "author": {"type": "keyword"},
        "created": {"type": "date"},
        "message": {"type": "text"},
        "data": {"type": "object", "enabled": False},
        "summary": {"type": "object", "enabled": False},
        # Searchable copies: which versions held a word, a group or a rule.
        "words": {"type": "keyword"},
        "groups": {"type": "keyword"},
        "rules": {"type": "keyword"},
    },
}

AUDIT_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "seq": {"type": "long"},
        "time": {"type": "date"},
        "actor": {"type": "keyword"},
        "action": {"type": "keyword"},
        "target": {"type": "keyword"},
        "before": {"type": "object", "enabled": False},
        "after": {"type": "object", "enabled": False},
    },
}


class ElasticStore(Store):
    """The store on the Elasticsearch cluster at ``url``.

    ``prefix`` namespaces the indices (tests use their own); ``refresh`` makes
    each write visible to search before it returns (tests; slower for ingest).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "yuqing-",
        tz: str = "Asia/Shanghai",
        refresh: bool = False,
        wait_seconds: float = 30.0,
        shards: int = 1,
        replicas: int = 0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.tz = ZoneInfo(tz)
        self.refresh: bool | str = "wait_for" if refresh else False
        self.es = Elasticsearch(
            url.split(","), request_timeout=30, max_retries=3, retry_on_timeout=True
        )
        self._wait(wait_seconds)
        self.settings = {"number_of_shards": shards, "number_of_replicas": replicas}
        self.items: ElasticItems = ElasticItems(self)
        self.library: ElasticLibrary = ElasticLibrary(self)
        self.audit: ElasticAudit = ElasticAudit(self)

    def _wait(self, seconds: float) -> None:
        """Wait for the cluster with backoff; a clear error naming the URL if it never comes."""
        deadline, delay, last = time.monotonic() + seconds, 0.25, ""
        while True:
            try:
                health = self.es.cluster.health(wait_for_status="yellow", timeout="5s")
                if not health.get("timed_out"):
                    return
                last = f"cluster status {health.get('status')}"
            except (TransportError, ApiError) as e:
                last = str(e)
            if time.monotonic() >= deadline:
                raise StoreUnavailable(f"Elasticsearch at {self.url} is not reachable: {last}")
            time.sleep(delay)
            delay = min(delay * 2, 4.0)

    def ensure_index(self, name: str, mapping: dict[str, Any]) -> str:
        """Create ``<prefix><name>`` (an alias over ``-v1``) or check that the existing
        mapping agrees with ``mapping``. Never reindexes or drops anything."""
        alias = self.prefix + name
        if not self.es.indices.exists(index=alias):
            self.es.indices.create(
                index=f"{alias}-v{SCHEMA_VERSION}",
                mappings=mapping,
                settings=self.settings,
                aliases={alias: {}},
            )
            return alias
        current = self.es.indices.get_mapping(index=alias)
        for index, body in current.items():
            props = body["mappings"].get("properties", {})
            for field, spec in mapping["properties"].items():
                have = props.get(field)
                if have is None:
                    continue
                if have.get("type", "object") != spec["type"]:
                    raise SchemaMismatch(
                        f"index {index}: field {field!r} is {have.get('type', 'object')}, "
                        f"yuqing needs {spec['type']}; refusing to change it. Move the data "
                        "to a new index by hand or point yuqing at another prefix."
                    )
            missing = {f: s for f, s in mapping["properties"].items() if f not in props}
            if missing:
                self.es.indices.put_mapping(index=index, properties=missing)
        return alias

    def close(self) -> None:
        self.es.close()

    def health(self) -> dict[str, Any]:
        health = self.es.cluster.health()
        return {
            "backend": "elasticsearch",
            "url": self.url,
            "status": health["status"],
            "nodes": health["number_of_nodes"],
            "items": self.items.count(),
        }


class ElasticItems(ItemRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es
        self.index = store.ensure_index("items", ITEM_MAPPING)

    def upsert_many(self, items: Iterable[Item]) -> int:
        done = 0
        batch: list[Item] = []
        for item in items:
            batch.append(item)
            if len(batch) == BULK_CHUNK:
                done += self._upsert(batch)
                batch = []
        if batch:
            done += self._upsert(batch)
        return done

    def _upsert(self, batch: list[Item]) -> int:
        # New pages are the common case: ``create`` is as cheap as a plain index. Pages
        # already stored answer 409 and get a partial update that keeps first_seen
        # (no script needed, so this works without the painless module).
        docs = {item.id: _doc(item) for item in batch}
        ops: list[dict[str, Any]] = []
        for doc_id, doc in docs.items():
            ops += [{"create": {"_index": self.index, "_id": doc_id}}, doc]
        result = self._bulk(ops)
        again: list[dict[str, Any]] = []
        for entry in result["items"]:
            status = entry["create"]
            if status["status"] == 409:
                doc = dict(docs[status["_id"]])
                doc.pop("first_seen")
                again += [{"update": {"_index": self.index, "_id": status["_id"]}}, {"doc": doc}]
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
            raise StoreUnavailable(f"Elasticsearch at {self.store.url}: {e}") from e

    def get(self, item_id: str) -> Item | None:
        try:
            doc = self.es.get(index=self.index, id=item_id)
        except NotFoundError:
            return None
        return self._item(doc["_source"], f"{doc['_seq_no']}:{doc['_primary_term']}")

    def update(self, item_id: str, changes: dict[str, Any], if_version: str) -> Item:
        unknown = set(changes) - MUTABLE_FIELDS
        if unknown:
            raise QueryError(f"cannot change {', '.join(sorted(unknown))}", sorted(unknown)[0])
        try:
            seq_no, term = (int(x) for x in if_version.split(":"))
        except ValueError as e:
            raise QueryError(f"bad version {if_version!r}", "version") from e
        current = self.get(item_id)
        if current is None:
            raise NotFound(f"no item {item_id}")
        doc = _doc(current) | changes
        try:
            self.es.index(
                index=self.index,
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

    def count(self) -> int:
        return int(self.es.count(index=self.index)["count"])

    def search(self, query: ItemQuery) -> SearchResult:
        node = check_query(query)
        body: dict[str, Any] = {
            "query": self._query(query, node),
            "from": (query.page - 1) * query.size,
            "size": query.size,
            "sort": _sort(query, node),
            "track_total_hits": True,
            "seq_no_primary_term": True,
        }
        if node is not None and query.highlight:
            body["highlight"] = {
                "encoder": "html",
                "pre_tags": ["<mark>"],
                "post_tags": ["</mark>"],
                "fragment_size": 80,
                "number_of_fragments": 3,
                "fields": {f: {} for f in TEXT_FIELDS},
            }
        result = self.es.search(index=self.index, **body)
        found = []
        for hit in result["hits"]["hits"]:
            marks = {
                # Han characters are highlighted one token at a time; join the runs.
                f: [frag.replace("</mark><mark>", "") for frag in frags]
                for f, frags in hit.get("highlight", {}).items()
            }
            version = f"{hit['_seq_no']}:{hit['_primary_term']}"
            found.append(Found(self._item(hit["_source"], version), hit.get("_score"), marks))
        return SearchResult(int(result["hits"]["total"]["value"]), found)

    def facets(self, query: ItemQuery) -> Facets:
        node = check_query(query)
        result = self.es.search(
            index=self.index,
            query=self._query(query, node),
            size=0,
            aggs={
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
            },
        )
        aggs = result["aggregations"]
        per_source = sorted(
            ((b["key"], b["doc_count"]) for b in aggs["per_source"]["buckets"]),
            key=lambda kv: (-kv[1], kv[0]),
        )
        return Facets(
            {b["key_as_string"]: b["doc_count"] for b in aggs["per_day"]["buckets"]},
            dict(per_source),
        )

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
        must = [to_dsl(node)] if node is not None else []
        return {"bool": {"must": must, "filter": filters}}

    def _item(self, src: dict[str, Any], version: str) -> Item:
        return Item(
            url=src["url"],
            title=src["title"],
            body=src["body"],
            source_id=src["source_id"],
            author=src["author"],
            site_source=src["site_source"],
            publish_time=self._time(src.get("publish_time")),
            first_seen=datetime.fromisoformat(src["first_seen"]).astimezone(self.store.tz),
            tags=src["tags"],
            rules=src["rules"],
            hits=src["hits"],
            event_id=src.get("event_id"),
            version=version,
        )

    def _time(self, value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).astimezone(self.store.tz)


class ElasticLibrary(LibraryRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es
        self.index = store.ensure_index("library", LIBRARY_MAPPING)

    def head(self) -> LibraryVersion | None:
        found = self.es.search(
            index=self.index, size=1, sort=[{"version": "desc"}], query={"match_all": {}}
        )["hits"]["hits"]
        return self._version(found[0]["_source"]) if found else None

    def get(self, version: int) -> LibraryVersion | None:
        try:
            return self._version(self.es.get(index=self.index, id=str(version))["_source"])
        except NotFoundError:
            return None

    def history(self, limit: int = 50) -> list[LibraryVersion]:
        found = self.es.search(
            index=self.index,
            size=limit,
            sort=[{"version": "desc"}],
            source_excludes=["data", "words", "groups", "rules"],
            query={"match_all": {}},
        )["hits"]["hits"]
        return [self._version({**h["_source"], "data": {}}) for h in found]

    def commit(self, version: LibraryVersion) -> LibraryVersion:
        check_successor(version)
        head = self.head()
        current = head.version if head else None
        if current != version.parent:
            raise ConflictError(
                f"the library is at version {current}, not {version.parent}: reload and retry"
            )
        groups = version.data.get("groups", [])
        doc = {
            "version": version.version,
            "parent": version.parent,
            "author": version.author,
            "created": version.created.isoformat(),
            "message": version.message,
            "data": version.data,
            "summary": version.summary,
            "words": sorted(
                {w if isinstance(w, str) else w["text"] for g in groups for w in g.get("words", [])}
            ),
            "groups": [g["name"] for g in groups],
            "rules": [r["name"] for r in version.data.get("rules", [])],
        }
        try:
            # The version number is the document id, so of two editors who saved on
            # top of the same parent exactly one creates it.
            self.es.create(index=self.index, id=str(version.version), document=doc, refresh=True)
        except EsConflict as e:
            raise ConflictError(
                f"version {version.version} was saved by someone else first: reload and retry"
            ) from e
        return version

    def _version(self, src: dict[str, Any]) -> LibraryVersion:
        return LibraryVersion(
            version=src["version"],
            parent=src.get("parent"),
            author=src["author"],
            created=datetime.fromisoformat(src["created"]).astimezone(self.store.tz),
            message=src["message"],
            data=src["data"],
            summary=src.get("summary") or {},
        )


class ElasticAudit(AuditRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es
        self.index = store.ensure_index("audit", AUDIT_MAPPING)

    def append(self, entry: AuditEntry) -> AuditEntry:
        # ``seq`` orders entries written within the same millisecond.
        seq = time.time_ns()
        result = self.es.index(
            index=self.index,
            op_type="create",
            document={
                "seq": seq,
                "time": entry.time.isoformat(),
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "before": _wrap(entry.before),
                "after": _wrap(entry.after),
            },
            refresh=self.store.refresh,
        )
        entry.id = result["_id"]
        return entry

    def list(
        self, *, target: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        filters = [{"term": {k: v}} for k, v in (("target", target), ("actor", actor)) if v]
        found = self.es.search(
            index=self.index,
            size=limit,
            sort=[{"seq": "desc"}],
            query={"bool": {"filter": filters}},
        )["hits"]["hits"]
        return [
            AuditEntry(
                actor=h["_source"]["actor"],
                action=h["_source"]["action"],
                target=h["_source"]["target"],
                time=datetime.fromisoformat(h["_source"]["time"]).astimezone(self.store.tz),
                before=h["_source"]["before"]["value"],
                after=h["_source"]["after"]["value"],
                id=h["_id"],
            )
            for h in found
        ]


def _wrap(value: Any) -> dict[str, Any]:
    # Object fields must hold objects; before/after may be any JSON value.
    return {"value": value}


def _doc(item: Item) -> dict[str, Any]:
    if item.first_seen.tzinfo is None or (item.publish_time and item.publish_time.tzinfo is None):
        raise QueryError(f"item {item.url}: times need a time zone", "publish_time")
    return {
        "url": item.url,
        "title": item.title,
        "body": item.body,
        "source_id": item.source_id,
        "author": item.author,
        "site_source": item.site_source,
        "publish_time": item.publish_time.isoformat() if item.publish_time else None,
        "first_seen": item.first_seen.isoformat(),
        "tags": item.tags,
        "rules": item.rules,
        "hits": item.hits,
        "event_id": item.event_id,
    }


def _sort(query: ItemQuery, node: Node | None) -> list[Any]:
    order = "desc" if query.descending else "asc"
    if query.sort == "relevance" and node is not None:
        return [{"_score": order}, {"first_seen": "desc"}]
    field = "first_seen" if query.sort == "relevance" else query.sort
    return [{field: {"order": order, "missing": "_last"}}, {"first_seen": "desc"}]


def _check_word(text: str) -> None:
    if not any(ch.isalnum() for ch in text):
        raise QueryError(f"{text!r} has no letters or digits to search for", "q")


def _phrase(text: str, fields: tuple[str, ...]) -> dict[str, Any]:
    _check_word(text)
    if len(fields) == 1:
        return {"match_phrase": {fields[0]: {"query": text}}}
    return {"multi_match": {"query": text, "type": "phrase", "fields": list(fields)}}


def _interval_side(node: Node) -> dict[str, Any]:
    if isinstance(node, Or):
        return {"any_of": {"intervals": [_interval_side(c) for c in node.children]}}
    assert isinstance(node, Word)
    _check_word(node.text)
    return {"match": {"query": node.text, "ordered": True, "max_gaps": 0}}


def to_dsl(node: Node, fields: tuple[str, ...] = TEXT_FIELDS) -> dict[str, Any]:
    """Compile an expression into query DSL, as data: user words are only ever values."""
    if isinstance(node, Word):
        return _phrase(node.text, fields)
    if isinstance(node, Scoped):
        return to_dsl(node.child, (node.field,))
    if isinstance(node, Or):
        return {
            "bool": {
                "should": [to_dsl(c, fields) for c in node.children],
                "minimum_should_match": 1,
            }
        }
    if isinstance(node, And):
        positive, negative = split_negatives(node.children)
        return {
            "bool": {
                "must": [to_dsl(c, fields) for c in positive],
                "must_not": [to_dsl(c, fields) for c in negative],
            }
        }
    if isinstance(node, Near):
        if node.unit != "char":
            raise QueryError("NEAR/S and NEAR/P work in rules, not in search", "q")
        rule = {
            "all_of": {
                "intervals": [_interval_side(node.left), _interval_side(node.right)],
                "max_gaps": node.distance,
                "ordered": False,
            }
        }
        per_field = [{"intervals": {f: rule}} for f in fields]
        if len(per_field) == 1:
            return per_field[0]
        return {"bool": {"should": per_field, "minimum_should_match": 1}}
    if isinstance(node, GroupRef):
        raise QueryError(f"unknown group @{node.name}", "q")
    assert isinstance(node, Not)
    raise QueryError("NOT needs words beside it", "q")
